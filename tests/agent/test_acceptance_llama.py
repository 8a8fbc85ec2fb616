"""Acceptance against the real llama-server with the tiny scripted model.

A recording pass-through proxy sits between the agent and llama-server so the tests can compare
the agent's numbers with the bytes the server really sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from openclaw.agent.runner import TurnOptions, run_turn
from openclaw.agent.tools import Tool, ToolRegistry, default_registry
from openclaw.config.loader import load_config
from tests.conftest import run_cli
from tests.fixtures.tiny_model import (
    GET_WEATHER_TOOL,
    SCRIPTED_REPLY,
    SCRIPTED_TOOL_ARGS,
    SCRIPTED_TOOL_NAME,
)

from .helpers import write_config
from .recording_proxy import RecordingProxy, recording_proxy

pytestmark = pytest.mark.llama


@pytest.fixture
def proxy(llama_server_16k: Any) -> Iterator[RecordingProxy]:
    with recording_proxy(llama_server_16k.host, llama_server_16k.port) as p:
        yield p


@pytest.fixture
def llama_cfg(isolated_home: Path, proxy: RecordingProxy) -> Path:
    return write_config(
        isolated_home,
        {
            "models": {
                "providers": {
                    "llama-cpp": {
                        "baseUrl": proxy.base_url,
                        "api": "openai-completions",
                        "models": [
                            {
                                "id": "tiny",
                                "name": "tiny scripted",
                                "contextWindow": 16384,
                                "maxTokens": 256,
                                "reasoning": False,
                            }
                        ],
                    }
                }
            },
            "agents": {"defaults": {"model": {"primary": "llama-cpp/tiny"}}},
        },
    )


def test_one_shot_json_matches_server_usage(llama_cfg: Path, proxy: RecordingProxy) -> None:
    res = run_cli("agent", "-m", "hi", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["payloads"][0]["text"] == SCRIPTED_REPLY
    usage = out["meta"]["agentMeta"]["usage"]
    (chat,) = proxy.chats()
    wire = chat.usage()
    assert wire is not None, chat.response[-500:]
    cached = (wire.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    assert usage["input"] == wire["prompt_tokens"] - cached
    assert usage["cacheRead"] == cached
    assert usage["output"] == wire["completion_tokens"]
    assert usage["total"] == wire["prompt_tokens"] + wire["completion_tokens"]
    assert usage["source"] == "reported"
    assert out["meta"]["agentMeta"]["provider"] == "llama-cpp"


def test_second_turn_with_session_id_sees_the_first(llama_cfg: Path, proxy: RecordingProxy) -> None:
    first = run_cli("agent", "-m", "first message", "--json")
    assert first.returncode == 0, first.stderr
    sid = json.loads(first.stdout)["meta"]["agentMeta"]["sessionId"]
    second = run_cli("agent", "-m", "second message", "--json", "--session-id", sid)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["meta"]["agentMeta"]["sessionId"] == sid
    msgs = proxy.chats()[-1].request["messages"]
    roles_contents = [(m["role"], m.get("content")) for m in msgs]
    assert ("user", "first message") in roles_contents
    assert ("assistant", SCRIPTED_REPLY) in roles_contents
    assert roles_contents[-1] == ("user", "second message")


def test_tool_round_trip_with_injected_get_weather(llama_cfg: Path, proxy: RecordingProxy) -> None:
    seen: list[dict[str, Any]] = []

    async def get_weather(args: dict[str, Any], ctx: Any) -> str:
        seen.append(args)
        return json.dumps({"city": args.get("city"), "forecast": "sunny", "tempC": 21})

    fn = GET_WEATHER_TOOL["function"]
    registry = ToolRegistry.of(
        [Tool(fn["name"], fn["description"], fn["parameters"], get_weather, "weather for a city")]
    )
    cfg = load_config()
    result = anyio.run(
        lambda: run_turn(
            cfg, TurnOptions(message="What's the weather in Paris?"), registry=registry
        )
    )
    assert result.error is None, result.error
    assert seen == [SCRIPTED_TOOL_ARGS]
    assert result.tool_calls == 1
    assert result.text == SCRIPTED_REPLY
    chats = proxy.chats()
    assert len(chats) == 2
    second = chats[1].request["messages"]
    tool_msgs = [m for m in second if m["role"] == "tool"]
    assert len(tool_msgs) == 1 and "sunny" in tool_msgs[0]["content"]
    assistant_calls = [m for m in second if m["role"] == "assistant" and m.get("tool_calls")]
    assert assistant_calls[0]["tool_calls"][0]["function"]["name"] == SCRIPTED_TOOL_NAME
    # the transcript holds the full round trip
    lines = [json.loads(x) for x in result.transcript_path.read_text().splitlines()]  # type: ignore[union-attr]
    assert [x["message"]["role"] for x in lines[1:]] == [
        "user",
        "assistant",
        "toolResult",
        "assistant",
    ]


def test_default_tools_do_not_trigger_the_scripted_call(
    llama_cfg: Path, proxy: RecordingProxy
) -> None:
    cfg = load_config()
    result = anyio.run(
        lambda: run_turn(cfg, TurnOptions(message="hi"), registry=default_registry())
    )
    assert result.text == SCRIPTED_REPLY and result.tool_calls == 0
    sent_tools = [t["function"]["name"] for t in proxy.chats()[0].request["tools"]]
    assert sent_tools == ["ls", "read", "web_fetch"]
