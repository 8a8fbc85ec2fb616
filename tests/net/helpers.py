"""Test doubles for the network guard.

* ``RecordingAsyncBackend``: an httpcore2 network backend that records
  every (address, port) the guard would dial and answer from a script, without opening a
  socket. The guard hands them only validated IP literals.
* ``LoopbackServer``: a real HTTP server on 127.0.0.1 (ephemeral port) that records requests.
* ``table_resolver``: a stub resolver from a {host: [ip, ...]} table (unknown names: no answer).
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpcore2

Responder = Callable[[str, int, bytes], bytes]

#: The public SSRF vectors, copied from shared/ssrf/ so that every checkout tests all of them.
VECTORS_PATH = Path(__file__).resolve().parent / "data" / "vectors-public.json"


def load_vectors() -> list[dict[str, Any]]:
    """The committed vectors; a missing or empty file is an error, never a silent skip."""
    vectors = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
    if not isinstance(vectors, list) or not vectors:
        raise RuntimeError(f"no SSRF vectors in {VECTORS_PATH}")
    return vectors


def http_response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    reason = {
        200: "OK",
        301: "Moved",
        302: "Found",
        303: "See Other",
        307: "Temporary Redirect",
        308: "Permanent Redirect",
    }.get(status, "X")
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def table_resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return list(table.get(host, []))

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@dataclass
class Recorder:
    responder: Responder
    dials: list[tuple[str, int]] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)
    tls_names: list[str | None] = field(default_factory=list)

    def answer(self, address: str, port: int, request: bytes) -> bytes:
        self.requests.append(request)
        return self.responder(address, port, request)


def _request_complete(buf: bytes) -> bool:
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return True


class _FakeAsyncStream(httpcore2.AsyncNetworkStream):
    def __init__(self, recorder: Recorder, address: str, port: int) -> None:
        self._rec, self._address, self._port = recorder, address, port
        self._buf = b""
        self._out: bytes | None = None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._buf += buffer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._out is None and _request_complete(self._buf):
            self._out = self._rec.answer(self._address, self._port, self._buf)
        out = self._out or b""
        chunk, self._out = out[:max_bytes], out[max_bytes:]
        return chunk

    async def aclose(self) -> None:
        return None

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.AsyncNetworkStream:
        self._rec.tls_names.append(server_hostname)
        return self

    def get_extra_info(self, info: str) -> Any:
        return None


class RecordingAsyncBackend(httpcore2.AsyncNetworkBackend):
    def __init__(self, responder: Responder | None = None) -> None:
        self.recorder = Recorder(responder or (lambda a, p, r: http_response(200, b"ok")))

    @property
    def dials(self) -> list[tuple[str, int]]:
        return self.recorder.dials

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore2.AsyncNetworkStream:
        self.recorder.dials.append((host, port))
        return _FakeAsyncStream(self.recorder, host, port)

    async def sleep(self, seconds: float) -> None:
        return None


def scripted_redirects(locations: list[str], status: int = 302) -> Responder:
    """Answer hop i with a redirect to locations[i]; after the last one, 200."""
    state = {"hop": 0}

    def respond(address: str, port: int, request: bytes) -> bytes:
        hop = state["hop"]
        state["hop"] += 1
        if hop < len(locations):
            return http_response(status, b"", {"Location": locations[hop]})
        return http_response(200, b"final")

    return respond


# --- real loopback servers -----------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LoopbackServer:
    """A real HTTP/1.1 server on 127.0.0.1. ``routes`` maps a path to (status, headers, body)."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    Seen(
                        self.command,
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
                path = self.path.split("?", 1)[0]
                status, headers, payload = server.routes.get(
                    path, (200, {"Content-Type": "text/plain"}, b"hello from " + path.encode())
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_HEAD = _handle

            def log_message(self, *args: Any) -> None:
                return None

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str = "/") -> str:
        return self.origin + path


def serving() -> Iterator[LoopbackServer]:
    server = LoopbackServer().start()
    try:
        yield server
    finally:
        server.stop()
