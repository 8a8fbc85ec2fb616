"""``openclaw local``: the built-in llama.cpp engine (status, start, stop, logs) and ``scan``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from openclaw.cli.common import echo_json
from openclaw.cli.local_scan_cmd import scan
from openclaw.errors import EngineError, UsageError

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.local.engine import EngineConfig


def _engine_provider(cfg: LoadedConfig, provider: str | None) -> tuple[str, EngineConfig]:
    """The provider whose engine to manage: the one named, else the first with localService."""
    from openclaw.local.engine import engine_config

    providers = cfg.providers()
    if provider is not None:
        names = [provider]
    else:
        names = [pid for pid, p in providers.items() if isinstance(p, dict) and "localService" in p]
    for pid in names:
        block = cfg.provider(pid)
        config = engine_config(pid, block) if isinstance(block, dict) else None
        if config is not None:
            return pid, config
    which = f"Provider {provider!r} has no" if provider else "No provider has a"
    raise UsageError(
        f"{which} built-in engine (no localService block in openclaw.json)",
        hint="Set one up with `openclaw onboard --non-interactive --accept-risk "
        "--auth-choice llama-cpp`.",
    )


def _load() -> LoadedConfig:
    from openclaw.config.loader import load_config

    return load_config()


@click.group("local")
def local() -> None:
    """Manage the built-in llama.cpp engine; find the model servers that run here."""


local.add_command(scan)  # `openclaw local scan [--json] [HOST...]`


@local.command("status")
@click.option("--provider", metavar="ID", help="Provider id (default: the one with an engine).")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(provider: str | None, as_json: bool) -> None:
    """Whether the engine runs: pid, port, model, context and uptime."""
    from openclaw.local.engine import engine_health
    from openclaw.local.spec import safe_text
    from openclaw.local.state import live_state, log_path

    cfg = _load()
    pid, config = _engine_provider(cfg, provider)
    recorded = live_state(cfg.paths, pid)
    running = recorded is not None
    payload: dict[str, Any] = {
        "provider": pid,
        "running": running,
        "ready": running and engine_health(config),
        "pid": recorded.pid if recorded else None,
        "port": recorded.port if recorded else config.port,
        "model": recorded.model if recorded else config.model_file,
        "context": recorded.context if recorded else config.context,
        "uptimeSeconds": round(recorded.uptime()) if recorded else None,
        "backend": recorded.backend if recorded else None,
        "baseUrl": config.base_url,
        "log": str(log_path(cfg.paths, pid)),
    }
    if as_json:
        echo_json(payload)
        return
    model = safe_text(str(payload["model"] or "?"), 400)
    if recorded is None:
        click.echo(f"{pid}: engine stopped (starts on the next request; port {config.port})")
        click.echo(f"  model:   {model}")
        return
    state = "running" if payload["ready"] else "starting"
    click.echo(f"{pid}: engine {state}")
    click.echo(f"  pid:     {recorded.pid}")
    click.echo(f"  url:     {config.base_url}")
    click.echo(f"  model:   {model}")
    click.echo(f"  context: {recorded.context} tokens")
    click.echo(f"  uptime:  {_duration(recorded.uptime())}")
    click.echo(f"  backend: {safe_text(recorded.backend)}")


def _duration(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@local.command("start")
@click.argument("model", required=False)
@click.option("--provider", metavar="ID", help="Provider id (default: the one with an engine).")
@click.option("--context", type=int, metavar="N", help="Context size when switching model.")
def start(model: str | None, provider: str | None, context: int | None) -> None:
    """Start the engine now (MODEL: switch to ORG/REPO[:QUANT] or a .gguf file first)."""
    from openclaw.local.engine import ensure_engine

    cfg = _load()
    if model is not None:
        _switch_model(model, context)
        cfg = _load()
    elif context is not None:
        raise UsageError("--context applies when switching model: give MODEL too")
    pid, config = _engine_provider(cfg, provider)
    info = ensure_engine(cfg.paths, config, announce=True)
    what = "started" if info.started else "already running"
    who = f"pid {info.pid}, " if info.pid else ""
    click.echo(f"{pid}: engine {what} ({who}{config.base_url})")


def _switch_model(model: str, context: int | None) -> None:
    """Re-run the llama-cpp setup for another model, keeping the port when it can."""
    from pathlib import Path

    from openclaw.local.onboard import SetupRequest, setup_engine

    is_file = model.lower().endswith(".gguf") or Path(model).expanduser().is_file()
    outcome = setup_engine(
        SetupRequest(
            model=None if is_file else model,
            model_path=model if is_file else None,
            context=context,
        )
    )
    click.echo(f"Default model: {outcome.default_ref}")


@local.command("stop")
@click.option("--provider", metavar="ID", help="Provider id (default: the one with an engine).")
def stop(provider: str | None) -> None:
    """Stop the engine (it starts again on the next request)."""
    from openclaw.local.engine import stop_engine

    cfg = _load()
    pid, _config = _engine_provider(cfg, provider)
    stopped = stop_engine(cfg.paths, pid)
    if stopped is None:
        click.echo(f"{pid}: no engine is running")
    else:
        click.echo(f"{pid}: engine stopped (pid {stopped.pid})")


@local.command("logs")
@click.option("--provider", metavar="ID", help="Provider id (default: the one with an engine).")
@click.option("-n", "--lines", default=50, show_default=True, help="How many of the last lines.")
def logs(provider: str | None, lines: int) -> None:
    """Print the end of the engine's log."""
    from openclaw.local.state import log_path, log_tail

    if lines <= 0:
        raise UsageError("--lines must be positive")
    cfg = _load()
    pid, _config = _engine_provider(cfg, provider)
    tail = log_tail(cfg.paths, pid, lines)
    if not tail:
        raise EngineError(
            f"No engine log yet at {cfg.paths.display(log_path(cfg.paths, pid))}",
            hint="The log is written when the engine starts (`openclaw local start`).",
        )
    for line in tail:
        click.echo(line)
