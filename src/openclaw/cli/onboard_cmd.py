"""``openclaw onboard``: set up LM Studio (interactive, or scripted with --non-interactive)."""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from openclaw.cli.common import echo_json, run_async
from openclaw.errors import OpenClawError, UsageError

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.providers.lmstudio.setup import SetupDiscovery, SetupOutcome

AUTH_CHOICES = ("lmstudio", "skip")

RISK_TEXT = (
    "Non-interactive setup needs an explicit risk acknowledgement: openclaw lets a model "
    "read files in your workspace and fetch web pages on your behalf."
)
RISK_HINT = (
    "Re-run with --accept-risk added (openclaw onboard --non-interactive --accept-risk ...)."
)

SECURITY_NOTICE = (
    "Security notice: the assistant can read files in your workspace and fetch web pages "
    "on your behalf. Only connect models and tools you trust."
)


@click.command("onboard")
@click.option("--non-interactive", is_flag=True, help="No prompts; everything from flags/env.")
@click.option("--accept-risk", is_flag=True, help="Acknowledge the security notice.")
@click.option(
    "--auth-choice",
    type=click.Choice(AUTH_CHOICES, case_sensitive=False),
    help="Provider to set up (lmstudio).",
)
@click.option(
    "--custom-base-url", metavar="URL", help="LM Studio URL (default http://localhost:1234)."
)
@click.option(
    "--lmstudio-api-key", metavar="KEY", help="LM Studio API key (else env LM_API_TOKEN)."
)
@click.option("--custom-api-key", metavar="KEY", help="Same as --lmstudio-api-key (older flag).")
@click.option(
    "--custom-model-id", metavar="KEY", help="Model key from /api/v1/models, without lmstudio/."
)
@click.option(
    "--skip-health", is_flag=True, help="Accepted for compatibility (there is no gateway)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result on stdout.")
def onboard(
    non_interactive: bool,
    accept_risk: bool,
    auth_choice: str | None,
    custom_base_url: str | None,
    lmstudio_api_key: str | None,
    custom_api_key: str | None,
    custom_model_id: str | None,
    skip_health: bool,
    as_json: bool,
) -> None:
    """Set up a model provider (LM Studio) and make one of its models the default."""
    flag_key = lmstudio_api_key if lmstudio_api_key is not None else custom_api_key
    try:
        if non_interactive:
            if not accept_risk:
                raise UsageError(RISK_TEXT, hint=RISK_HINT)
            choice = (auth_choice or "lmstudio").lower()
            if choice == "skip":
                _emit_skip(as_json)
                return
            outcome = _non_interactive(custom_base_url, flag_key, custom_model_id)
        else:
            maybe = _interactive(auth_choice, custom_base_url, flag_key, accept_risk)
            if maybe is None:
                return
            outcome = maybe
    except OpenClawError as exc:
        if as_json:
            payload: dict[str, Any] = {"ok": False, "error": exc.message}
            if exc.hint:
                payload["hint"] = exc.hint
            echo_json(payload)
        raise
    _print_outcome(outcome, as_json, skip_health)


def _emit_skip(as_json: bool) -> None:
    if as_json:
        echo_json({"ok": True, "authChoice": "skip"})
    else:
        click.echo("Skipped model setup.")


def _load() -> LoadedConfig:
    """The config as it is now (read once per run; the writer re-reads it under its lock)."""
    from openclaw.config.loader import load_config

    return load_config()


def _existing_provider(cfg: LoadedConfig) -> dict[str, Any]:
    return dict(cfg.provider("lmstudio") or {})


URL_CREDENTIALS = "Put the LM Studio API key in --lmstudio-api-key or LM_API_TOKEN, not in the URL."


def url_problem(value: str | None) -> str | None:
    """The base-URL check of the setup prompt (§2.3), plus: no user:password@ part, which
    would be saved in openclaw.json and printed in every message about the server."""
    from openclaw.providers.lmstudio.urls import make_fetchable, validate_setup_url

    problem = validate_setup_url(value)
    if problem is None and "@" in urlsplit(make_fetchable((value or "").strip())).netloc:
        return URL_CREDENTIALS
    return problem


def _non_interactive(
    base_flag: str | None, flag_key: str | None, model_id: str | None
) -> SetupOutcome:
    from openclaw.providers.lmstudio import discovery, setup
    from openclaw.providers.lmstudio.urls import inference_base

    if base_flag is not None and base_flag.strip():
        problem = url_problem(base_flag)
        if problem is not None:
            raise UsageError(
                f"--custom-base-url: {problem}",
                hint="For example --custom-base-url http://localhost:1234/v1",
            )
    cfg = _load()
    existing = _existing_provider(cfg)
    base = inference_base((base_flag or "").strip())
    key = setup.resolve_setup_key(flag_key, cfg)
    headers = discovery.provider_headers(existing.get("headers"), cfg.env)
    header_auth = discovery.has_authorization(headers)
    header_only = header_auth and (key is None or key.source != "flag")
    discovery_key = None if header_only else (key.key if key else setup.LOCAL_MARKER)
    found = run_async(lambda: setup.setup_discovery(base, api_key=discovery_key, headers=headers))
    chosen = setup.select_model(found, (model_id or "").strip() or None)
    plan = setup.SetupPlan(
        base_url=found.base_url,
        model_id=chosen,
        models=found.models,
        key=None if header_only else key,
        header_only=header_only,
        allow_list=False,
    )
    return setup.write_setup(plan, cfg.paths, remove_profiles=header_only)


