"""A loopback pass-through HTTP proxy that records request bodies and raw response bytes.

Used in front of the real llama-server so tests can compare what the agent reports with what
the server actually sent on the wire (e.g. the usage chunk).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Exchange:
    method: str
    path: str
    request: Any
    status: int = 0
    response: bytes = b""

    def sse_chunks(self) -> list[dict[str, Any]]:
        out = []
        for line in self.response.decode("utf-8", "replace").splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                try:
                    out.append(json.loads(line[6:]))
                except json.JSONDecodeError:
                    pass
        return out

    def usage(self) -> dict[str, Any] | None:
        found = None
        for chunk in self.sse_chunks():
            if isinstance(chunk.get("usage"), dict):
                found = chunk["usage"]
        if found is None and self.response.startswith(b"{"):
            found = json.loads(self.response).get("usage")
        return found


@dataclass
class RecordingProxy:
    target_host: str
    target_port: int
    exchanges: list[Exchange] = field(default_factory=list)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def chats(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.path.endswith("/chat/completions")]


@contextmanager
def recording_proxy(target_host: str, target_port: int) -> Iterator[RecordingProxy]:
    proxy = RecordingProxy(target_host, target_port)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                parsed: Any = json.loads(body) if body else None
            except json.JSONDecodeError:
                parsed = body
            ex = Exchange(self.command, self.path, parsed)
            with lock:
                proxy.exchanges.append(ex)
            conn = http.client.HTTPConnection(target_host, target_port, timeout=60)
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
            }
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            ex.status = resp.status
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            while True:
                piece = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
                if not piece:
                    break
                ex.response += piece
                self.wfile.write(piece)
                self.wfile.flush()
            conn.close()

        do_GET = _forward
        do_POST = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    proxy.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
