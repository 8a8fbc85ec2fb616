"""Small helpers every command shares: output, JSON, errors, running async code.

Kept free of heavy imports, click included (the quick path of ``models list`` runs without
it): rich is imported only when a command asks for a console.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

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


def echo(text: str = "", *, err: bool = False) -> None:
    """One line to stdout (or stderr), flushed. The stream is looked up at each call, so a test
    runner that swaps ``sys.stdout`` sees the output; a terminal that cannot encode a character
    gets an escape instead of a crash."""
    stream = sys.stderr if err else sys.stdout
    line = text + "\n"
    try:
        stream.write(line)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(line.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()


def echo_json(data: Any) -> None:
    from openclaw.textsafe import json_text

    echo(json_text(data))


def echo_safe(text: str, *, err: bool = False) -> None:
    """:func:`echo` for text that may hold server or model output: controls made visible."""
    from openclaw.textsafe import visible

    echo(visible(text), err=err)


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


#: The exit code when whoever read our output went away (`openclaw models list | head -1`):
#: 1, quietly, as click does for every other command (and as Python's docs recommend).
EXIT_CLOSED_PIPE = 1


def report_exception(exc: BaseException, debug: bool) -> int:
    """Print ``exc`` as the one error line (the traceback too under ``--debug``); the exit
    code: 1 for every error, expected or not. A closed output pipe is no error: nothing is
    printed, and the rest of our output goes nowhere."""
    from openclaw.errors import OpenClawError

    if isinstance(exc, BrokenPipeError):
        # Point stdout at /dev/null so the interpreter's last flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_CLOSED_PIPE

    if debug:
        import traceback

        traceback.print_exception(exc)
    print_error(exc)
    if not debug and not isinstance(exc, OpenClawError):
        echo("Hint: re-run with --debug for the traceback and report it.", err=True)
    return 1


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
    echo(f"Updated config: {paths.display(result.path)}")
    if result.backup_path is not None:
        echo(f"  Backup: {paths.display(result.backup_path)}")
