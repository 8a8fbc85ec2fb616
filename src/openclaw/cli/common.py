"""Small helpers every command shares: output, JSON, running async code.

Kept free of heavy imports: rich is imported only when a command asks for a console.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

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


class SafeLogHandler(logging.StreamHandler):
    """Stands in for logging's last-resort handler: library warnings (which may quote a
    server) reach stderr with control characters made visible."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setLevel(logging.WARNING)

    def format(self, record: logging.LogRecord) -> str:
        from openclaw.textsafe import visible

        return visible(super().format(record))


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

    async def runner() -> T:
        return await factory()

    return anyio.run(runner)
