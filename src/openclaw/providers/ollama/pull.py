"""``POST /api/pull``: download a model into Ollama, with progress from its NDJSON lines
(``{"status", "digest", "total", "completed"}``, totals summed over the layers)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from openclaw.errors import MalformedResponseError, ProviderHTTPError
from openclaw.llm.ollama_wire import printable

if TYPE_CHECKING:
    from openclaw.providers.ollama.server import Server

PULL_START_TIMEOUT = 30.0
PULL_IDLE_TIMEOUT = 300.0
MAX_LINE_BYTES = 64 * 1024


@dataclass
class PullProgress:
    status: str = ""
    layers: dict[str, tuple[int, int]] = field(default_factory=dict)  # digest -> (done, total)
    started: float = field(default_factory=time.monotonic)

    @property
    def completed(self) -> int:
        return sum(done for done, _ in self.layers.values())

    @property
    def total(self) -> int:
        return sum(total for _, total in self.layers.values())

    def update(self, obj: dict[str, Any]) -> None:
        status = obj.get("status")
        self.status = printable(status, 80) if isinstance(status, str) else self.status
        digest, total, done = obj.get("digest"), obj.get("total"), obj.get("completed")
        if isinstance(digest, str) and isinstance(total, int) and total > 0:
            self.layers[digest] = (min(done if isinstance(done, int) else 0, total), total)


ProgressHook = Callable[[PullProgress], None]


def _feed(line: bytes, progress: PullProgress, model: str) -> None:
    try:
        obj = json.loads(line)
    except ValueError:
        raise MalformedResponseError(
            f"Ollama's pull of {model} sent a line that is not JSON"
        ) from None
    if isinstance(obj, dict) and isinstance(obj.get("error"), str):
        raise ProviderHTTPError(
            f"Ollama could not pull {model}: {printable(obj['error'])}", status=200
        )
    if isinstance(obj, dict):
        progress.update(obj)


async def pull_model(server: Server, model: str, on_progress: ProgressHook | None = None) -> None:
    """Pull ``model``; raises an ``OpenClawError`` when Ollama reports a failure."""
    import httpx2

    from openclaw.llm.errors import error_text
    from openclaw.net.client import async_client

    timeout = httpx2.Timeout(connect=10.0, read=PULL_IDLE_TIMEOUT, write=30.0, pool=30.0)
    progress = PullProgress()
    async with (
        async_client(server.policy, timeout=timeout) as client,
        client.stream(
            "POST",
            server.base + "/api/pull",
            json={"model": model, "stream": True},
            headers=server.request_headers(True),
            max_body_bytes=64 * 1024 * 1024,
        ) as resp,
    ):
        if resp.status_code >= 400:
            raw = await resp.aread()
            raise ProviderHTTPError(
                f"Ollama could not pull {model}: HTTP {resp.status_code}: {printable(error_text(raw[:4096]))}",
                status=resp.status_code,
            )
        buffer = b""
        async for chunk in resp.aiter_bytes():
            *lines, buffer = (buffer + chunk).split(b"\n")
            if len(buffer) > MAX_LINE_BYTES:
                raise MalformedResponseError(f"Ollama's pull of {model} sent an endless line")
            for line in filter(bytes.strip, lines):
                _feed(line, progress, model)
            if on_progress is not None:
                on_progress(progress)
        if buffer.strip():
            _feed(buffer, progress, model)
    if progress.status != "success":
        raise MalformedResponseError(f"Ollama's pull of {model} ended without success")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.1f} GB"


def progress_printer(stream: TextIO | None = None, every: float = 5.0) -> ProgressHook:
    """A bar with bytes, speed and ETA on a terminal; a plain line every ``every`` s otherwise."""
    out = stream or sys.stderr
    tty = getattr(out, "isatty", lambda: False)()
    last = [0.0]

    def show(p: PullProgress) -> None:
        now = time.monotonic()
        if not tty and now - last[0] < every and p.status != "success":
            return
        last[0] = now
        elapsed = max(now - p.started, 1e-6)
        speed = p.completed / elapsed
        if p.total:
            pct = 100 * p.completed / p.total
            eta = (p.total - p.completed) / speed if speed > 0 else 0
            text = (
                f"{p.status}: {pct:5.1f}% {_size(p.completed)}/{_size(p.total)} "
                f"{_size(speed)}/s ETA {eta:.0f}s"
            )
        else:
            text = p.status
        out.write(f"\r\x1b[2K{text}" if tty else f"{text}\n")
        out.flush()

    return show
