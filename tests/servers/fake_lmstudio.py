"""A faithful fake LM Studio server for tests (real HTTP on 127.0.0.1, ephemeral port).

It speaks the three pieces of LM Studio openclaw talks to:

* native REST: ``GET /api/v1/models``, ``POST /api/v1/models/load``, ``POST /api/v1/models/unload``
* OpenAI-compatible: ``GET /v1/models``, ``POST /v1/chat/completions`` (SSE or JSON),
  ``POST /v1/embeddings``
* optional Bearer auth (401 ``{"error":{"message":"Invalid or missing API token", ...}}``)

Usage in tests::

    from tests.servers.fake_lmstudio import FakeLMStudio, Reply

    with FakeLMStudio() as lms:                 # or the ``fake_lmstudio`` pytest fixture
        lms.base_url                            # http://127.0.0.1:PORT/v1
        lms.server_url                          # http://127.0.0.1:PORT
        lms.script(Reply(text="hi", usage=False, timings=True))
        lms.requests                            # [RecordedRequest(method, path, headers, json)]

Standalone: ``python -m tests.servers.fake_lmstudio --port 1234 [--api-key K] [--no-jit]``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

UNAUTHORIZED_BODY = {
    "error": {
        "message": "Invalid or missing API token",
        "type": "invalid_request",
        "code": "invalid_api_key",
    }
}


def overflow_message(prompt_tokens: int, context: int) -> str:
    """LM Studio's context-overflow error text (as produced by its llama.cpp engine)."""
    return (
        f"Trying to keep the first {prompt_tokens} tokens when context the overflows. "
        f"However, the model is loaded with context length of only {context} tokens, which is "
        "not enough. Try to load the model with a larger context length, or provide a shorter "
        "input"
    )


def default_models() -> list[dict[str, Any]]:
    """The catalog of openclaw-observed.md §1 (wire shape of ``GET /api/v1/models``)."""
    return [
        {
            "type": "llm",
            "publisher": "qwen",
            "key": "qwen/qwen3.5-9b",
            "display_name": "Qwen3.5 9B",
            "architecture": "qwen35",
            "quantization": {"name": "Q4_K_M", "bits_per_weight": 4},
            "size_bytes": 6_100_000_000,
            "params_string": "9B",
            "loaded_instances": [
                {"id": "qwen/qwen3.5-9b", "config": {"context_length": 32768}},
            ],
            "max_context_length": 262144,
            "format": "gguf",
            "capabilities": {
                "vision": True,
                "trained_for_tool_use": True,
                "reasoning": {"allowed_options": ["off", "on"], "default": "on"},
            },
            "description": None,
            "variants": ["qwen/qwen3.5-9b@q4_k_m", "qwen/qwen3.5-9b@q8_0"],
            "selected_variant": "qwen/qwen3.5-9b@q4_k_m",
        },
        {
            "type": "llm",
            "publisher": "qwen",
            "key": "qwen/qwen3-coder-30b",
            "display_name": "Qwen3 Coder 30B",
            "architecture": "qwen3moe",
            "quantization": {"name": "4bit", "bits_per_weight": 4},
            "size_bytes": 17_000_000_000,
            "params_string": "30B-A3B",
            "loaded_instances": [],
            "max_context_length": 262144,
            "format": "mlx",
            "capabilities": {"vision": False, "trained_for_tool_use": True},
            "description": None,
        },
        {
            "type": "llm",
            "publisher": "google",
            "key": "google/gemma-3-1b",
            "display_name": "Gemma 3 1B",
            "architecture": "gemma3",
            "quantization": {"name": "Q4_K_M", "bits_per_weight": 4},
            "size_bytes": 720_000_000,
            "params_string": "1B",
            "loaded_instances": [
                {"id": "google/gemma-3-1b", "config": {"context_length": 4096}},
            ],
            "max_context_length": 32768,
            "format": "gguf",
            "capabilities": {"vision": False, "trained_for_tool_use": False},
            "description": None,
        },
        {
            "type": "embedding",
            "publisher": "nomic-ai",
            "key": "text-embedding-nomic-embed-text-v1.5",
            "display_name": "Nomic Embed Text v1.5",
            "quantization": {"name": "F16", "bits_per_weight": 16},
            "size_bytes": 274_290_560,
            "params_string": None,
            "loaded_instances": [],
            "max_context_length": 2048,
            "format": "gguf",
        },
    ]