def _print_outcome(outcome: SetupOutcome, as_json: bool, skip_health: bool) -> None:
    lines = [
        f"Default LM Studio model: {outcome.default_ref.split('/', 1)[1]}",
        f"Workspace OK: {outcome.workspace}",
        f"Sessions OK: {outcome.sessions}",
        f"Updated config: {outcome.config_path}",
    ]
    if outcome.backup_path:
        lines.append(f"  Backup: {outcome.backup_path}")
    if as_json:
        for line in lines:
            click.echo(line, err=True)
        echo_json(
            {
                "ok": True,
                "mode": "local",
                "workspace": outcome.workspace,
                "authChoice": "lmstudio",
                "provider": "lmstudio",
                "defaultModel": outcome.default_ref,
                "auth": outcome.auth,
                "config": outcome.config_path,
                "skipHealth": skip_health,
            }
        )
        return
    for line in lines:
        click.echo(line)


# ---- interactive ---------------------------------------------------------------------------------


def _interactive(
    auth_choice: str | None, base_flag: str | None, flag_key: str | None, accept_risk: bool
) -> SetupOutcome | None:
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise UsageError(
            "Interactive onboarding needs a terminal (stdin or stdout is not a TTY).",
            hint="Use `openclaw onboard --non-interactive --accept-risk --auth-choice lmstudio` "
            "with --custom-base-url / --lmstudio-api-key / --custom-model-id.",
        )
    import questionary

    from openclaw.providers.lmstudio import discovery, setup
    from openclaw.providers.lmstudio.urls import default_server_base, inference_base

    def ask(question: Any) -> Any:
        return question.unsafe_ask()

    click.echo(SECURITY_NOTICE)
    if not accept_risk and not ask(questionary.confirm("I understand. Continue?", default=True)):
        raise click.exceptions.Exit(1)
    choice = (auth_choice or "").lower()
    if not choice:
        choice = ask(
            questionary.select(
                "Model provider",
                choices=[
                    questionary.Choice(
                        "LM Studio (local/self-hosted LM Studio server)", "lmstudio"
                    ),
                    questionary.Choice("Skip for now", "skip"),
                ],
            )
        )
    if choice == "skip":
        _emit_skip(False)
        return None

    cfg = _load()
    existing = _existing_provider(cfg)
    initial = base_flag or existing.get("baseUrl") or default_server_base()
    url = ask(
        questionary.text(
            "LM Studio base URL",
            default=str(initial),
            validate=lambda v: url_problem(v) or True,
        )
    )
    base = inference_base(url.strip())

    def ask_key() -> str:
        prompt = questionary.password(
            "LM Studio API key (leave blank if auth is disabled)",
            validate=lambda v: setup.key_problem(v.strip()) or True,
        )
        return str(ask(prompt) or "").strip()

    flag_value = (flag_key or "").strip()
    if flag_value and setup.key_problem(flag_value):
        raise UsageError(
            f"{setup.KEY_UNSENDABLE} (from --lmstudio-api-key)", hint=setup.KEY_UNSENDABLE_HINT
        )
    key_from_flag = bool(flag_value)
    entered = flag_value or ask_key()
    headers = discovery.provider_headers(existing.get("headers"), cfg.env)
    header_auth = discovery.has_authorization(headers)

    found: SetupDiscovery
    while True:
        discovery_key = entered or (None if header_auth else setup.LOCAL_MARKER)
        try:
            found = run_async(
                functools.partial(
                    setup.setup_discovery, base, api_key=discovery_key, headers=headers
                )
            )
            break
        except setup.SetupError as exc:
            if exc.kind == "auth" and not key_from_flag:
                # A mistyped token is the common case: ask again instead of ending setup.
                click.echo(exc.lines[0], err=True)
                click.echo("Enter the API token configured in LM Studio (blank: none).", err=True)
                entered = ask_key()
                continue
            if exc.retry_line is None:
                raise
            click.echo(f"{exc.lines[0]}\n{exc.retry_line}", err=True)
            if not ask(questionary.confirm("Retry this LM Studio connection now?", default=True)):
                raise OpenClawError("LM Studio setup cancelled", hint=exc.hint) from None

    ctx_text = ask(
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
    if ctx_text:
        setup.apply_context_length(found.models, found.entries, int(ctx_text))

    loaded_first = [m for m in found.models if m["id"] in found.loaded_ids] + [
        m for m in found.models if m["id"] not in found.loaded_ids
    ]
    choices = [questionary.Choice(_model_label(m, found), m["id"]) for m in loaded_first]
    default_id = found.default_id or loaded_first[0]["id"]
    chosen = ask(
        questionary.select(
            "Default model",
            choices=choices,
            default=next(c for c in choices if c.value == default_id),
        )
    )
    from openclaw.providers.lmstudio.setup import ResolvedKey

    plan = setup.SetupPlan(
        base_url=found.base_url,
        model_id=chosen,
        models=found.models,
        key=ResolvedKey(entered, "flag") if entered else None,
        header_only=bool(not entered and header_auth),
        allow_list=True,
    )
    return setup.write_setup(plan, cfg.paths, remove_profiles=not entered)


def _model_label(row: dict[str, Any], found: SetupDiscovery) -> str:
    flags = found.flags.get(row["id"], {})
    tags = []
    if flags.get("format"):
        tags.append(str(flags["format"]).upper())
    if flags.get("vision"):
        tags.append("vision")
    if flags.get("trainedForToolUse"):
        tags.append("tool-use")
    if row["id"] in found.loaded_ids:
        tags.append(f"loaded {row['contextTokens']} ctx")
    else:
        tags.append("not loaded: loads on first use")
    return f"{row['id']} ({', '.join(tags)})"
