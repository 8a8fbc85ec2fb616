"""Small helpers every command shares: output, JSON, running async code.

Kept free of heavy imports: rich is imported only when a command asks for a console.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

    from openclaw.config.loader import LoadedConfig
    from openclaw.config.writer import WriteResult

T = TypeVar("T")


def color_enabled(stream: Any = None) -> bool:
    """Colour only on a TTY and only when NO_COLOR is unset (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(
        file=stream,
        no_color=not color_enabled(stream),
        highlight=False,
        soft_wrap=True,
        force_terminal=None if color_enabled(stream) else False,
    )


def echo_json(data: Any) -> None:
    from openclaw.textsafe import json_text

    click.echo(json_text(data))


def echo_safe(text: str, *, err: bool = False) -> None:
    """``click.echo`` for text that may hold server or model output: controls made visible."""
    from openclaw.textsafe import visible

    click.echo(visible(text), err=err)


def warn(message: str) -> None:
    echo_safe(f"Warning: {message}", err=True)


def install_safe_warnings() -> None:
    """Library warnings (which may quote a server) reach stderr with control characters made
    visible: ours stands in for logging's last-resort handler. Installed by the commands that
    talk to servers (``run_async``), so commands that do not never import logging."""
    import logging

    from openclaw.textsafe import visible

    if getattr(logging.lastResort, "openclaw_safe", False):
        return

    class SafeLogHandler(logging.StreamHandler):
        openclaw_safe = True

        def format(self, record: logging.LogRecord) -> str:
            return visible(super().format(record))

    handler = SafeLogHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    logging.lastResort = handler


def print_error(exc: BaseException, *, prefix: str = "") -> None:
    """The one place an error reaches the user: ``Error:`` line(s), then the ``Hint:`` line.

    Messages and hints often quote a server's answer, so control characters are made visible.
    """
    from openclaw.errors import OpenClawError

    if isinstance(exc, OpenClawError):
        message = prefix + exc.message
        echo_safe(message if "\n" in message else f"Error: {message}", err=True)
        if exc.hint:
            echo_safe(f"Hint: {exc.hint}", err=True)
        return
    echo_safe(f"Error: unexpected {type(exc).__name__}: {exc}", err=True)


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from a sync click command (the core is async, on anyio)."""
    import anyio

    install_safe_warnings()

    async def runner() -> T:
        return await factory()

    return anyio.run(runner)


def load_for_command(*, strict_env: bool = False, validate: bool = True) -> LoadedConfig:
    """Load the config the way commands do: warn (on stderr) about unresolved ``${VAR}``."""
    from openclaw.config.loader import load_config

    cfg = load_config(strict_env=strict_env, validate=validate)
    for message in [*cfg.env_warnings, *cfg.value_warnings]:
        warn(message)
    return cfg


def report_write(result: WriteResult) -> None:
    from openclaw.config.paths import resolve_paths

    paths = resolve_paths()
    for message in result.warnings:
        warn(message)
    click.echo(f"Updated config: {paths.display(result.path)}")
    if result.backup_path is not None:
        click.echo(f"  Backup: {paths.display(result.backup_path)}")
