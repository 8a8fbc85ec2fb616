"""A hostile HTTP server for tests: real HTTP on 127.0.0.1 (ephemeral port), one thread per
connection, misbehaving in one chosen way.

It answers the paths openclaw talks to - LM Studio's ``GET /api/v1/models`` and
``POST /api/v1/models/load``, and the
OpenAI-compatible ``GET /v1/models``, ``POST /v1/chat/completions`` (SSE when the request
asks for a stream) and ``POST /v1/embeddings`` - with well-formed bodies, delivered according
to the current :class:`Fault`:

* ``NONE``         - answer normally (a baseline)
* ``DRIP``         - headers at once, then the body one byte per ``drip_interval`` seconds
* ``HANG``         - read the request, never answer (the connection stays open)
* ``CUT``          - declare the whole body, send half of it, close the connection
* ``OVERSIZED``    - a body of ``oversized_bytes`` (declared with Content-Length)
* ``HUGE_STREAM``  - chat: an SSE answer of ``stream_bytes`` of text (``None``: endless);
                     other paths: as ``OVERSIZED``
* ``ERROR_IN_200`` - status 200 with ``{"error": {"message": error_message}}``
* ``ERROR_STATUS`` - status ``error_status`` with ``{"error": {"message": error_message}}``
* ``ESCAPES``      - terminal escape sequences in model ids, error messages and answer text
                     (``ESCAPE_SAMPLE``); error paths answer HTTP 500 with one in the message

Usage::

    with FaultServer(Fault.DRIP) as server:
        server.base_url        # http://127.0.0.1:PORT/v1
        server.server_url      # http://127.0.0.1:PORT
        server.fault = Fault.HANG   # switch at any time
        server.requests        # [(method, path)] seen so far

``paths`` (prefixes) limits the fault to those paths; every other path answers normally.
Every handler loop stops when the server is closed, so no test leaves a thread dripping.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: Clear screen, a fake colour, a window title and an OSC 52 clipboard write.
ESCAPE_SAMPLE = "\x1b[2J\x1b[31mred\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x9b"
MODEL_ID = "fault/model"


class Fault(Enum):
    NONE = "none"
    DRIP = "drip"
    HANG = "hang"
    CUT = "cut"
    OVERSIZED = "oversized"
    HUGE_STREAM = "huge-stream"
    ERROR_IN_200 = "error-in-200"
    ERROR_STATUS = "error-status"
    ESCAPES = "escapes"


def catalog_body(model_id: str = MODEL_ID) -> bytes:
    """LM Studio's native model list with one loaded LLM (the shape discovery parses)."""
    entry = {
        "type": "llm",
        "key": model_id,
        "display_name": model_id,
        "max_context_length": 32768,
        "loaded_instances": [{"id": model_id, "config": {"context_length": 8192}}],
    }
    return json.dumps({"models": [entry]}).encode()


def models_body(model_id: str = MODEL_ID) -> bytes:
    return json.dumps({"object": "list", "data": [{"id": model_id, "object": "model"}]}).encode()


def chat_json(text: str) -> bytes:
    return json.dumps(
        {
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        }
    ).encode()


