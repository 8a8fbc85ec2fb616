"""The questions of interactive onboarding for a running server (vLLM, SGLang, llama-server,
custom): URL, key, then a pick from what the server lists. Nothing is written here."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import click

from openclaw.errors import OpenClawError, ProviderAuthError
from openclaw.providers import server_plan as so

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.providers.onboarding import OnboardRequest
    from openclaw.providers.served import ServedModel


def _ask(question: Any) -> Any:
    return question.unsafe_ask()


def model_label(model: ServedModel) -> str:
    if model.context is None:
        return f"{model.id} (context unknown)"
    return f"{model.id} ({model.context_source} {model.context} ctx)"


def _ask_target(req: OnboardRequest, cfg: LoadedConfig) -> so.ServerTarget:
    import questionary

    kind = so._kind(req.choice)
    existing = cfg.provider(kind.id) or {}
    initial = req.base_url or existing.get("baseUrl") or kind.default_base_url or ""
    url = _ask(
        questionary.text(
            f"{kind.label} base URL",
            default=str(initial),
            validate=lambda v: so.url_problem(v) or True,
        )
    )
    key = req.api_key
    if not (key or "").strip():
        key = _ask(
            questionary.password(
                f"{kind.label} API key (leave blank if the server needs none)",
                validate=lambda v: so.key_problem(v.strip()) or True,
            )
        )
    asked = dataclasses.replace(req, api_key=key, api_key_flag=req.api_key_flag or "prompt")
    return so.build_target(asked, cfg, url)


def _verify(target: so.ServerTarget) -> list[ServedModel]:
    import anyio
    import questionary

    while True:
        try:
            return anyio.run(so.fetch_models, target)
        except ProviderAuthError as exc:
            click.echo(exc.message, err=True)
            key = _ask(questionary.password(f"{target.label} API key (blank: none)"))
            target.key = key.strip() or None
        except OpenClawError as exc:
            click.echo(exc.message, err=True)
            if exc.hint:
                click.echo(exc.hint, err=True)
            if not _ask(questionary.confirm("Retry the connection now?", default=True)):
                raise OpenClawError(f"{target.label} setup cancelled", hint=exc.hint) from None


def ask_and_verify(
    req: OnboardRequest, cfg: LoadedConfig
) -> tuple[so.ServerTarget, list[ServedModel], str]:
    import questionary

    target = _ask_target(req, cfg)
    served = _verify(target)
    if not served:
        so.pick_model(target, served, None)  # raises: nothing to choose from
    choices = [questionary.Choice(model_label(m), m.id) for m in served[: so.MAX_ROWS]]
    default = req.model_id if req.model_id in {m.id for m in served} else served[0].id
    chosen = _ask(
        questionary.select(
            "Default model", choices=choices, default=next(c for c in choices if c.value == default)
        )
    )
    if target.custom:
        wanted = _ask(questionary.text("Endpoint id", default=target.provider_id))
        pid, note = so.free_custom_id(
            so.check_provider_id(wanted), target.base_url, cfg.providers()
        )
        target.provider_id = pid
        target.notes = [note] if note else []
    return target, served, str(chosen)