@dataclass
class Reply:
    """One scripted answer of ``POST /v1/chat/completions``.

    ``usage``: True/False forces the OpenAI usage chunk on/off; None follows the request's
    ``stream_options.include_usage`` and the server's ``usage_enabled``. ``timings`` adds
    llama.cpp-style ``timings`` to the final chunk. ``chunk_delay`` sleeps before every chunk
    (slow streams for interrupt tests). ``status``/``body`` answer with an error instead.
    """

    text: str = "Hello from fake LM Studio."
    reasoning: str | None = None
    reasoning_field: str = "reasoning_content"
    tool_calls: list[dict[str, Any]] | None = None
    usage: bool | None = None
    timings: bool | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    chunk_delay: float = 0.0
    chunk_size: int = 8
    finish_reason: str | None = None
    status: int | None = None
    body: Any = None
    stream_error: dict[str, Any] | None = None  # sent as data: {"error": ...} mid-stream


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # lower-case names
    json: Any
    time: float

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class _Override:
    status: int
    body: Any
    times: int | None
    delay: float = 0.0


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up early (cancelled streams, capped reads) are normal here.
        pass


@dataclass
class FakeLMStudio:
    """Fake LM Studio. All public state changes are thread-safe."""

    models: list[dict[str, Any]] = field(default_factory=default_models)
    api_key: str | None = None
    jit: bool = True
    jit_context: int = 4096  # the context a JIT load gets (LM Studio's default load setting)
    usage_enabled: bool = True
    timings_enabled: bool = True
    load_delay: float = 0.0
    enforce_context: bool = True
    embedding_dim: int = 8
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._requests: list[RecordedRequest] = []
        self._replies: list[Reply] = []
        self._overrides: dict[str, list[_Override]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.models = copy.deepcopy(self.models)
        self.load_count = 0

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeLMStudio:
        handler = _make_handler(self)
        self._server = _QuietServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeLMStudio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def server_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.server_url}/v1"

    # ---- scripting -------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """Queue chat replies (used in order; when empty the default Reply() answers)."""
        with self._lock:
            self._replies.extend(replies)

    def override(
        self, path: str, status: int, body: Any = None, *, times: int | None = 1, delay: float = 0
    ) -> None:
        """Answer the next ``times`` requests to ``path`` (None = forever) with ``status``."""
        with self._lock:
            self._overrides.setdefault(path, []).append(_Override(status, body, times, delay))

    def clear_overrides(self) -> None:
        with self._lock:
            self._overrides.clear()

    def set_models(self, models: list[dict[str, Any]]) -> None:
        with self._lock:
            self.models = copy.deepcopy(models)

    def model(self, key: str) -> dict[str, Any]:
        with self._lock:
            for m in self.models:
                if m.get("key") == key:
                    return m
        raise KeyError(key)

    def unload(self, key_or_instance: str) -> None:
        """Unload every instance of a model key (or one instance id)."""
        with self._lock:
            for m in self.models:
                insts = m.get("loaded_instances") or []
                if m.get("key") == key_or_instance:
                    m["loaded_instances"] = []
                else:
                    m["loaded_instances"] = [i for i in insts if i.get("id") != key_or_instance]

    def load(self, key: str, context_length: int, instance_id: str | None = None) -> str:
        with self._lock:
            m = self.model(key)
            return self._add_instance(m, context_length, instance_id)

    def _add_instance(self, m: dict[str, Any], ctx: int, instance_id: str | None = None) -> str:
        insts = m.setdefault("loaded_instances", [])
        if instance_id is None:
            ids = {i.get("id") for i in insts}
            instance_id = m["key"]
            n = 2
            while instance_id in ids:
                instance_id = f"{m['key']}:{n}"
                n += 1
        insts.append({"id": instance_id, "config": {"context_length": ctx}})
        return instance_id

    # ---- request log -----------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.path == path)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(req)

    def _next_override(self, path: str) -> _Override | None:
        with self._lock:
            queue = self._overrides.get(path)
            if not queue:
                return None
            ov = queue[0]
            if ov.times is not None:
                ov.times -= 1
                if ov.times <= 0:
                    queue.pop(0)
            return ov

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._replies.pop(0) if self._replies else Reply()

    # ---- model resolution --------------------------------------------------------------------
    def _resolve(self, name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(model, instance) for a request's ``model`` value (instance id, key or variant)."""
        with self._lock:
            for m in self.models:
                for inst in m.get("loaded_instances") or []:
                    if inst.get("id") == name:
                        return m, inst
            for m in self.models:
                variants = [v for v in (m.get("variants") or []) if isinstance(v, str)]
                if m.get("key") == name or name in variants or m.get("selected_variant") == name:
                    insts = m.get("loaded_instances") or []
                    return m, (insts[0] if insts else None)
        return None, None


def _estimate_tokens(messages: Any) -> int:
    total = 0
    for msg in messages if isinstance(messages, list) else []:
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += len(part["text"])
        total += 16
    return max(1, math.ceil(total / 4))


def _vector(text: str, dim: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i % len(digest)] - 127.5) / 127.5 for i in range(dim)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [round(x / norm, 6) for x in raw]


