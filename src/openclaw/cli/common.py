"""Small helpers every command shares: output, JSON, running async code.

Kept free of heavy imports: rich is imported only when a command asks for a console.
"""

from __future__ import annotations

import json
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
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from a sync click command (the core is async, on anyio)."""
    import anyio

    async def runner() -> T:
        return await factory()

    return anyio.run(runner)
