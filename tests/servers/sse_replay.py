"""A real HTTP server on 127.0.0.1 that replays scripted responses byte for byte.

Each request takes the next queued :class:`Script` (or the default one) and gets exactly its
status, headers and body chunks, written with chunked transfer encoding (or a Content-Length)
and flushed one by one. A script can pause between chunks, stall after a chunk, cut the
connection mid-stream (no terminating chunk) or stream a huge generated body. Every request is
recorded (method, path, headers, body) for assertions.

    with ReplayServer() as server:
        server.enqueue(Script.sse(raw_bytes))
        ... POST server.base_url + "/chat/completions" ...
        server.requests[0].json["stream"]
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Script:
    status: int = 200
    headers: list[tuple[str, str]] = field(
        default_factory=lambda: [("Content-Type", "text/event-stream")]
    )
    chunks: Iterable[bytes] | Callable[[], Iterable[bytes]] = ()
    chunked: bool = True
    delay: float = 0.0  # seconds between chunks
    stall_after: int | None = None  # after this many chunks, sleep stall_seconds
    stall_seconds: float = 0.0
    cut_after: int | None = None  # after this many chunks, drop the connection

    @classmethod
    def sse(cls, body: bytes, *, pieces: int = 1, **kw: Any) -> Script:
        """An SSE response whose body is sent in ``pieces`` roughly equal chunks."""
        return cls(chunks=split_bytes(body, pieces), **kw)

    @classmethod
    def json(cls, status: int, obj: Any, **kw: Any) -> Script:
        return cls(
            status=status,
            headers=[("Content-Type", "application/json")],
            chunks=[json.dumps(obj).encode()],
            chunked=False,
            **kw,
        )

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain", **kw: Any) -> Script:
        return cls(
            status=status,
            headers=[("Content-Type", content_type)],
            chunks=[text.encode()],
            chunked=False,
            **kw,
        )

    def iter_chunks(self) -> Iterator[bytes]:
        source = self.chunks() if callable(self.chunks) else self.chunks
        yield from source


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def split_bytes(body: bytes, pieces: int) -> list[bytes]:
    if pieces <= 1 or len(body) <= 1:
        return [body]
    size = max(1, -(-len(body) // pieces))
    return [body[i : i + size] for i in range(0, len(body), size)]


def capture_body(path: str | Path) -> bytes:
    """The verbatim SSE / response body of a capture file from spec/captures."""
    data = Path(path).read_bytes()
    for marker in (b"### raw SSE body (verbatim):\n", b"### response body:\n"):
        if marker in data:
            return data.split(marker, 1)[1]
    raise ValueError(f"no body marker in {path}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner = self.server.owner
        owner.requests.append(
            RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
        )
        script = owner.next_script()
        chunks = script.iter_chunks()
        self.send_response_only(script.status)
        for name, value in script.headers:
            self.send_header(name, value)
        if script.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            materialised: Iterable[bytes] = chunks
        else:
            materialised = list(chunks)
            total = sum(len(c) for c in materialised)
            self.send_header("Content-Length", str(total))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        sent = 0
        try:
            for chunk in materialised:
                if script.cut_after is not None and sent >= script.cut_after:
                    self._cut()
                    return
                if script.stall_after is not None and sent == script.stall_after:
                    time.sleep(script.stall_seconds)
                if chunk:
                    if script.chunked:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    else:
                        self.wfile.write(chunk)
                    self.wfile.flush()
                sent += 1
                if script.delay:
                    time.sleep(script.delay)
            if script.cut_after is not None and sent >= script.cut_after:
                self._cut()
                return
            if script.stall_after is not None and sent == script.stall_after:
                time.sleep(script.stall_seconds)
            if script.chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        self.close_connection = True

    def _cut(self) -> None:
        self.wfile.flush()
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    do_GET = _handle
    do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: ReplayServer


class ReplayServer:
    def __init__(self, default: Script | None = None) -> None:
        self.default = default or Script.json(404, {"error": {"message": "no script"}})
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Script] = deque()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def enqueue(self, *scripts: Script) -> None:
        with self._lock:
            self._queue.extend(scripts)

    def next_script(self) -> Script:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