def _make_handler(fake: FakeLMStudio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeLMStudio/0.4"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        # -- plumbing --
        def _read_json(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return None
            try:
                return json.loads(raw)
            except ValueError:
                return {"__invalid_json__": raw.decode("utf-8", "replace")}

        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            if isinstance(body, bytes):
                data = body
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:
                pass

        def _error(self, status: int, message: str, **extra: Any) -> None:
            self._send(status, {"error": {"message": message, **extra}})

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            body = self._read_json() if method == "POST" else None
            fake._record(
                RecordedRequest(
                    method=method,
                    path=path,
                    query=parts.query,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    json=body,
                    time=time.monotonic(),
                )
            )
            if fake.api_key is not None:
                auth = self.headers.get("Authorization") or ""
                if auth != f"Bearer {fake.api_key}":
                    self._send(401, UNAUTHORIZED_BODY)
                    return
            ov = fake._next_override(path)
            if ov is not None:
                if ov.delay:
                    time.sleep(ov.delay)
                body_out = ov.body if ov.body is not None else {"error": {"message": "override"}}
                ctype = "application/json" if not isinstance(ov.body, str) else "text/plain"
                self._send(ov.status, body_out, ctype)
                return
            route = ROUTES.get((method, path))
            if route is None:
                self._error(404, f"Unexpected endpoint or method. ({method} {path})")
                return
            route(self, body)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        # -- native REST --
        def api_models(self, _body: Any) -> None:
            with fake._lock:
                self._send(200, {"models": copy.deepcopy(fake.models)})

        def api_load(self, body: Any) -> None:
            if not isinstance(body, dict) or not isinstance(body.get("model"), str):
                self._error(400, "'model' is required")
                return
            m, _inst = fake._resolve(body["model"])
            if m is None:
                self._error(404, f"Model not found: {body['model']}", type="model_not_found")
                return
            ctx = body.get("context_length")
            if not isinstance(ctx, int) or ctx <= 0:
                ctx = fake.jit_context
            max_ctx = m.get("max_context_length")
            if isinstance(max_ctx, int) and ctx > max_ctx:
                self._error(400, f"context_length {ctx} exceeds the maximum of {max_ctx}")
                return
            if fake.load_delay:
                time.sleep(fake.load_delay)
            with fake._lock:
                fake.load_count += 1
                inst_id = fake._add_instance(m, ctx)
            self._send(
                200,
                {
                    "type": m.get("type", "llm"),
                    "instance_id": inst_id,
                    "load_time_seconds": round(fake.load_delay, 3),
                    "status": "loaded",
                },
            )

        def api_unload(self, body: Any) -> None:
            inst = body.get("instance_id") if isinstance(body, dict) else None
            if not isinstance(inst, str):
                self._error(400, "'instance_id' is required")
                return
            m, found = fake._resolve(inst)
            if m is None or found is None:
                self._error(404, f"No loaded model instance with id {inst}")
                return
            with fake._lock:
                m["loaded_instances"] = [
                    i for i in m.get("loaded_instances") or [] if i is not found
                ]
            self._send(200, {"instance_id": inst})

        # -- OpenAI-compatible --
        def v1_models(self, _body: Any) -> None:
            with fake._lock:
                ids = [
                    m["key"] for m in fake.models if fake.jit or (m.get("loaded_instances") or [])
                ]
            self._send(
                200,
                {
                    "data": [
                        {"id": i, "object": "model", "owned_by": "organization_owner"} for i in ids
                    ],
                    "object": "list",
                },
            )

        def _target(self, name: Any, kind: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
            if not isinstance(name, str) or not name:
                self._error(400, "'model' is required")
                return None
            m, inst = fake._resolve(name)
            if m is None:
                self._error(
                    404,
                    f'Model "{name}" not found. Please specify a valid model.',
                    type="invalid_request_error",
                    code="model_not_found",
                )
                return None
            if (kind == "embedding") != (m.get("type") == "embedding"):
                self._error(400, f'Model "{name}" is not an {kind} model.')
                return None
            if inst is None:
                if not fake.jit:
                    self._error(
                        404,
                        f'Model "{name}" is not loaded. Load it in LM Studio (lms load {name}) '
                        "or enable JIT loading.",
                        type="invalid_request_error",
                        code="model_not_loaded",
                    )
                    return None
                if fake.load_delay:
                    time.sleep(fake.load_delay)
                with fake._lock:
                    fake.load_count += 1
                    ctx = min(fake.jit_context, m.get("max_context_length") or fake.jit_context)
                    inst_id = fake._add_instance(m, ctx)
                m, inst = fake._resolve(inst_id)
                assert m is not None and inst is not None
            return m, inst

        def chat(self, body: Any) -> None:
            if not isinstance(body, dict) or "__invalid_json__" in body:
                self._error(400, "Invalid JSON body")
                return
            reply = fake._next_reply()
            if reply.status is not None:
                self._send(
                    reply.status,
                    reply.body
                    if reply.body is not None
                    else {"error": {"message": f"scripted status {reply.status}"}},
                )
                return
            target = self._target(body.get("model"), "llm")
            if target is None:
                return
            _m, inst = target
            prompt_tokens = reply.prompt_tokens or _estimate_tokens(body.get("messages"))
            ctx = (inst.get("config") or {}).get("context_length") or fake.jit_context
            if fake.enforce_context and prompt_tokens > ctx:
                self._send(400, {"error": overflow_message(prompt_tokens, ctx)})
                return
            text = reply.text if not reply.tool_calls else (reply.text or "")
            completion_tokens = reply.completion_tokens or max(1, math.ceil(len(text) / 4))
            finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
            model_id = inst["id"]
            cid = "chatcmpl-" + uuid.uuid4().hex[:20]
            created = int(time.time())
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            timings = {
                "prompt_n": prompt_tokens,
                "prompt_ms": 12.5,
                "predicted_n": completion_tokens,
                "predicted_ms": 40.0,
                "cache_n": 0,
            }
            if not body.get("stream"):
                message: dict[str, Any] = {"role": "assistant", "content": text}
                if reply.reasoning:
                    message[reply.reasoning_field] = reply.reasoning
                if reply.tool_calls:
                    message["tool_calls"] = [
                        self._tool_call_obj(i, tc) for i, tc in enumerate(reply.tool_calls)
                    ]
                out: dict[str, Any] = {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model_id,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage,
                }
                if reply.timings or (reply.timings is None and fake.timings_enabled):
                    out["timings"] = timings
                self._send(200, out)
                return
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            send_usage = (
                reply.usage if reply.usage is not None else (include_usage and fake.usage_enabled)
            )
            send_timings = reply.timings if reply.timings is not None else fake.timings_enabled

            def chunk(
                delta: dict[str, Any], finish_reason: str | None = None, **extra: Any
            ) -> dict[str, Any]:
                return {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model_id,
                    "system_fingerprint": model_id,
                    "choices": [
                        {
                            "index": 0,
                            "delta": delta,
                            "logprobs": None,
                            "finish_reason": finish_reason,
                        }
                    ],
                    **extra,
                }

            def events() -> Iterator[dict[str, Any] | str]:
                yield chunk({"role": "assistant", "content": ""})
                size = max(1, reply.chunk_size)
                if reply.reasoning:
                    for i in range(0, len(reply.reasoning), size):
                        yield chunk({reply.reasoning_field: reply.reasoning[i : i + size]})
                for i in range(0, len(text), size):
                    yield chunk({"content": text[i : i + size]})
                if reply.stream_error is not None:
                    yield {"error": reply.stream_error}
                    return
                for i, tc in enumerate(reply.tool_calls or []):
                    obj = self._tool_call_obj(i, tc)
                    args = obj["function"]["arguments"]
                    yield chunk(
                        {
                            "tool_calls": [
                                {
                                    "index": i,
                                    "id": obj["id"],
                                    "type": "function",
                                    "function": {"name": obj["function"]["name"], "arguments": ""},
                                }
                            ]
                        }
                    )
                    for j in range(0, len(args), size):
                        yield chunk(
                            {
                                "tool_calls": [
                                    {"index": i, "function": {"arguments": args[j : j + size]}}
                                ]
                            }
                        )
                extra = {"timings": timings} if send_timings else {}
                yield chunk({}, finish, **extra)
                if send_usage:
                    yield {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model_id,
                        "choices": [],
                        "usage": usage,
                    }
                yield "[DONE]"

            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for ev in events():
                    if reply.chunk_delay:
                        time.sleep(reply.chunk_delay)
                    data = ev if isinstance(ev, str) else json.dumps(ev)
                    self.wfile.write(f"data: {data}\n\n".encode())
                    self.wfile.flush()
            except OSError:
                return

        @staticmethod
        def _tool_call_obj(i: int, tc: dict[str, Any]) -> dict[str, Any]:
            args = tc.get("arguments", {})
            if not isinstance(args, str):
                args = json.dumps(args)
            return {
                "id": tc.get("id") or f"call_{i}_{uuid.uuid4().hex[:8]}",
                "type": "function",
                "function": {"name": tc["name"], "arguments": args},
            }

        def embeddings(self, body: Any) -> None:
            if not isinstance(body, dict):
                self._error(400, "Invalid JSON body")
                return
            target = self._target(body.get("model"), "embedding")
            if target is None:
                return
            _m, inst = target
            raw = body.get("input")
            inputs = [raw] if isinstance(raw, str) else raw
            if not isinstance(inputs, list) or not all(isinstance(x, str) for x in inputs):
                self._error(400, "'input' must be a string or a list of strings")
                return
            ctx = (inst.get("config") or {}).get("context_length") or 2048
            for text in inputs:
                n = max(1, math.ceil(len(text) / 4))
                if fake.enforce_context and n > ctx:
                    self._send(400, {"error": overflow_message(n, ctx)})
                    return
            tokens = sum(max(1, math.ceil(len(t) / 4)) for t in inputs)
            self._send(
                200,
                {
                    "object": "list",
                    "data": [
                        {
                            "object": "embedding",
                            "index": i,
                            "embedding": _vector(t, fake.embedding_dim),
                        }
                        for i, t in enumerate(inputs)
                    ],
                    "model": inst["id"],
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
            )

    ROUTES: dict[tuple[str, str], Callable[[Any, Any], None]] = {
        ("GET", "/api/v1/models"): Handler.api_models,
        ("POST", "/api/v1/models/load"): Handler.api_load,
        ("POST", "/api/v1/models/unload"): Handler.api_unload,
        ("GET", "/v1/models"): Handler.v1_models,
        ("POST", "/v1/chat/completions"): Handler.chat,
        ("POST", "/v1/embeddings"): Handler.embeddings,
    }
    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake LM Studio server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1234)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--no-jit", action="store_true")
    parser.add_argument("--no-usage", action="store_true", help="never send the usage chunk")
    parser.add_argument("--load-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    fake = FakeLMStudio(
        api_key=args.api_key,
        jit=not args.no_jit,
        usage_enabled=not args.no_usage,
        load_delay=args.load_delay,
        host=args.host,
        port=args.port,
    )
    fake.start()
    print(f"fake LM Studio on {fake.server_url} (inference base {fake.base_url})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
