"""Smoke tests: the llama-server fixtures are real and the tiny model follows its script.

Plain ``http.client`` on purpose: these tests prove the test infrastructure, not
the project's own client.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest

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

HELLO = [{"role": "user", "content": "Hi there"}]


def _post(
    server: LlamaServer, path: str, body: dict[str, Any], api_key: str | None = None
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("POST", path, body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _get(server: LlamaServer, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _chat(server: LlamaServer, **body: Any) -> dict[str, Any]:
    status, raw = _post(server, "/v1/chat/completions", {"messages": HELLO, **body})
    assert status == 200, raw
    return json.loads(raw)


def _stream_chat(server: LlamaServer, **body: Any) -> list[dict[str, Any]]:
    """Chunks of a streamed chat completion; asserts it ends with [DONE]."""
    status, raw = _post(server, "/v1/chat/completions", {"messages": HELLO, "stream": True, **body})
    assert status == 200, raw
    chunks: list[dict[str, Any]] = []
    done = False
    for line in raw.decode().splitlines():
        if not line.startswith("data: "):
            continue  # blank separators and ": keep-alive" comments
        payload = line.removeprefix("data: ")
        if payload == "[DONE]":
            done = True
            continue
        assert not done, "data after [DONE]"
        chunks.append(json.loads(payload))
    assert done, raw
    return chunks


def _weather_conversation() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "What is the weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": SCRIPTED_TOOL_NAME,
                        "arguments": json.dumps(SCRIPTED_TOOL_ARGS),
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"},
    ]


def test_health_and_models(llama_server: LlamaServer) -> None:
    status, raw = _get(llama_server, "/health")
    assert (status, json.loads(raw)) == (200, {"status": "ok"})
    status, raw = _get(llama_server, "/v1/models")
    assert status == 200
    assert [m["id"] for m in json.loads(raw)["data"]] == ["tiny"]


def test_thinking_chat_gives_scripted_reasoning_and_reply(llama_server: LlamaServer) -> None:
    body = _chat(llama_server)
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["reasoning_content"] == SCRIPTED_REASONING
    assert choice["message"]["content"] == SCRIPTED_REPLY
    assert body["usage"]["completion_tokens"] == SCRIPTED_COMPLETION_TOKENS["reasoning_and_reply"]
    timings = body["timings"]
    assert timings["predicted_n"] == body["usage"]["completion_tokens"]
    assert timings["prompt_n"] + timings["cache_n"] == body["usage"]["prompt_tokens"]
    assert {"prompt_ms", "predicted_ms", "predicted_per_second"} <= timings.keys()


@pytest.mark.parametrize(
    "switch",
    [{"reasoning_effort": "none"}, {"chat_template_kwargs": {"enable_thinking": False}}],
    ids=["reasoning_effort-none", "enable_thinking-false"],
)
def test_thinking_off_gives_reply_only(llama_server: LlamaServer, switch: dict[str, Any]) -> None:
    body = _chat(llama_server, **switch)
    message = body["choices"][0]["message"]
    assert message["content"] == SCRIPTED_REPLY
    assert "reasoning_content" not in message
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == SCRIPTED_COMPLETION_TOKENS["reply"]


def test_script_holds_at_high_temperature(llama_server: LlamaServer) -> None:
    body = _chat(llama_server, temperature=1.5, top_k=0, top_p=1.0, min_p=0.0)
    assert body["choices"][0]["message"]["content"] == SCRIPTED_REPLY
    assert body["choices"][0]["message"]["reasoning_content"] == SCRIPTED_REASONING


def test_get_weather_tool_is_called(llama_server: LlamaServer) -> None:
    body = _chat(llama_server, tools=[GET_WEATHER_TOOL], reasoning_effort="none")
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == SCRIPTED_TOOL_NAME
    assert json.loads(call["function"]["arguments"]) == SCRIPTED_TOOL_ARGS
    assert body["usage"]["completion_tokens"] == SCRIPTED_COMPLETION_TOKENS["tool_call"]


def test_tool_result_gets_the_reply(llama_server: LlamaServer) -> None:
    status, raw = _post(
        llama_server,
        "/v1/chat/completions",
        {"messages": _weather_conversation(), "tools": [GET_WEATHER_TOOL]},
    )
    assert status == 200, raw
    choice = json.loads(raw)["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == SCRIPTED_REPLY
    assert "tool_calls" not in choice["message"]


def test_max_tokens_cuts_with_length(llama_server: LlamaServer) -> None:
    body = _chat(llama_server, max_tokens=3)
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3


def test_stream_with_include_usage(llama_server: LlamaServer) -> None:
    chunks = _stream_chat(llama_server, stream_options={"include_usage": True})
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == SCRIPTED_REASONING
    assert "".join(d.get("content") or "" for d in deltas) == SCRIPTED_REPLY
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop"
    # OpenAI style: one extra last chunk without choices carries the usage.
    last = chunks[-1]
    assert last["choices"] == []
    assert last["usage"]["completion_tokens"] == SCRIPTED_COMPLETION_TOKENS["reasoning_and_reply"]
    assert "timings" in last
    assert all("usage" not in c for c in chunks[:-1])


def test_long_system_prompt_with_several_tools(llama_server_16k: LlamaServer) -> None:
    """Agent-sized requests: ~6000-char system prompt, five tools."""
    system = " ".join(
        f"Rule {i}: answer politely, keep it short and never invent facts." for i in range(95)
    )
    assert len(system) > 6000

    def tool(name: str) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": name,
                "description": f"The {name} tool. " * 10,
                "parameters": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}, "limit": {"type": "integer"}},
                    "required": ["path"],
                },
            },
        }

    others = [tool(n) for n in ("read_file", "write_file", "list_dir", "run_shell")]
    messages = [{"role": "system", "content": system}, *HELLO]

    with_weather = _chat(
        llama_server_16k, messages=messages, tools=[*others[:2], GET_WEATHER_TOOL, *others[2:]]
    )
    assert with_weather["usage"]["prompt_tokens"] > 7000
    choice = with_weather["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["reasoning_content"] == SCRIPTED_REASONING
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == SCRIPTED_TOOL_NAME
    assert json.loads(call["function"]["arguments"]) == SCRIPTED_TOOL_ARGS

    # Tools declared, but not get_weather: the model answers in plain text.
    without_weather = _chat(llama_server_16k, messages=messages, tools=others)
    choice = without_weather["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == SCRIPTED_REPLY

    # After the tool result, the reply again - even with the long prompt.
    after_result = _chat(
        llama_server_16k,
        messages=[{"role": "system", "content": system}, *_weather_conversation()],
        tools=[*others, GET_WEATHER_TOOL],
    )
    assert after_result["choices"][0]["message"]["content"] == SCRIPTED_REPLY


def test_api_key_is_enforced(llama_server_auth: LlamaServer) -> None:
    status, raw = _post(llama_server_auth, "/v1/chat/completions", {"messages": HELLO}, "sk-wrong")
    assert status == 401
    error = json.loads(raw)["error"]
    assert error["type"] == "authentication_error"
    assert error["code"] == 401

    status, raw = _post(
        llama_server_auth, "/v1/chat/completions", {"messages": HELLO}, LLAMA_API_KEY
    )
    assert status == 200, raw
    assert json.loads(raw)["choices"][0]["message"]["content"] == SCRIPTED_REPLY

    # /health stays open, so readiness checks work without the key.
    assert _get(llama_server_auth, "/health")[0] == 200
