"""``--auth-choice lmstudio``: LM Studio onboarding, non-interactive and interactive
(lmstudio.md §7; openclaw-observed.md §3), over ``setup.py`` (discovery, checks, writing).

A chosen model that is installed but not loaded is loaded at its configured context (with the
spinner) before anything is written, the same way in both modes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from openclaw.errors import OpenClawError, UsageError
from openclaw.providers.lmstudio.urls import DEFAULT_INFERENCE_BASE
from openclaw.providers.onboarding import OnboardOutcome, OnboardRequest

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.providers.lmstudio.setup import SetupDiscovery, SetupOutcome, SetupPlan

URL_CREDENTIALS = "Put the LM Studio API key in --lmstudio-api-key or LM_API_TOKEN, not in the URL."


def _run(fn: Any) -> Any:
    import anyio

    return anyio.run(fn)


def url_problem(value: str | None) -> str | None:
    """The base-URL check of the setup prompt (§2.3), plus: no user:password@ part, which
    would be saved in openclaw.json and printed in every message about the server."""
    from openclaw.providers.lmstudio.urls import make_fetchable, validate_setup_url

    problem = validate_setup_url(value)
    if problem is None and "@" in urlsplit(make_fetchable((value or "").strip())).netloc:
        return URL_CREDENTIALS
    return problem


def _load() -> LoadedConfig:
    from openclaw.config.loader import load_config

    return load_config()


def _existing_provider(cfg: LoadedConfig) -> dict[str, Any]:
    return dict(cfg.provider("lmstudio") or {})


def onboard(req: OnboardRequest) -> OnboardOutcome:
    if req.context is not None and req.context <= 0:
        raise UsageError("--context must be a positive number of tokens.")
    outcome = _interactive(req) if req.interactive else _non_interactive(req)
    return _outcome(outcome)


def _outcome(outcome: SetupOutcome) -> OnboardOutcome:
    lines = [
        f"Default LM Studio model: {outcome.default_ref.split('/', 1)[1]}",
        f"Workspace OK: {outcome.workspace}",
        f"Sessions OK: {outcome.sessions}",
        f"Updated config: {outcome.config_path}",
    ]
    if outcome.backup_path:
        lines.append(f"  Backup: {outcome.backup_path}")
    return OnboardOutcome(
        provider_id="lmstudio",
        default_ref=outcome.default_ref,
        config_path=outcome.config_path,
        backup_path=outcome.backup_path,
        workspace=outcome.workspace,
        sessions=outcome.sessions,
        auth=outcome.auth,
        lines=lines,
    )


# ---- loading an installed model ---------------------------------------------------------------


def load_if_unloaded(
    plan: SetupPlan, found: SetupDiscovery, headers: Mapping[str, str] | None
) -> None:
    """Load the chosen model when it is installed but not loaded, at its configured context
    (spinner on a terminal, one line otherwise); the row then budgets the loaded context."""
    import sys

    from openclaw.providers.lmstudio import preload
    from openclaw.providers.progress import tty_load_spinner

    if plan.model_id in found.loaded_ids:
        return
    row = next(r for r in plan.models if r["id"] == plan.model_id)
    context = row.get("contextTokens")
    if not sys.stderr.isatty():
        click.echo(f"Loading {plan.model_id} in LM Studio ({context} context tokens)…", err=True)
    key = plan.key.key if plan.key is not None else None
    call = functools.partial(
        preload.prepare_model,
        found.base_url,
        plan.model_id,
        api_key=None if plan.header_only else key,
        headers=headers,
        requested_context=context,
    )
    with tty_load_spinner():
        result = _run(call)
    if result.context:
        row["contextTokens"] = result.context
        row["maxTokens"] = min(row.get("maxTokens", result.context), result.context)


def _configured_context(cfg: LoadedConfig, found: SetupDiscovery, req: OnboardRequest) -> None:
    """--context, else what the config already says for each model, applied to the rows."""
    from openclaw.config.settings import ModelSettings
    from openclaw.providers.lmstudio import models as wire
    from openclaw.providers.lmstudio import setup

    if req.context is not None:
        setup.apply_context_length(found.models, found.entries, req.context)
        return
    existing = _existing_provider(cfg)
    authored = {r.get("id"): r for r in existing.get("models") or [] if isinstance(r, dict)}
    for row in found.models:
        if row["id"] in found.loaded_ids or row["id"] not in authored:
            continue
        context = wire.configured_context(ModelSettings.read(authored[row["id"]], existing))
        if context:
            setup.apply_context_length([row], found.entries, context)


# ---- non-interactive --------------------------------------------------------------------------


def _non_interactive(req: OnboardRequest) -> SetupOutcome:
    from openclaw.providers.lmstudio import discovery, setup
    from openclaw.providers.lmstudio.urls import inference_base

    base_flag = req.base_url
    if base_flag is not None and base_flag.strip():
        problem = url_problem(base_flag)
        if problem is not None:
            raise UsageError(
                f"--custom-base-url: {problem}",
                hint=f"For example --custom-base-url {DEFAULT_INFERENCE_BASE}",
            )
    cfg = _load()
    existing = _existing_provider(cfg)
    base = inference_base((base_flag or "").strip())
    key = setup.resolve_setup_key(req.api_key, cfg)
    headers = discovery.provider_headers(existing.get("headers"), cfg.env)
    header_auth = discovery.has_authorization(headers)
    header_only = header_auth and (key is None or key.source != "flag")
    discovery_key = None if header_only else (key.key if key else setup.LOCAL_MARKER)
    requested = (req.model_id or "").strip() or None
    call = functools.partial(
        setup.setup_discovery, base, api_key=discovery_key, headers=headers, requested=requested
    )
    found = _run(call)
    chosen = setup.select_model(found, requested)
    _configured_context(cfg, found, req)
    plan = setup.SetupPlan(
        base_url=found.base_url,
        model_id=chosen,
        models=found.models,
        key=None if header_only else key,
        header_only=header_only,
        allow_list=False,
    )
    load_if_unloaded(plan, found, headers)
    return setup.write_setup(plan, cfg.paths, remove_profiles=header_only)


# ---- interactive ------------------------------------------------------------------------------


def _ask(question: Any) -> Any:
    return question.unsafe_ask()


def _ask_key() -> str:
    import questionary

    from openclaw.providers.lmstudio import setup

    prompt = questionary.password(
        "LM Studio API key (leave blank if auth is disabled)",
        validate=lambda v: setup.key_problem(v.strip()) or True,
    )
    return str(_ask(prompt) or "").strip()


def _discover_with_retry(
    base: str, entered: str, key_from_flag: bool, headers: Mapping[str, str] | None
) -> tuple[SetupDiscovery, str]:
    import questionary

    from openclaw.providers.lmstudio import discovery, setup

    header_auth = discovery.has_authorization(headers)
    while True:
        discovery_key = entered or (None if header_auth else setup.LOCAL_MARKER)
        try:
            call = functools.partial(
                setup.setup_discovery,
                base,
                api_key=discovery_key,
                headers=headers,
                allow_unloaded=True,
            )
            return _run(call), entered
        except setup.SetupError as exc:
            if exc.kind == "auth" and not key_from_flag:
                # A mistyped token is the common case: ask again instead of ending setup.
                click.echo(exc.lines[0], err=True)
                click.echo("Enter the API token configured in LM Studio (blank: none).", err=True)
                entered = _ask_key()
                continue
            if exc.retry_line is None:
                raise
            click.echo(f"{exc.lines[0]}\n{exc.retry_line}", err=True)
            if not _ask(questionary.confirm("Retry this LM Studio connection now?", default=True)):
                raise OpenClawError("LM Studio setup cancelled", hint=exc.hint) from None


def _ask_context(found: SetupDiscovery, req: OnboardRequest) -> int | None:
    import questionary

    from openclaw.providers.lmstudio import setup

    if req.context is not None:
        value: int | None = req.context
    else:
        text = _ask(
            questionary.text(
                "Preferred context length to load LM Studio models with (optional)",
                instruction="e.g. 32768 (leave blank to skip)",
                validate=lambda v: (
                    True
                    if not v.strip() or (v.strip().isdigit() and int(v.strip()) > 0)
                    else "Enter a positive integer token count"
                ),
            )
        ).strip()
        value = int(text) if text else None
    if value is not None:
        setup.apply_context_length(found.models, found.entries, value)
    return value


def _interactive(req: OnboardRequest) -> SetupOutcome:
    import questionary

    from openclaw.providers.lmstudio import discovery, setup
    from openclaw.providers.lmstudio.urls import default_server_base, inference_base

    cfg = _load()
    existing = _existing_provider(cfg)
    initial = req.base_url or existing.get("baseUrl") or default_server_base()
    url = _ask(
        questionary.text(
            "LM Studio base URL", default=str(initial), validate=lambda v: url_problem(v) or True
        )
    )
    base = inference_base(url.strip())
    flag_value = (req.api_key or "").strip()
    if flag_value and setup.key_problem(flag_value):
        raise UsageError(
            f"{setup.KEY_UNSENDABLE} (from --lmstudio-api-key)", hint=setup.KEY_UNSENDABLE_HINT
        )
    entered = flag_value or _ask_key()
    headers = discovery.provider_headers(existing.get("headers"), cfg.env)
    found, entered = _discover_with_retry(base, entered, bool(flag_value), headers)
    configured = _ask_context(found, req)
    loaded_first = [m for m in found.models if m["id"] in found.loaded_ids] + [
        m for m in found.models if m["id"] not in found.loaded_ids
    ]
    choices = [questionary.Choice(model_label(m, found, configured), m["id"]) for m in loaded_first]
    default_id = found.default_id or loaded_first[0]["id"]
    chosen = _ask(
        questionary.select(
            "Default model",
            choices=choices,
            default=next(c for c in choices if c.value == default_id),
        )
    )
    plan = setup.SetupPlan(
        base_url=found.base_url,
        model_id=chosen,
        models=found.models,
        key=setup.ResolvedKey(entered, "flag") if entered else None,
        header_only=bool(not entered and discovery.has_authorization(headers)),
        allow_list=True,
    )
    load_if_unloaded(plan, found, headers)
    return setup.write_setup(plan, cfg.paths, remove_profiles=not entered)


def model_label(row: dict[str, Any], found: SetupDiscovery, configured: int | None) -> str:
    """``id (GGUF, tool-use, loaded 32768 ctx, configured 4096)``: a loaded instance's real
    context, and the context the user configured, each named for what it is."""
    from openclaw.providers.lmstudio import models as wire

    flags = found.flags.get(row["id"], {})
    tags = []
    if flags.get("format"):
        tags.append(str(flags["format"]).upper())
    if flags.get("vision"):
        tags.append("vision")
    if flags.get("trainedForToolUse"):
        tags.append("tool-use")
    entry = wire.find_entry(row["id"], found.entries) or {}
    loaded = wire.loaded_context(entry) if row["id"] in found.loaded_ids else None
    if loaded is not None:
        tags.append(f"loaded {loaded} ctx")
    else:
        tags.append(f"not loaded: loads with {row['contextTokens']} ctx when chosen")
    if configured is not None:
        tags.append(f"configured {row['contextTokens']}")
    return f"{row['id']} ({', '.join(tags)})"
