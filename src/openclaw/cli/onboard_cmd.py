"""``openclaw onboard``: set up a model provider through the kind that owns the chosen
``--auth-choice`` (``config.kinds``), and make one of its models the default.

The command only parses flags, asks which provider (interactive, after a scan of the usual
local ports), builds an ``OnboardRequest`` and renders the ``OnboardOutcome``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from openclaw.cli.common import echo_json, run_async
from openclaw.config.kinds import onboard_choices
from openclaw.errors import OpenClawError, UsageError

if TYPE_CHECKING:
    from openclaw.providers.onboarding import OnboardOutcome, OnboardRequest
    from openclaw.providers.scan import Finding

AUTO = "auto"
SKIP = "skip"
DEFAULT_CHOICE = "lmstudio"

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
    type=click.Choice([*onboard_choices(), AUTO, SKIP], case_sensitive=False),
    help="Provider to set up (auto: the first local server found).",
)
@click.option("--custom-base-url", metavar="URL", help="The server's base URL.")
@click.option("--custom-api-key", metavar="KEY", help="The server's API key.")
@click.option(
    "--lmstudio-api-key", metavar="KEY", help="LM Studio API key (else env LM_API_TOKEN)."
)
@click.option("--custom-model-id", metavar="ID", help="Model id as the server knows it.")
@click.option("--custom-provider-id", metavar="ID", help="Provider id of a custom endpoint.")
@click.option("--model", "model_spec", metavar="ORG/REPO[:QUANT]", help="Built-in engine model.")
@click.option("--model-path", metavar="FILE", help="Built-in engine: a local .gguf file.")
@click.option("--context", type=int, metavar="N", help="Context length (tokens).")
@click.option(
    "--skip-health", is_flag=True, help="Accepted for compatibility (there is no gateway)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result on stdout.")
def onboard(
    non_interactive: bool,
    accept_risk: bool,
    auth_choice: str | None,
    custom_base_url: str | None,
    custom_api_key: str | None,
    lmstudio_api_key: str | None,
    custom_model_id: str | None,
    custom_provider_id: str | None,
    model_spec: str | None,
    model_path: str | None,
    context: int | None,
    skip_health: bool,
    as_json: bool,
) -> None:
    """Set up a model provider and make one of its models the default."""
    flags = {
        "base_url": custom_base_url,
        "model_id": custom_model_id,
        "provider_id": custom_provider_id,
        "model": model_spec,
        "model_path": model_path,
        "context": context,
    }
    keys = (lmstudio_api_key, custom_api_key)
    choice = (auth_choice or "").lower() or None
    try:
        if non_interactive:
            if not accept_risk:
                raise UsageError(RISK_TEXT, hint=RISK_HINT)
            request = _non_interactive_request(choice or DEFAULT_CHOICE, flags, keys)
        else:
            request = _interactive_request(choice, flags, keys, accept_risk)
        if request is None:
            _emit_skip(as_json)
            return
        outcome = _setup_function(request.choice)(request)
    except OpenClawError as exc:
        if as_json:
            payload: dict[str, Any] = {"ok": False, "error": exc.message}
            if exc.hint:
                payload["hint"] = exc.hint
            echo_json(payload)
        raise
    _print_outcome(outcome, request.choice, as_json, skip_health)


def _setup_function(choice: str) -> Any:
    from openclaw.providers.onboarding import onboard_function

    try:
        return onboard_function(choice)
    except ModuleNotFoundError as exc:
        raise OpenClawError(
            f"--auth-choice {choice} is not available in this installation "
            f"(module {exc.name} is missing).",
            hint="See `openclaw onboard --help` for the choices, or update openclaw.",
        ) from None


def _request(
    choice: str, flags: dict[str, Any], keys: tuple[str | None, str | None], interactive: bool
) -> OnboardRequest:
    from openclaw.providers.onboarding import OnboardRequest

    lmstudio_key, custom_key = keys
    api_key: str | None = lmstudio_key
    flag: str | None = "--lmstudio-api-key" if lmstudio_key is not None else None
    if custom_key is not None and not (choice == "lmstudio" and lmstudio_key is not None):
        api_key, flag = custom_key, "--custom-api-key"
    return OnboardRequest(choice=choice, interactive=interactive, api_key=api_key,
                          api_key_flag=flag, **flags)  # fmt: skip


def _non_interactive_request(
    choice: str, flags: dict[str, Any], keys: tuple[str | None, str | None]
) -> OnboardRequest | None:
    if choice == SKIP:
        return None
    if choice == AUTO:
        found = _auto_pick()
        flags = {
            **flags,
            "base_url": found.origin,
            "model_id": flags["model_id"] or _auto_model(found),
        }
        from openclaw.providers.scan import kind_of

        server_choice = kind_of(found).server_choice
        assert server_choice is not None  # every scanned kind declares one
        click.echo(f"Found {found.label} at {found.origin}.", err=True)
        return _request(server_choice, flags, keys, interactive=False)
    return _request(choice, flags, keys, interactive=False)


def _auto_model(found: Finding) -> str | None:
    # LM Studio picks its own default among loaded models (a loaded one is preferred).
    if found.kind == "lmstudio" and found.loaded:
        return None
    return found.default_model


def _scan() -> list[Finding]:
    from openclaw.providers.scan import scan

    return list(run_async(scan))


def _auto_pick() -> Finding:
    from openclaw.providers.scan import nothing_found_message, usable

    findings = _scan()
    servers = usable(findings)
    if not servers:
        line, hints = nothing_found_message(findings)
        raise OpenClawError(line, hint=hints)
    return servers[0]


def _emit_skip(as_json: bool) -> None:
    if as_json:
        echo_json({"ok": True, "authChoice": SKIP})
    else:
        click.echo("Skipped model setup.")


def _print_outcome(outcome: OnboardOutcome, choice: str, as_json: bool, skip_health: bool) -> None:
    for line in outcome.lines:
        click.echo(line, err=as_json)
    if not as_json:
        return
    echo_json(
        {
            "ok": True,
            "mode": "local",
            "workspace": outcome.workspace,
            "authChoice": choice,
            "provider": outcome.provider_id,
            "defaultModel": outcome.default_ref,
            "auth": outcome.auth,
            "config": outcome.config_path,
            "skipHealth": skip_health,
            **outcome.details,
        }
    )


# ---- interactive ---------------------------------------------------------------------------------


def _interactive_request(
    choice: str | None,
    flags: dict[str, Any],
    keys: tuple[str | None, str | None],
    accept_risk: bool,
) -> OnboardRequest | None:
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise UsageError(
            "Interactive onboarding needs a terminal (stdin or stdout is not a TTY).",
            hint="Use `openclaw onboard --non-interactive --accept-risk --auth-choice lmstudio` "
            "with --custom-base-url / --lmstudio-api-key / --custom-model-id "
            "(or --auth-choice auto to set up the first local server found).",
        )
    import questionary

    click.echo(SECURITY_NOTICE)
    if (
        not accept_risk
        and not questionary.confirm("I understand. Continue?", default=True).unsafe_ask()
    ):
        raise click.exceptions.Exit(1)
    if choice == AUTO:
        choice = None
    if choice is None:
        picked, base_url = _ask_provider()
        if base_url and not flags["base_url"]:
            flags = {**flags, "base_url": base_url}
        choice = picked
    if choice is None or choice == SKIP:
        return None
    return _request(choice, flags, keys, interactive=True)


def _ask_provider() -> tuple[str | None, str | None]:
    """The servers that answer (with their models) first, then every choice of the registry."""
    import questionary

    from openclaw.config.kinds import kind_for_choice
    from openclaw.providers.scan import kind_of, usable

    options: list[Any] = []
    for found in usable(_scan()):
        models = ", ".join(found.models[:4]) + (" …" if len(found.models) > 4 else "")
        title = f"{found.label} at {found.origin}: {models}"
        options.append(questionary.Choice(title, (kind_of(found).server_choice, found.origin)))
    for value in onboard_choices():
        kind = kind_for_choice(value)
        label = kind.label if kind is not None else value
        options.append(questionary.Choice(f"{label} (--auth-choice {value})", (value, None)))
    options.append(questionary.Choice("Skip for now", (SKIP, None)))
    picked = questionary.select("Model provider", choices=options).unsafe_ask()
    return picked[0], picked[1]
