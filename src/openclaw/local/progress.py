"""Download progress on stderr: a rich bar (bytes, total, speed, ETA) on a terminal, a plain
line every few seconds otherwise (CI logs, pipes), nothing when progress is off."""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol

PLAIN_INTERVAL = 5.0


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"  # pragma: no cover - loop always returns


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress(Protocol):
    def start(self, name: str, total: int, done: int) -> None: ...
    def advance(self, count: int) -> None: ...
    def restart(self, done: int) -> None: ...
    def note(self, message: str) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, name: str, total: int, done: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def restart(self, done: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def finish(self) -> None:
        pass


class PlainProgress:
    """Periodic lines: ``name: 412.3 MB / 986.0 MB (41%), 12.3 MB/s, ETA 47s``."""

    def __init__(self, stream: Any = None, interval: float = PLAIN_INTERVAL) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self.name = ""
        self.total = 0
        self.done = 0
        self._since = 0.0
        self._from = 0
        self._last = 0.0

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def start(self, name: str, total: int, done: int) -> None:
        self.name, self.total, self.done = name, total, done
        self._since = self._last = time.monotonic()
        self._from = done
        resumed = f", resuming at {human_bytes(done)}" if done else ""
        self._line(f"Downloading {name} ({human_bytes(total)}){resumed}")

    def restart(self, done: int) -> None:
        self.done = done
        self._since, self._from = time.monotonic(), done

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._line(self._status(now))

    def _status(self, now: float) -> str:
        elapsed = max(now - self._since, 1e-6)
        speed = (self.done - self._from) / elapsed
        pct = 100 * self.done / self.total if self.total else 100.0
        eta = f", ETA {_duration((self.total - self.done) / speed)}" if speed > 0 else ""
        return (
            f"  {self.name}: {human_bytes(self.done)} / {human_bytes(self.total)} "
            f"({pct:.0f}%), {human_bytes(speed)}/s{eta}"
        )

    def note(self, message: str) -> None:
        self._line(f"  {message}")

    def finish(self) -> None:
        pass


class RichProgress:
    """A rich bar on stderr; rich is imported only when a terminal asks for it."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as Bar

        self._bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._task: Any = None

    def start(self, name: str, total: int, done: int) -> None:
        if self._task is None:
            self._bar.start()
        else:
            self._bar.stop_task(self._task)
        self._task = self._bar.add_task(name, total=total, completed=done)

    def restart(self, done: int) -> None:
        self._bar.reset(self._task, completed=done)

    def advance(self, count: int) -> None:
        self._bar.advance(self._task, count)

    def note(self, message: str) -> None:
        self._bar.console.print(f"  {message}", markup=False, highlight=False)

    def finish(self) -> None:
        if self._task is not None:
            self._bar.stop()


def make_progress(enabled: bool) -> Progress:
    if not enabled:
        return NoProgress()
    if getattr(sys.stderr, "isatty", lambda: False)():
        return RichProgress()
    return PlainProgress()
