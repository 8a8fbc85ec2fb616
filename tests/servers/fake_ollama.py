"""A faithful fake Ollama server for tests (real HTTP on 127.0.0.1, ephemeral port, threaded).

It speaks the native API openclaw uses (ollama.md §C, shapes from ``api/types.go``):

* ``GET /api/tags``, ``POST /api/show``, ``GET /api/ps``, ``GET /api/version``
* ``POST /api/chat``: NDJSON (``stream`` default true) or one JSON object; thinking in
  ``message.thinking``; tool calls in ``done:false`` lines with object arguments; a final
  ``done:true`` line with ``done_reason``, eval counts and durations in nanoseconds
* ``POST /api/embed``, ``POST /api/pull`` (NDJSON progress)
* unknown model: 404 ``{"error":"model 'x' not found"}``; optional Bearer auth (401)
* a cold load: response headers only after ``load_delay`` seconds for a model not loaded

Usage::

    with FakeOllama() as ollama:
        ollama.base_url                 # http://127.0.0.1:PORT (no /v1)
        ollama.script(Reply(text="hi", thinking="hmm"))
        ollama.requests                 # [RecordedRequest(method, path, headers, json)]
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


def not_found(model: str) -> dict[str, str]:
    return {"error": f"model '{model}' not found"}


def default_models() -> list[dict[str, Any]]:
    """Installed models: name, digest, size, details, and what ``/api/show`` reports."""
    return [
        {
            "name": "qwen3:8b",
            "digest": "500a1f067a9f782620b40bee6f7b0c89e17ae61f686b92c24933e4ca4b2b8b41",
            "size": 5_225_388_164,
            "details": {
                "family": "qwen3",
                "parameter_size": "8.2B",
                "quantization_level": "Q4_K_M",
            },
            "model_info": {
                "general.architecture": "qwen3",
                "qwen3.block_count": 36,
                "qwen3.context_length": 40960,
                "qwen3.embedding_length": 4096,
            },
            "capabilities": ["completion", "tools", "thinking"],
        },
        {
            "name": "llava:7b",
            "digest": "8dd30f6b0cb19f555f2c7a7ebda861449ea2cc76bf1f44e262931f45fc81d081",
            "size": 4_733_363_377,
            "details": {"family": "llama", "parameter_size": "7B", "quantization_level": "Q4_0"},
            "model_info": {"general.architecture": "llama", "llama.context_length": 4096},
            "capabilities": ["completion", "vision"],
        },
        {
            "name": "nomic-embed-text:latest",
            "digest": "0a109f422b47e3a30ba2b10eca18548e944e8a23073ee3f3e947efcf3c45e59f",
            "size": 274_302_450,
            "details": {"family": "nomic-bert", "parameter_size": "137M"},
            "model_info": {
                "general.architecture": "nomic-bert",
                "nomic-bert.context_length": 2048,
            },
            "capabilities": ["embedding"],
        },
    ]


@dataclass
class Reply:
    """One scripted ``/api/chat`` answer.

    ``tool_calls``: list of ``(name, arguments)``. ``split_call``: the first call is sent in a
    ``done:false`` line with part of its arguments and again (same ``function.index``) with the
    rest in the next line, as a build that streams a call in parts does."""

    text: str = "Hello from Ollama."
    thinking: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    split_call: bool = False
    done_reason: str = "stop"
    prompt_eval_count: int | None = 42
    eval_count: int | None = 7
    raw_lines: list[bytes] | None = None  # sent verbatim instead of the lines above
    status: int = 200
    error_body: dict[str, Any] | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any


class FakeOllama:
    def __init__(
        self,
        *,
        models: list[dict[str, Any]] | None = None,
        api_key: str | None = None,
        load_delay: float = 0.0,
        show_delay: float = 0.0,
        host: str = "127.0.0.1",
    ) -> None:
        self.models = models if models is not None else default_models()
        self.api_key = api_key
        self.load_delay = load_delay
        self.show_delay = show_delay
        self.shows_in_flight = 0
        self.max_shows_in_flight = 0
        self.loaded: dict[str, int] = {}  # model -> allocated context
        self.replies: list[Reply] = []
        self.requests: list[RecordedRequest] = []
        self.pullable: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self._server = _QuietServer((host, 0), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeOllama:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- scripting -------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        with self.lock:
            self.replies.extend(replies)

    def next_reply(self) -> Reply:
        with self.lock:
            return self.replies.pop(0) if self.replies else Reply()

    def find(self, name: str) -> dict[str, Any] | None:
        for model in self.models:
            if name in (model["name"], model["name"].removesuffix(":latest")):
                return model
        return None

    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/api/chat"]

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


# -- wire ---------------------------------------------------------------------------------------


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up early
            super().handle_error(request, client_address)


def _tag(model: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": model["name"],
        "model": model["name"],
        "modified_at": "2026-11-30T10:00:00.000000+00:00",
        "size": model["size"],
        "digest": model["digest"],
        "details": {"format": "gguf", **model["details"]},
    }


def chat_lines(reply: Reply, model: str) -> Iterator[dict[str, Any]]:
    """The NDJSON objects of one answer: thinking, then content, then tool calls, then done."""

    def line(message: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": model,
            "created_at": "2026-12-01T10:00:00Z",
            "message": {"role": "assistant", "content": "", **message},
            "done": False,
        }

    for i in range(0, len(reply.thinking), 5):
        yield line({"thinking": reply.thinking[i : i + 5]})
    for i in range(0, len(reply.text), 4):
        yield line({"content": reply.text[i : i + 4]})
    for index, (name, args) in enumerate(reply.tool_calls):
        if reply.split_call and index == 0 and len(args) > 1:
            keys = list(args)
            first = {k: args[k] for k in keys[:1]}
            rest = {k: args[k] for k in keys[1:]}
            part = {"function": {"index": 0, "name": name, "arguments": first}}
            yield line({"tool_calls": [part]})
            yield line({"tool_calls": [{"function": {"index": 0, "arguments": rest}}]})
            continue
        call = {
            "id": f"call_{index}",
            "function": {"index": index, "name": name, "arguments": args},
        }
        yield line({"tool_calls": [call]})
    final: dict[str, Any] = {
        "model": model,
        "created_at": "2026-12-01T10:00:01Z",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": reply.done_reason,
        "total_duration": 1_234_567_890,
        "load_duration": 12_345_678,
        "prompt_eval_duration": 100_000_000,
        "eval_duration": 900_000_000,
    }
    if reply.prompt_eval_count is not None:
        final["prompt_eval_count"] = reply.prompt_eval_count
    if reply.eval_count is not None:
        final["eval_count"] = reply.eval_count
    yield final


def _handler(fake: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        # -- plumbing ----------------------------------------------------------------------
        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode("utf-8", "replace")

        def _send_json(self, status: int, obj: Any) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _start_ndjson(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _end_chunks(self) -> None:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _record(self, body: Any) -> None:
            with fake.lock:
                fake.requests.append(
                    RecordedRequest(
                        self.command, urlsplit(self.path).path, dict(self.headers.items()), body
                    )
                )

        def _authorized(self) -> bool:
            if fake.api_key is None:
                return True
            if self.headers.get("Authorization") == f"Bearer {fake.api_key}":
                return True
            self._send_json(401, {"error": "unauthorized"})
            return False

        # -- routes ------------------------------------------------------------------------
        def do_GET(self) -> None:
            self._record(None)
            if not self._authorized():
                return
            path = urlsplit(self.path).path
            if path == "/api/tags":
                self._send_json(200, {"models": [_tag(m) for m in fake.models]})
            elif path == "/api/ps":
                running = []
                for name, ctx in fake.loaded.items():
                    model = fake.find(name) or {"size": 0, "digest": "", "details": {}}
                    running.append(
                        {
                            **_tag({**model, "name": name}),
                            "expires_at": "2026-12-01T10:05:00Z",
                            "size_vram": model["size"],
                            "context_length": ctx,
                        }
                    )
                self._send_json(200, {"models": running})
            elif path == "/api/version":
                self._send_json(200, {"version": "0.12.3"})
            elif path == "/":
                data = b"Ollama is running"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            else:
                self._send_json(404, {"error": "404 page not found"})

        def do_POST(self) -> None:
            body = self._body()
            self._record(body)
            if not self._authorized():
                return
            path = urlsplit(self.path).path
            route = {
                "/api/show": self._show,
                "/api/chat": self._chat,
                "/api/embed": self._embed,
                "/api/pull": self._pull,
            }.get(path)
            if route is None:
                self._send_json(404, {"error": "404 page not found"})
                return
            route(body if isinstance(body, dict) else {})

        def _show(self, body: dict[str, Any]) -> None:
            with fake.lock:
                fake.shows_in_flight += 1
                fake.max_shows_in_flight = max(fake.max_shows_in_flight, fake.shows_in_flight)
            try:
                time.sleep(fake.show_delay)
                self._show_reply(body)
            finally:
                with fake.lock:
                    fake.shows_in_flight -= 1

        def _show_reply(self, body: dict[str, Any]) -> None:
            name = str(body.get("model") or body.get("name") or "")
            model = fake.find(name)
            if model is None:
                self._send_json(404, not_found(name))
                return
            self._send_json(
                200,
                {
                    "modelfile": "# fake",
                    "parameters": 'stop "<|im_end|>"',
                    "template": "{{ .Prompt }}",
                    "details": model["details"],
                    "model_info": copy.deepcopy(model["model_info"]),
                    "capabilities": list(model["capabilities"]),
                    "modified_at": "2026-11-30T10:00:00Z",
                },
            )

        def _load(self, name: str, options: Any) -> None:
            ctx = options.get("num_ctx") if isinstance(options, dict) else None
            if name not in fake.loaded and fake.load_delay:
                time.sleep(fake.load_delay)  # headers only after the load, as Ollama does
            fake.loaded[name] = ctx if isinstance(ctx, int) else 4096

        def _chat(self, body: dict[str, Any]) -> None:
            name = str(body.get("model") or "")
            model = fake.find(name)
            if model is None:
                self._send_json(404, not_found(name))
                return
            reply = fake.next_reply()
            if reply.status != 200:
                self._send_json(reply.status, reply.error_body or {"error": "failed"})
                return
            self._load(model["name"], body.get("options"))
            lines = [json.dumps(o).encode() + b"\n" for o in chat_lines(reply, name)]
            if reply.raw_lines is not None:
                lines = reply.raw_lines
            if body.get("stream") is False:
                merged = _merge(lines)
                self._send_json(200, merged)
                return
            self._start_ndjson()
            for line in lines:
                self._chunk(line)
            self._end_chunks()

        def _embed(self, body: dict[str, Any]) -> None:
            name = str(body.get("model") or "")
            model = fake.find(name)
            if model is None:
                self._send_json(404, not_found(name))
                return
            if "embedding" not in model["capabilities"]:
                self._send_json(400, {"error": f'"{name}" does not support embeddings'})
                return
            raw = body.get("input")
            texts = [raw] if isinstance(raw, str) else list(raw or [])
            vectors = [[round(len(t) / 10, 4), 0.5, -0.25, float(i)] for i, t in enumerate(texts)]
            self._send_json(
                200,
                {
                    "model": name,
                    "embeddings": vectors,
                    "total_duration": 14_143_917,
                    "load_duration": 1_019_500,
                    "prompt_eval_count": sum(max(1, len(t) // 4) for t in texts),
                },
            )

        def _pull(self, body: dict[str, Any]) -> None:
            name = str(body.get("model") or body.get("name") or "")
            entry = fake.pullable.get(name)
            if entry is None:
                self._send_json(500, {"error": "pull model manifest: file does not exist"})
                return
            self._start_ndjson()
            total = entry["size"]
            steps = [{"status": "pulling manifest"}]
            for done in (0, total // 2, total):
                steps.append(
                    {
                        "status": f"pulling {entry['digest'][:12]}",
                        "digest": f"sha256:{entry['digest']}",
                        "total": total,
                        "completed": done,
                    }
                )
            steps += [{"status": "verifying sha256 digest"}, {"status": "success"}]
            for step in steps:
                self._chunk(json.dumps(step).encode() + b"\n")
            self._end_chunks()
            with fake.lock:
                fake.models.append(entry)

    return Handler


def _merge(lines: list[bytes]) -> dict[str, Any]:
    """A non-streamed answer: the stream's lines folded into one object."""
    merged: dict[str, Any] = {}
    content, thinking, calls = "", "", []
    for raw in lines:
        obj = json.loads(raw)
        msg = obj.get("message") or {}
        content += msg.get("content", "")
        thinking += msg.get("thinking", "")
        calls += msg.get("tool_calls", [])
        merged.update(obj)
    merged["message"] = {"role": "assistant", "content": content}
    if thinking:
        merged["message"]["thinking"] = thinking
    if calls:
        merged["message"]["tool_calls"] = calls
    return merged
