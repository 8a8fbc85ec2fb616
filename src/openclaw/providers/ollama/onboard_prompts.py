"""The questions of interactive Ollama onboarding: the server URL, then a model from
``/api/tags`` (with sizes and capabilities), offering ``ollama pull`` for a missing one."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from openclaw.errors import UsageError
from openclaw.providers.ollama import discovery
from openclaw.providers.ollama.onboard_plan import (
    PROVIDER_ID,
    Plan,
    base_url_for,
    context_of,
    find_installed,
    installed_models,
    key_choice,
    prime_cache,
)

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.providers.ollama.server import Server
    from openclaw.providers.onboarding import OnboardRequest


def _gb(size: int | None) -> str:
    return f"{size / 1e9:.1f} GB" if size else "?"


async def describe(server: Server, tags: list[discovery.TagEntry]) -> list[str]:
    """One line per installed model: name, size, parameters, capabilities, maximum context."""
    from openclaw.errors import OpenClawError

    lines = []
    for n, tag in enumerate(tags, start=1):
        try:
            info = await discovery.show(server, tag.name, tag.digest)
            caps = ", ".join(c for c in info.capabilities if c != "completion") or "text"
            ctx = f", max context {info.context_length}" if info.context_length else ""
        except OpenClawError:
            caps, ctx = "?", ""
        params = f" {tag.parameter_size}" if tag.parameter_size else ""
        lines.append(f"  {n}. {tag.name} ({_gb(tag.size)}{params}; {caps}{ctx})")
    return lines


async def _choose(server: Server, tags: list[discovery.TagEntry]) -> str:
    import click

    from openclaw.providers.ollama.pull import progress_printer, pull_model

    if tags:
        click.echo("Installed models:")
        for line in await describe(server, tags):
            click.echo(line)
    answer = click.prompt("Model (number or name, e.g. qwen3:8b)", default="1" if tags else None)
    answer = str(answer).strip()
    if answer.isdigit() and 1 <= int(answer) <= len(tags):
        return tags[int(answer) - 1].name
    found = find_installed(tags, answer)
    if found is not None:
        return found
    if not click.confirm(f"{answer} is not installed. Pull it now (ollama pull)?", default=True):
        raise UsageError(f"Model {answer!r} is not installed: run `ollama pull {answer}`")
    await pull_model(server, answer, progress_printer())
    click.echo("")
    return answer


async def plan_interactive(req: OnboardRequest, cfg: LoadedConfig) -> Plan:
    import click

    from openclaw.providers.ollama.server import default_base_url, server_for_url

    url = req.base_url or click.prompt("Ollama URL", default=default_base_url(cfg.env))
    base = base_url_for(replace(req, base_url=url), cfg)
    key, marker = key_choice(req, cfg, base)
    send = key or (cfg.env.get("OLLAMA_API_KEY") if marker != "ollama-local" else None)
    server = server_for_url(base, send, req.provider_id or PROVIDER_ID)
    tags = await installed_models(server)
    model = req.model_id.strip() if req.model_id else await _choose(server, tags)
    if find_installed(await installed_models(server), model) is None:
        raise UsageError(f"Model {model!r} is not installed: run `ollama pull {model}`")
    await prime_cache(server, model, cfg)
    return Plan(req.provider_id or PROVIDER_ID, base, model, key, marker, context_of(req))
