"""Acceptance against a REAL llama-server configured as a provider in openclaw.json."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from openclaw.config.loader import load_config
from openclaw.errors import ContextOverflowError, ProviderAuthError
from openclaw.llm.openai_request import build_request_body
from openclaw.llm.types import (
    AssistantMessage,
    ChatOptions,
    Context,
    DoneEvent,
    ErrorEvent,
    Event,
    ModelSpec,
    TextContent,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)
from openclaw.providers.runtime import resolve_model_spec, stream_model
from tests.conftest_llama import LLAMA_API_KEY
from tests.fixtures.tiny_model import (
    GET_WEATHER_TOOL,
    SCRIPTED_COMPLETION_TOKENS,
    SCRIPTED_REASONING,
    SCRIPTED_REPLY,
    SCRIPTED_TOOL_ARGS,
    SCRIPTED_TOOL_NAME,
)
from tests.servers.llama_server import LlamaServer

pytestmark = pytest.mark.llama

WEATHER = ToolSpec(
    GET_WEATHER_TOOL["function"]["name"],
    GET_WEATHER_TOOL["function"]["description"],
    GET_WEATHER_TOOL["function"]["parameters"],
)


def _configure(home: Path, base_url: str, **provider: Any) -> None:
    model: dict[str, Any] = {"id": "tiny", "reasoning": True, "contextWindow": 4096}
    model.update(provider.pop("model", {}))
    cfg = {
        "models": {
            "providers": {
                "llama-cpp": {
                    "baseUrl": base_url,
                    "api": "openai-completions",
                    "models": [model],
                    **provider,
                }
            }
        },
        "agents": {"defaults": {"model": {"primary": "llama-cpp/tiny"}}},
    }
    path = home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cfg))


def _spec(home: Path, server: LlamaServer, **provider: Any) -> ModelSpec:
    _configure(home, server.base_url, **provider)
    return resolve_model_spec(load_config())


def _run(spec: ModelSpec, ctx: Context, opts: ChatOptions | None = None) -> list[Event]:
    async def go() -> list[Event]:
        return [e async for e in stream_model(spec, ctx, opts or ChatOptions())]

    return anyio.run(go)


def _done(events: list[Event]) -> DoneEvent:
    last = events[-1]
    assert isinstance(last, DoneEvent), getattr(last, "error", last)
    return last


def _raw_usage(server: LlamaServer, body: dict[str, Any]) -> dict[str, Any]:
    body = {**body, "stream": False}
    body.pop("stream_options", None)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request(
            "POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"}
        )
        resp = conn.getresponse()
        data = json.loads(resp.read())
    finally:
        conn.close()
    return data["usage"]


HELLO = Context(messages=[UserMessage("Hi there")])


def test_streams_thinking_then_text(isolated_home: Path, llama_server: LlamaServer) -> None:
    events = _run(_spec(isolated_home, llama_server), HELLO)
    types = [e.type for e in events]
    assert types[0] == "start"
    assert types.index("thinking_end") < types.index("text_start")
    done = _done(events)
    assert done.message.thinking == SCRIPTED_REASONING
    assert done.message.text == SCRIPTED_REPLY
    assert done.stop_reason == "stop"


def test_usage_equals_server_numbers(isolated_home: Path, llama_server: LlamaServer) -> None:
    spec = _spec(isolated_home, llama_server)
    assert spec.compat["supportsUsageInStreaming"] is True
    done = _done(_run(spec, HELLO))
    raw = _raw_usage(llama_server, build_request_body(spec, HELLO, ChatOptions()))
    u = done.usage
    assert u.source == "reported"
    assert u.input + u.cache_read == raw["prompt_tokens"]
    assert u.output == raw["completion_tokens"] == SCRIPTED_COMPLETION_TOKENS["reasoning_and_reply"]
    assert u.total == u.input + u.output + u.cache_read


def test_usage_from_timings_without_include_usage(
    isolated_home: Path, llama_server: LlamaServer
) -> None:
    spec = _spec(isolated_home, llama_server, model={"compat": {"supportsUsageInStreaming": False}})
    body = build_request_body(spec, HELLO, ChatOptions())
    assert "stream_options" not in body
    done = _done(_run(spec, HELLO))
    raw = _raw_usage(llama_server, body)
    u = done.usage
    assert u.source == "timings"
    assert u.input + u.cache_read == raw["prompt_tokens"]
    assert u.output == raw["completion_tokens"]


def test_thinking_off(isolated_home: Path, llama_server: LlamaServer) -> None:
    done = _done(_run(_spec(isolated_home, llama_server), HELLO, ChatOptions(thinking="off")))
    assert done.message.thinking == ""
    assert done.message.text == SCRIPTED_REPLY
    assert done.usage.output == SCRIPTED_COMPLETION_TOKENS["reply"]


def test_tool_call_round_trip(isolated_home: Path, llama_server: LlamaServer) -> None:
    spec = _spec(isolated_home, llama_server)
    ctx = Context(messages=[UserMessage("What is the weather in Paris?")], tools=[WEATHER])
    first = _done(_run(spec, ctx))
    assert first.stop_reason == "toolUse"
    (call,) = first.message.tool_calls
    assert (call.name, call.arguments) == (SCRIPTED_TOOL_NAME, SCRIPTED_TOOL_ARGS)
    ctx.messages.append(first.message)
    ctx.messages.append(
        ToolResultMessage(call.id, call.name, [TextContent("Sunny, 21 C")], is_error=False)
    )
    second = _done(_run(spec, ctx))
    assert second.stop_reason == "stop"
    assert second.message.text == SCRIPTED_REPLY
    assert not second.message.tool_calls


def test_max_tokens_gives_length(isolated_home: Path, llama_server: LlamaServer) -> None:
    done = _done(_run(_spec(isolated_home, llama_server), HELLO, ChatOptions(max_tokens=3)))
    assert done.stop_reason == "length"
    assert done.usage.output == 3


def test_context_overflow(isolated_home: Path, llama_server: LlamaServer) -> None:
    ctx = Context(messages=[UserMessage("hello there " * 4000)])
    events = _run(_spec(isolated_home, llama_server), ctx)
    last = events[-1]
    assert isinstance(last, ErrorEvent)
    assert isinstance(last.error, ContextOverflowError)
    assert last.error.available == 4096
    assert last.error.requested is not None and last.error.requested > 4096


def test_wrong_key_is_an_auth_error(isolated_home: Path, llama_server_auth: LlamaServer) -> None:
    wrong = "sk-definitely-wrong-key"
    events = _run(_spec(isolated_home, llama_server_auth, apiKey=wrong), HELLO)
    last = events[-1]
    assert isinstance(last, ErrorEvent)
    assert isinstance(last.error, ProviderAuthError)
    assert last.error.status == 401
    assert "llama-cpp" in last.error.message
    assert wrong not in last.error.message and wrong not in (last.error.hint or "")
    assert "models.providers.llama-cpp.apiKey" in (last.error.hint or "")


def test_right_key_works(isolated_home: Path, llama_server_auth: LlamaServer) -> None:
    spec = _spec(isolated_home, llama_server_auth, apiKey=LLAMA_API_KEY)
    done = _done(_run(spec, HELLO))
    assert done.message.text == SCRIPTED_REPLY


def test_history_with_thinking_replays_cleanly(
    isolated_home: Path, llama_server: LlamaServer
) -> None:
    spec = _spec(isolated_home, llama_server)
    first = _done(_run(spec, HELLO))
    ctx = Context(messages=[UserMessage("Hi there"), first.message, UserMessage("Again")])
    assert isinstance(ctx.messages[1], AssistantMessage)
    second = _done(_run(spec, ctx))
    assert second.message.text == SCRIPTED_REPLY
