"""stream_chat over real loopback HTTP: replayed servers, failures, timeouts, cancellation."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest

from openclaw.errors import (
    ContextOverflowError,
    MalformedResponseError,
    ProviderAuthError,
    ProviderNotFoundError,
    ProviderRateLimitError,
    ProviderTransientError,
    RequestTimeoutError,
    ResponseTooLargeError,
    UnreachableError,
)
from openclaw.llm.openai_completions import stream_chat
from openclaw.llm.types import (
    ChatOptions,
    Context,
    DoneEvent,
    ErrorEvent,
    Event,
    ToolSpec,
    UserMessage,
)
from tests.servers.sse_replay import ReplayServer, Script

from .support import STREAMS, make_spec, normalise

KEY = "sk-secret-test-key-123456"
WEATHER = ToolSpec(
    "get_weather",
    "Get the weather",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def _ctx(tools: list[ToolSpec] | None = None) -> Context:
    return Context(system_prompt="Be brief.", messages=[UserMessage("Hi there")], tools=tools or [])


def _collect(spec: Any, ctx: Context | None = None, opts: ChatOptions | None = None) -> list[Event]:
    async def run() -> list[Event]:
        return [e async for e in stream_chat(spec, ctx or _ctx(), opts or ChatOptions())]

    return anyio.run(run)


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    obj = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


@pytest.fixture
def server():
    with ReplayServer() as srv:
        yield srv


def _error(events: list[Event]) -> ErrorEvent:
    last = events[-1]
    assert isinstance(last, ErrorEvent), last
    assert sum(isinstance(e, ErrorEvent | DoneEvent) for e in events) == 1
    return last


def test_streamed_request_and_events(server: ReplayServer) -> None:
    server.enqueue(Script.sse((STREAMS / "llamacpp-usage.sse").read_bytes(), pieces=13))
    spec = make_spec(server.base_url, api_key=KEY, headers={"X-Extra": "1"})
    events = _collect(spec, opts=ChatOptions(thinking="off", max_tokens=64))
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.message.text == "Hello! I am a tiny test model."
    assert done.usage.source == "reported"
    req = server.requests[0]
    assert req.path == "/v1/chat/completions"
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    assert req.headers["X-Extra"] == "1"
    body = req.json
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 64
    assert body["reasoning_effort"] == "none"
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_estimated_usage_measures_the_prompt_sent(server: ReplayServer) -> None:
    server.enqueue(Script.sse((STREAMS / "llama-cpp-python.sse").read_bytes(), pieces=7))
    done = _collect(make_spec(server.base_url))[-1]
    assert isinstance(done, DoneEvent)
    assert done.usage.source == "estimated"
    assert done.usage.input == 5  # "Be brief." + "Hi there": 17 characters, ~4 a token
    assert done.usage.output > 0


def test_no_auth_header_without_key(server: ReplayServer) -> None:
    server.enqueue(Script.sse((STREAMS / "llamacpp-usage.sse").read_bytes()))
    _collect(make_spec(server.base_url))
    assert "Authorization" not in server.requests[0].headers


def test_non_streaming_gives_the_same_events(server: ReplayServer) -> None:
    stream = (STREAMS / "llamacpp-usage.sse").read_bytes()
    whole = {
        "choices": [
            {
                "finish_reason": "stop",
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello! I am a tiny test model.",
                    "reasoning_content": "The user wants a reply. I will answer briefly.\n",
                },
            }
        ],
        "object": "chat.completion",
        "usage": {
            "completion_tokens": 11,
            "prompt_tokens": 27,
            "total_tokens": 38,
            "prompt_tokens_details": {"cached_tokens": 26},
        },
    }
    server.enqueue(Script.sse(stream), Script.json(200, whole))
    spec = make_spec(server.base_url)
    streamed = _collect(spec)
    plain = _collect(spec, opts=ChatOptions(streaming=False))
    assert server.requests[1].json["stream"] is False
    assert "stream_options" not in server.requests[1].json
    assert [e.type for e in plain] == [
        "start",
        "thinking_start",
        "thinking_delta",
        "thinking_end",
        "text_start",
        "text_delta",
        "text_end",
        "done",
    ]
    assert normalise(plain)[-1] == normalise(streamed)[-1]


def test_model_param_streaming_false(server: ReplayServer) -> None:
    server.enqueue(
        Script.json(
            200,
            {"choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}]},
        )
    )
    spec = make_spec(server.base_url, row={"params": {"streaming": False}})
    done = _collect(spec)[-1]
    assert isinstance(done, DoneEvent) and done.message.text == "ok"
    assert server.requests[0].json["stream"] is False


def test_cut_mid_stream_keeps_partial(server: ReplayServer) -> None:
    chunks = [_chunk({"content": "Hello"}), _chunk({"content": " world"}), _chunk({}, "stop")]
    server.enqueue(Script(chunks=chunks, cut_after=2))
    err = _error(_collect(make_spec(server.base_url)))
    assert isinstance(err.error, MalformedResponseError)
    assert "closed before the answer finished" in err.error.message
    assert err.message.text == "Hello world"
    assert err.message.stop_reason == "error"


def test_clean_eof_without_finish_is_an_error(server: ReplayServer) -> None:
    server.enqueue(Script(chunks=[_chunk({"content": "Hel"})]))
    err = _error(_collect(make_spec(server.base_url)))
    assert "ended before the model finished" in err.error.message
    assert err.message.text == "Hel"


def test_eof_after_finish_without_done_is_fine(server: ReplayServer) -> None:
    server.enqueue(Script(chunks=[_chunk({"content": "Hi"}), _chunk({}, "stop")]))
    done = _collect(make_spec(server.base_url))[-1]
    assert isinstance(done, DoneEvent) and done.message.text == "Hi"


def test_error_chunk_mid_stream(server: ReplayServer) -> None:
    err_chunk = b'data: {"error":{"code":500,"message":"slot crashed","type":"server_error"}}\n\n'
    server.enqueue(Script(chunks=[_chunk({"content": "Partial"}), err_chunk]))
    err = _error(_collect(make_spec(server.base_url)))
    assert "slot crashed" in err.error.message
    assert isinstance(err.error, ProviderTransientError) and err.error.status == 500
    assert err.message.text == "Partial"
    assert err.stop_reason == "error"


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        ({"code": 429, "message": "too many"}, ProviderRateLimitError),
        ({"code": 401, "message": "bad key"}, ProviderAuthError),
        ({"code": 400, "message": "bad request"}, MalformedResponseError),
        ("plain text error", MalformedResponseError),
    ],
)
def test_error_chunk_codes(server: ReplayServer, error: Any, cls: type) -> None:
    chunk = b"data: " + json.dumps({"error": error}).encode() + b"\n\n"
    server.enqueue(Script(chunks=[_chunk({"content": "Partial"}), chunk]))
    err = _error(_collect(make_spec(server.base_url)))
    assert type(err.error) is cls
    assert err.message.text == "Partial"


def test_in_stream_context_overflow_sglang(server: ReplayServer) -> None:
    msg = "The input (10009 tokens) is longer than the model's context length (8192 tokens)."
    body = json.dumps(
        {"error": {"object": "error", "message": msg, "type": "BadRequestError", "code": 400}}
    )
    server.enqueue(Script(chunks=[f"data: {body}\n\ndata: [DONE]\n\n".encode()]))
    err = _error(_collect(make_spec(server.base_url, provider_id="sglang")))
    assert isinstance(err.error, ContextOverflowError)
    assert (err.error.requested, err.error.available) == (10009, 8192)


def test_huge_tool_call_argument(server: ReplayServer) -> None:
    first = {"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "get_weather"}}]}
    piece = {"tool_calls": [{"index": 0, "function": {"arguments": "x" * 10_000}}]}
    chunks = [_chunk(first)] + [_chunk(piece)] * 30 + [_chunk({}, "tool_calls")]
    server.enqueue(Script(chunks=chunks))
    err = _error(_collect(make_spec(server.base_url), _ctx([WEATHER])))
    assert "argument buffer limit" in err.error.message
    assert err.message.tool_calls[0].name == "get_weather"


def test_twenty_megabyte_event(server: ReplayServer) -> None:
    def body():
        yield b'data: {"choices":[{"index":0,"delta":{"content":"'
        for _ in range(20):
            yield b"a" * (1024 * 1024)
        yield b'"}}]}\n\n'

    server.enqueue(Script(chunks=body))
    t0 = time.monotonic()
    err = _error(_collect(make_spec(server.base_url)))
    assert isinstance(err.error, MalformedResponseError)
    assert "exceeded 4 MB" in err.error.message
    assert time.monotonic() - t0 < 30  # a guard against a quadratic read path, not a figure


def test_twenty_megabyte_plain_body(server: ReplayServer) -> None:
    server.enqueue(
        Script(
            headers=[("Content-Type", "application/json")],
            chunks=lambda: (b" " * (1024 * 1024) for _ in range(20)),
        )
    )
    err = _error(_collect(make_spec(server.base_url), opts=ChatOptions(streaming=False)))
    assert isinstance(err.error, ResponseTooLargeError)


def test_malformed_json_event(server: ReplayServer) -> None:
    server.enqueue(Script(chunks=[_chunk({"content": "ok"}), b"data: {not json\n\n"]))
    err = _error(_collect(make_spec(server.base_url)))
    assert isinstance(err.error, MalformedResponseError)
    assert "not JSON" in err.error.message
    assert err.message.text == "ok"


def test_bare_json_line_is_not_sse(server: ReplayServer) -> None:
    server.enqueue(Script(chunks=[b'{"message":"Engine is not loaded yet"}\n\n']))
    err = _error(_collect(make_spec(server.base_url)))
    assert isinstance(err.error, MalformedResponseError)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            401,
            {"error": {"message": "Invalid API Key", "type": "authentication_error"}},
            ProviderAuthError,
        ),
        (403, {"detail": "Forbidden"}, ProviderAuthError),
        (404, {"error": {"message": "The model `x` does not exist."}}, ProviderNotFoundError),
        (429, {"error": "slow down"}, ProviderRateLimitError),
        (503, {"error": {"code": 503, "message": "Loading model"}}, ProviderTransientError),
        (408, {"detail": "timeout"}, ProviderTransientError),
    ],
)
def test_http_errors(server: ReplayServer, status: int, body: dict, cls: type) -> None:
    server.enqueue(Script.json(status, body))
    spec = make_spec(server.base_url, api_key=KEY, credential_source="env LLAMA_SERVER_API_KEY")
    err = _error(_collect(spec))
    assert type(err.error) is cls
    assert str(status) in err.error.message
    assert KEY not in err.error.message and KEY not in (err.error.hint or "")
    if status == 401:
        assert "env LLAMA_SERVER_API_KEY" in (err.error.hint or "")
        assert "llama-cpp" in err.error.message


def test_auth_error_without_key_says_none_was_sent(server: ReplayServer) -> None:
    server.enqueue(Script.text(401, "Invalid or missing authorization token"))
    err = _error(_collect(make_spec(server.base_url, provider_id="jan")))
    assert isinstance(err.error, ProviderAuthError)
    assert "none was sent" in err.error.message
    assert "Invalid or missing authorization token" in err.error.message


@pytest.mark.parametrize(
    ("body", "numbers"),
    [
        (
            {
                "error": {
                    "code": 400,
                    "message": "request (10019 tokens) exceeds the available context size "
                    "(4096 tokens), try increasing it",
                    "type": "exceed_context_size_error",
                    "n_prompt_tokens": 10019,
                    "n_ctx": 4096,
                }
            },
            (10019, 4096),
        ),
        (
            {
                "error": {
                    "message": "This model's maximum context length is 4096 tokens. However, you "
                    "requested 10019 tokens (10019 in the messages, None in the completion).",
                    "type": "invalid_request_error",
                    "code": "context_length_exceeded",
                }
            },
            (10019, 4096),
        ),
        (
            {
                "error": "Trying to keep the first 5200 tokens when context the overflows. "
                "However, the model is loaded with context length of only 4096 tokens, which "
                "is not enough. Try to load the model with a larger context length."
            },
            (5200, 4096),
        ),
    ],
)
def test_context_overflow_http(server: ReplayServer, body: dict, numbers: tuple) -> None:
    server.enqueue(Script.json(400, body))
    err = _error(_collect(make_spec(server.base_url)))
    assert isinstance(err.error, ContextOverflowError)
    assert (err.error.requested, err.error.available) == numbers
    assert str(numbers[0]) in err.error.message and str(numbers[1]) in err.error.message


def test_html_answer_means_missing_v1(server: ReplayServer) -> None:
    page = "<!DOCTYPE html><html><body>LM Studio</body></html>"
    server.enqueue(Script.text(200, page, "text/html"))
    err = _error(_collect(make_spec(server.origin)))
    assert "lacks /v1" in err.error.message


def test_html_page_split_oddly_still_means_missing_v1(server: ReplayServer) -> None:
    page = b"<!DOCTYPE html>\n<html><body>LM Studio</body></html>\n"
    # served as an event stream, its first read too short to recognise
    server.enqueue(Script(chunks=[page[:1], page[1:]], delay=0.05))
    err = _error(_collect(make_spec(server.origin)))
    assert "lacks /v1" in err.error.message


def test_model_writing_html_mid_stream_is_not_an_html_page(server: ReplayServer) -> None:
    head = b'data: {"choices":[{"index":0,"delta":{"content":"'
    server.enqueue(
        Script(
            chunks=[head, b'<html><body>hi</body></html>"}}]}\n\n', _chunk({}, "stop")],
            delay=0.05,
        )
    )
    done = _collect(make_spec(server.base_url))[-1]
    assert isinstance(done, DoneEvent), getattr(done, "error", None)
    assert done.message.text == "<html><body>hi</body></html>"


def test_huge_error_body_still_classified_by_status(server: ReplayServer) -> None:
    server.enqueue(
        Script(
            status=503,
            headers=[("Content-Type", "text/plain")],
            chunks=lambda: (b"overloaded " * 100_000 for _ in range(3)),
        )
    )
    err = _error(_collect(make_spec(server.base_url)))
    assert isinstance(err.error, ProviderTransientError)
    assert "HTTP 503" in err.error.message and "overloaded" in err.error.message


def test_stall_hits_the_read_timeout(server: ReplayServer) -> None:
    server.enqueue(
        Script(
            chunks=[_chunk({"content": "a"}), _chunk({}, "stop")], stall_after=1, stall_seconds=3
        )
    )
    t0 = time.monotonic()
    err = _error(_collect(make_spec(server.base_url, timeout=0.5)))
    assert isinstance(err.error, RequestTimeoutError)
    assert "while streaming" in err.error.message
    assert err.message.text == "a"
    assert time.monotonic() - t0 < 2.5


def test_unreachable_fails_fast() -> None:
    with ReplayServer() as srv:
        url = srv.base_url
    t0 = time.monotonic()
    err = _error(_collect(make_spec(url)))
    assert isinstance(err.error, UnreachableError)
    assert time.monotonic() - t0 < 3


def test_cancel_keeps_partial_and_reraises(server: ReplayServer) -> None:
    chunks = [_chunk({"content": "Partial"}), _chunk({}, "stop")]
    server.enqueue(Script(chunks=chunks, stall_after=1, stall_seconds=3))
    seen: list[Event] = []

    async def run() -> bool:
        with anyio.move_on_after(0.7) as scope:
            async for event in stream_chat(make_spec(server.base_url), _ctx(), ChatOptions()):
                seen.append(event)
        return scope.cancelled_caught

    assert anyio.run(run) is True
    err = seen[-1]
    assert isinstance(err, ErrorEvent)
    assert err.stop_reason == "aborted"
    assert err.message.stop_reason == "aborted"
    assert err.message.text == "Partial"


def test_text_tool_call_promotion_end_to_end(server: ReplayServer) -> None:
    text = '[get_weather]\n{"city": "Paris"}\n[END_TOOL_REQUEST]'
    chunks = [_chunk({"content": text[:5]}), _chunk({"content": text[5:]}), _chunk({}, "stop")]
    server.enqueue(Script(chunks=chunks))
    events = _collect(make_spec(server.base_url), _ctx([WEATHER]))
    assert [e.type for e in events] == [
        "start",
        "toolcall_start",
        "toolcall_delta",
        "toolcall_end",
        "done",
    ]
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.stop_reason == "toolUse"
    (call,) = done.message.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