def sse_event(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def chat_chunk(text: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": text} if text is not None else {}
    return sse_event({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def chat_sse(text: str) -> bytes:
    return chat_chunk(text) + chat_chunk(finish="stop") + b"data: [DONE]\n\n"


def embeddings_body(count: int) -> bytes:
    data = [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(count)]
    return json.dumps({"object": "list", "data": data, "usage": {"prompt_tokens": count}}).encode()


class FaultServer:
    def __init__(
        self,
        fault: Fault = Fault.NONE,
        *,
        drip_interval: float = 1.0,
        oversized_bytes: int = 20 * 1024 * 1024,
        stream_bytes: int | None = 20 * 1024 * 1024,
        error_message: str = "model crashed while embedding",
        error_status: int = 500,
        paths: tuple[str, ...] | None = None,
    ) -> None:
        self.paths = paths
        self.error_status = error_status
        self.fault = fault
        self.drip_interval = drip_interval
        self.oversized_bytes = oversized_bytes
        self.stream_bytes = stream_bytes
        self.error_message = error_message
        self.requests: list[tuple[str, str]] = []
        self.closed = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def server_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.server_url + "/v1"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    # -- what a normal answer would be, per path ---------------------------------------------

    def normal_body(self, method: str, path: str, request: Any) -> tuple[str, bytes]:
        model = ESCAPE_SAMPLE + MODEL_ID if self.fault is Fault.ESCAPES else MODEL_ID
        if path.startswith("/api/v1/models/load"):
            loaded = {"status": "loaded", "instance_id": request.get("model") if request else None}
            return "application/json", json.dumps(loaded).encode()
        if path.startswith("/api/v1/models"):
            return "application/json", catalog_body(model)
        if path.startswith("/v1/models"):
            return "application/json", models_body(model)
        if path.startswith("/v1/embeddings"):
            inputs = request.get("input") if isinstance(request, dict) else None
            count = len(inputs) if isinstance(inputs, list) else 1
            return "application/json", embeddings_body(count)
        text = f"hello {ESCAPE_SAMPLE} world" if self.fault is Fault.ESCAPES else "hello world"
        if isinstance(request, dict) and request.get("stream"):
            return "text/event-stream", chat_sse(text)
        return "application/json", chat_json(text)

    def endless_answer(self) -> Iterator[bytes]:
        """SSE chat chunks of 4 KiB of text each, up to ``stream_bytes`` (or forever)."""
        piece = ("lorem ipsum " * 342)[:4096]
        sent = 0
        while not self.closed.is_set() and (self.stream_bytes is None or sent < self.stream_bytes):
            yield chat_chunk(piece)
            sent += len(piece)
        yield chat_chunk(finish="stop") + b"data: [DONE]\n\n"


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                request = json.loads(raw) if raw else None
            except ValueError:
                request = None
            server.requests.append((method, self.path))
            fault = server.fault
            if server.paths is not None and not self.path.startswith(server.paths):
                fault = Fault.NONE
            try:
                if fault is Fault.HANG:
                    server.closed.wait()
                    return
                ctype, body = server.normal_body(method, self.path, request)
                if fault is Fault.DRIP:
                    self._drip(ctype, body)
                elif fault is Fault.CUT:
                    self._head(200, ctype, len(body))
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                elif fault is Fault.HUGE_STREAM and ctype == "text/event-stream":
                    self._chunked(200, ctype, server.endless_answer())
                elif fault in (Fault.OVERSIZED, Fault.HUGE_STREAM):
                    self._oversized(ctype)
                elif fault is Fault.ERROR_IN_200:
                    self._send(200, "application/json", _error_body(server.error_message))
                elif fault is Fault.ERROR_STATUS:
                    status = server.error_status
                    self._send(status, "application/json", _error_body(server.error_message))
                elif fault is Fault.ESCAPES and self.path.startswith("/v1/embeddings"):
                    self._send(500, "application/json", _error_body(f"bad {ESCAPE_SAMPLE} news"))
                else:
                    self._send(200, ctype, body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _head(self, status: int, ctype: str, length: int | None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if length is None:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(length))
            self.end_headers()

        def _send(self, status: int, ctype: str, body: bytes) -> None:
            self._head(status, ctype, len(body))
            self.wfile.write(body)

        def _drip(self, ctype: str, body: bytes) -> None:
            self._head(200, ctype, len(body))
            self.wfile.flush()
            for i in range(len(body)):
                if server.closed.wait(server.drip_interval):
                    break
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
            self.close_connection = True

        def _chunked(self, status: int, ctype: str, parts: Iterator[bytes]) -> None:
            self._head(status, ctype, None)
            for part in parts:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _oversized(self, ctype: str) -> None:
            total = server.oversized_bytes
            self._head(200, ctype, total)
            block = b" " * 65536
            sent = 0
            while sent < total and not server.closed.is_set():
                piece = block[: min(len(block), total - sent)]
                self.wfile.write(piece)
                sent += len(piece)
            self.close_connection = True

    return Handler


def _error_body(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "server_error"}}).encode()
