"""A spinner with elapsed seconds while LM Studio loads a model (only on a TTY stderr).

Library use stays silent: nothing is shown unless a command enters :func:`tty_load_spinner`.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from openclaw.providers.lmstudio import preload

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class _Spinner:
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
        _elapsed: float | None,
        server: str = "LM Studio",
    ) -> None:
        with self.lock:
            if phase == "start":
                self.active[key] = (context, time.monotonic(), server)
                if self.thread is None:
                    self.stop.clear()
                    self.thread = threading.Thread(target=self._run, daemon=True)
                    self.thread.start()
            else:
                self.active.pop(key, None)
                if not self.active:
                    self._halt()

    def _halt(self) -> None:
        self.stop.set()
        thread, self.thread = self.thread, None
        if thread is not None and thread is not threading.current_thread():
            self.lock.release()
            try:
                thread.join(timeout=1)
            finally:
                self.lock.acquire()
        self.stream.write("\r\x1b[2K")
        self.stream.flush()

    def _run(self) -> None:
        n = 0
        while not self.stop.wait(0.1):
            with self.lock:
                if not self.active:
                    continue
                key, (ctx, started, server) = next(iter(self.active.items()))
            elapsed = time.monotonic() - started
            frame = _FRAMES[n % len(_FRAMES)]
            self.stream.write(
                f"\r\x1b[2K{frame} Loading {key} in {server} ({ctx} context tokens)… {elapsed:.0f}s"
            )
            self.stream.flush()
            n += 1


@contextmanager
def tty_load_spinner(stream: Any = None) -> Iterator[None]:
    """Show a spinner during model loads when ``stream`` (default stderr) is a terminal."""
    stream = stream or sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        yield
        return
    spinner = _Spinner(stream)
    with preload.load_listener(spinner):
        try:
            yield
        finally:
            with spinner.lock:
                if spinner.thread is not None:
                    spinner._halt()
