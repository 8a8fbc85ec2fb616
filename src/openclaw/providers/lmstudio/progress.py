"""What the user sees while LM Studio loads a model, which can take minutes.

On a terminal: a spinner with the elapsed seconds, cleared when the load ends. Elsewhere (a pipe,
a log file): one plain line when the load starts, one every ``PLAIN_EVERY`` seconds while it
runs, and one when it ends. Commands that may load a model (`agent`, `models status --probe`,
`embed`) enter :func:`load_progress`; library use stays silent.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from openclaw.providers.lmstudio import preload
from openclaw.textsafe import visible_line

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
#: Seconds between the "still loading" lines when stderr is not a terminal.
PLAIN_EVERY = 15.0


def _describe(key: str, context: int, server: str) -> str:
    return f"Loading {visible_line(key)} in {server} ({context} context tokens)…"


class _LoadDisplay:
    """Tracks the loads in progress and redraws from a background thread."""

    interval = 0.1

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.active: dict[str, tuple[int, float, str]] = {}
        self.thread: threading.Thread | None = None
        self.stop = threading.Event()

    def __call__(
        self,
        phase: str,
        key: str,
        context: int,
        elapsed: float | None,
        server: str = "LM Studio",
    ) -> None:
        with self.lock:
            if phase == "start":
                self.active[key] = (context, time.monotonic(), server)
                self.started(key, context, server)
                if self.thread is None:
                    self.stop.clear()
                    self.thread = threading.Thread(target=self._run, daemon=True)
                    self.thread.start()
            else:
                self.active.pop(key, None)
                self.ended(key, elapsed)
                if not self.active:
                    self.halt()

    def halt(self) -> None:
        self.stop.set()
        thread, self.thread = self.thread, None
        if thread is not None and thread is not threading.current_thread():
            self.lock.release()
            try:
                thread.join(timeout=1)
            finally:
                self.lock.acquire()
        self.cleared()

    def _run(self) -> None:
        n = 0
        while not self.stop.wait(self.interval):
            with self.lock:
                if not self.active:
                    continue
                key, (ctx, started, server) = next(iter(self.active.items()))
                self.tick(n, key, ctx, server, time.monotonic() - started)
            n += 1

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    # what each display shows
    def started(self, key: str, context: int, server: str) -> None: ...
    def tick(self, n: int, key: str, context: int, server: str, elapsed: float) -> None: ...
    def ended(self, key: str, elapsed: float | None) -> None: ...
    def cleared(self) -> None: ...


class _Spinner(_LoadDisplay):
    def tick(self, n: int, key: str, context: int, server: str, elapsed: float) -> None:
        frame = _FRAMES[n % len(_FRAMES)]
        self.write(f"\r\x1b[2K{frame} {_describe(key, context, server)} {elapsed:.0f}s")

    def cleared(self) -> None:
        self.write("\r\x1b[2K")


class _PlainLines(_LoadDisplay):
    interval = PLAIN_EVERY

    def started(self, key: str, context: int, server: str) -> None:
        self.write(_describe(key, context, server) + "\n")

    def tick(self, n: int, key: str, context: int, server: str, elapsed: float) -> None:
        self.write(f"Still loading {visible_line(key)}… {elapsed:.0f}s\n")

    def ended(self, key: str, elapsed: float | None) -> None:
        took = f" after {elapsed:.0f}s" if elapsed is not None else ""
        self.write(f"Load of {visible_line(key)} finished{took}.\n")


@contextmanager
def load_progress(stream: Any = None) -> Iterator[None]:
    """Show model loads on ``stream`` (default stderr): a spinner on a terminal, plain lines
    otherwise."""
    stream = stream or sys.stderr
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):
        tty = False
    display: _LoadDisplay = _Spinner(stream) if tty else _PlainLines(stream)
    with preload.load_listener(display):
        try:
            yield
        finally:
            with display.lock:
                if display.thread is not None:
                    display.halt()


#: The name `openclaw embed` has always used.
tty_load_spinner = load_progress
