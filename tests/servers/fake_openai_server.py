"""A faithful fake of vLLM's and SGLang's OpenAI-compatible servers (real HTTP on 127.0.0.1).

Shapes from other-servers.md §1-§2:

* ``GET /v1/models``: vLLM ``{"object":"list","data":[{"id","object":"model","created",
  "owned_by":"vllm","root","parent","max_model_len","permission":[...]}]}``; SGLang the same
  without ``parent``/``permission`` and with ``owned_by":"sglang"``.
* auth only when ``api_key`` is set: every ``/v1`` path needs ``Authorization: Bearer <key>``,
  failure is ``401 {"error":"Unauthorized"}``; ``/health`` (and vLLM ``/version``) stay open.
* SGLang: ``GET /get_model_info`` -> ``{"model_path", "tokenizer_path", "is_generation"}``.
* ``POST /v1/chat/completions``: a short answer, streamed (SSE, ``[DONE]``, usage chunk with
  ``include_usage``) or whole.
* ``flavor="openai"``: a bare OpenAI-compatible server (only ``id``/``object``/``owned_by``).
* ``flavor="llamacpp-old"``: an older llama-server whose ``/v1/models`` has only
  ``meta.n_ctx_train`` (``train_context``); the served context is in ``/props``
  ``default_generation_settings.n_ctx`` (backends.md §3).

Usage::

    with FakeOpenAIServer(flavor="vllm", models={"Qwen/Qwen3-8B": 32768}) as srv:
        srv.base_url          # http://127.0.0.1:PORT/v1
        srv.requests          # [(method, path, headers)]
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

UNAUTHORIZED = {"error": "Unauthorized"}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@dataclass
class FakeOpenAIServer:
    flavor: str = "vllm"  # "vllm" | "sglang" | "openai"
    #: model id -> max_model_len (any JSON value, to test hostile numbers)
    models: dict[str, Any] = field(default_factory=lambda: {"Qwen/Qwen3-8B": 32768})
    api_key: str | None = None
    answer: str = "Hello from the fake server."
    train_context: int = 131072
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._server: _Server | None = None

    def start(self) -> FakeOpenAIServer:
        self._server = _Server((self.host, self.port), _handler(self))
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self._requests.append(rec)

    def model_card(self, model_id: str, max_len: Any) -> dict[str, Any]:
        card: dict[str, Any] = {"id": model_id, "object": "model", "created": 1767000000}
        if self.flavor == "openai":
            card["owned_by"] = "me"
            return card
        if self.flavor == "llamacpp-old":
            card.update({"owned_by": "llamacpp", "meta": {"n_ctx_train": self.train_context}})
            return card
        card.update({"owned_by": self.flavor, "root": model_id})
        if self.flavor == "vllm":
            card["parent"] = None
        card["max_model_len"] = max_len
        if self.flavor == "vllm":
            card["permission"] = [
                {
                    "id": "modelperm-0123456789abcdef",
                    "object": "model_permission",
                    "created": 1767000000,
                    "allow_create_engine": False,
                    "allow_sampling": True,
                    "allow_logprobs": True,
                    "allow_search_indices": False,
                    "allow_view": True,
                    "allow_fine_tuning": False,
                    "organization": "*",
                    "group": None,
                    "is_blocking": False,
                }
            ]
        return card


def _handler(fake: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    open_paths = {"/health", "/version", "/metrics"}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "uvicorn"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake._record(Recorded(method, path, headers, body))
            authorized = headers.get("authorization") == f"Bearer {fake.api_key}"
            if fake.api_key and path not in open_paths and not authorized:
                self._send(401, UNAUTHORIZED)
                return
            if method == "GET" and path == "/v1/models":
                cards = [fake.model_card(i, n) for i, n in fake.models.items()]
                self._send(200, {"object": "list", "data": cards})
            elif method == "GET" and path == "/health":
                self._send(200, b"")
            elif method == "GET" and path == "/version" and fake.flavor == "vllm":
                self._send(200, {"version": "0.11.0"})
            elif method == "GET" and path == "/get_model_info" and fake.flavor == "sglang":
                first = next(iter(fake.models), "")
                self._send(
                    200, {"model_path": first, "tokenizer_path": first, "is_generation": True}
                )
            elif method == "GET" and path == "/props" and fake.flavor == "llamacpp-old":
                served = next(iter(fake.models.values()), None)
                settings = {"n_ctx": served, "params": {"temperature": 0.8}}
                self._send(200, {"default_generation_settings": settings, "total_slots": 1})
            elif method == "POST" and path == "/v1/chat/completions":
                self._chat(body if isinstance(body, dict) else {})
            else:
                self._send(404, {"detail": "Not Found"})

        def _chat(self, body: dict[str, Any]) -> None:
            model = body.get("model")
            if fake.flavor == "vllm" and model not in fake.models:
                message = f"The model `{model}` does not exist."
                error = {"message": message, "type": "NotFoundError", "param": None, "code": 404}
                self._send(404, {"error": error})
                return
            usage = {"prompt_tokens": 12, "total_tokens": 19, "completion_tokens": 7}
            if not body.get("stream"):
                message = {"role": "assistant", "content": fake.answer}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                self._send(200, {"id": "chatcmpl-1", "object": "chat.completion",
                                 "model": model, "choices": [choice], "usage": usage})  # fmt: skip
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            base = {"id": "chatcmpl-95f70ae00614b063", "object": "chat.completion.chunk",
                    "created": int(time.time()), "model": model}  # fmt: skip
            deltas = [({"role": "assistant", "content": ""}, None),
                      ({"content": fake.answer}, None), ({"content": ""}, "stop")]  # fmt: skip
            for delta, finish in deltas:
                choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                self._event({**base, "choices": [choice]})
            options = body.get("stream_options") or {}
            if options.get("include_usage"):
                self._event({**base, "choices": [], "usage": usage})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

        def _event(self, data: dict[str, Any]) -> None:
            self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
            self.wfile.flush()

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    return Handler
