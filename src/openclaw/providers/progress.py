"""What the user sees while a server loads a model, or is slow to answer, which can take minutes.

On a terminal: a spinner with the elapsed seconds, cleared when the load ends. Elsewhere (a pipe,
a log file): one plain line when the load starts, one every ``PLAIN_EVERY`` seconds while it
runs, and one when it ends. Commands that may load a model (`agent`, `models status --probe`,
`embed`) enter :func:`load_progress`; library use stays silent.

The same display covers the wait between a request and the model's first output (a server
loading on demand, or working through a long prompt on a CPU): ``expect_output`` starts it,
``output_seen`` ends it. It shows only once the wait is noticeable (``WAIT_SHOWN_AFTER``), so a
quick answer draws nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from openclaw.providers.load_events import load_listener
from openclaw.textsafe import visible_line

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
#: Seconds between the "still loading" lines when stderr is not a terminal.
PLAIN_EVERY = 15.0
#: Silence (seconds) after a request before the wait for the first output is shown.
WAIT_SHOWN_AFTER = 1.5


def _describe(key: str, context: int, server: str) -> str:
    return f"Loading {visible_line(key)} in {server} ({context} context tokens)…"


def _waiting(label: str) -> str:
    return f"Waiting for {visible_line(label)} to answer…"


class _LoadDisplay:
    """Tracks the loads in progress and redraws from a background thread."""

    interval = 0.1

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.active: dict[str, tuple[int, float, str]] = {}
        self.thread: threading.Thread | None = None
        self.stop = threading.Event()
        #: (what is awaited, since when): a request sent, no output yet.
        self.waiting: tuple[str, float] | None = None

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
                self._ensure_thread()
            else:
                self.active.pop(key, None)
                self.ended(key, elapsed)
                if self.waiting is not None:
                    # The wait for the answer counts from the end of the load.
                    self.waiting = (self.waiting[0], time.monotonic())
                    if not self.active:
                        self.cleared()
                elif not self.active:
                    self.halt()

    def expect_output(self, label: str) -> None:
        """A request to ``label`` is on its way: show the wait if it grows noticeable."""
        with self.lock:
            self.waiting = (label, time.monotonic())
            self._ensure_thread()

    def output_seen(self) -> None:
        """The model answered (text, thinking, a tool call, an error): the wait is over. Clears
        the line at once and leaves the thread idle, so the first token is not delayed."""
        with self.lock:
            if self.waiting is not None:
                self.waiting = None
                if not self.active:
                    self.cleared()

    def _ensure_thread(self) -> None:
        if self.thread is None:
            self.stop.clear()
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

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
                if self.active:
                    key, (ctx, started, server) = next(iter(self.active.items()))
                    self.tick(n, key, ctx, server, time.monotonic() - started)
                elif self.waiting is not None:
                    label, since = self.waiting
                    waited = time.monotonic() - since
                    if waited >= WAIT_SHOWN_AFTER:
                        self.tick_wait(n, label, waited)
            n += 1

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    # what each display shows
    def started(self, key: str, context: int, server: str) -> None: ...
    def tick(self, n: int, key: str, context: int, server: str, elapsed: float) -> None: ...
    def tick_wait(self, n: int, label: str, waited: float) -> None: ...
    def ended(self, key: str, elapsed: float | None) -> None: ...
    def cleared(self) -> None: ...


class _Spinner(_LoadDisplay):
    drawn = False  # a spinner line is on the screen (clearing must not erase answer text)

    def _draw(self, n: int, text: str) -> None:
        self.write(f"\r\x1b[2K{_FRAMES[n % len(_FRAMES)]} {text}")
        self.drawn = True

    def tick(self, n: int, key: str, context: int, server: str, elapsed: float) -> None:
        self._draw(n, f"{_describe(key, context, server)} {elapsed:.0f}s")

    def tick_wait(self, n: int, label: str, waited: float) -> None:
        self._draw(n, f"{_waiting(label)} {waited:.0f}s")

    def cleared(self) -> None:
        if self.drawn:
            self.write("\r\x1b[2K")
            self.drawn = False


class _PlainLines(_LoadDisplay):
    interval = PLAIN_EVERY

    def started(self, key: str, context: int, server: str) -> None:
        self.write(_describe(key, context, server) + "\n")

    def tick(self, n: int, key: str, context: int, server: str, elapsed: float) -> None:
        self.write(f"Still loading {visible_line(key)}… {elapsed:.0f}s\n")

    def tick_wait(self, n: int, label: str, waited: float) -> None:
        self.write(f"{_waiting(label)} {waited:.0f}s\n")

    def ended(self, key: str, elapsed: float | None) -> None:
        took = f" after {elapsed:.0f}s" if elapsed is not None else ""
        self.write(f"Load of {visible_line(key)} finished{took}.\n")


@contextmanager
def load_progress(stream: Any = None) -> Iterator[_LoadDisplay]:
    """Show model loads on ``stream`` (default stderr): a spinner on a terminal, plain lines
    otherwise."""
    stream = stream or sys.stderr
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):
        tty = False
    display: _LoadDisplay = _Spinner(stream) if tty else _PlainLines(stream)
    with load_listener(display):
        try:
            yield display
        finally:
            with display.lock:
                if display.thread is not None:
                    display.halt()


#: The name `openclaw embed` has always used.
tty_load_spinner = load_progress
