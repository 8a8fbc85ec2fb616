"""Recorded byte streams of every local server family give the right text, tools and usage."""

from __future__ import annotations

import json

import pytest

from openclaw.llm.openai_stream import parse_sse_bytes
from openclaw.llm.types import (
    DoneEvent,
    TextDeltaEvent,
    ThinkingDeltaEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
)

from .support import STREAMS, final, make_spec

REPLY = "Hello! I am a tiny test model."
REASONING = "The user wants a reply. I will answer briefly.\n"
PARIS = ("get_weather", {"city": "Paris"})

# file: (text, thinking or None = not checked, tool calls, stop, (input, output, cacheRead) or
#        None for estimates, usage source)
CASES = {
    "llamacpp-usage.sse": (REPLY, REASONING, [], "stop", (1, 11, 26), "reported"),
    "llamacpp-timings.sse": (REPLY, REASONING, [], "stop", (1, 11, 26), "timings"),
    "llamacpp-tools.sse": ("", None, [PARIS], "toolUse", (3, 8, 516), "reported"),
    "llamacpp-length.sse": ("", "The user wants a reply. I", [], "length", (1, 3, 26), "reported"),
    "llama-cpp-python.sse": (REPLY, REASONING, [], "stop", None, "estimated"),
    "llama-cpp-python-tools.sse": ("", REASONING, [PARIS], "toolUse", None, "estimated"),
    "vllm.sse": ("Hello! How can I help?", "The user says hi.", [], "stop", (8, 21, 4), "reported"),
    "vllm-tools.sse": ("", "", [PARIS], "toolUse", (180, 20, 0), "reported"),
    "sglang.sse": ("Hello!", "The user says hi.", [], "stop", (12, 21, 0), "reported"),
    "sglang-tools.sse": ("", "", [PARIS], "toolUse", (50, 20, 100), "reported"),
    "localai.sse": ("Hello!", "The user says hi.", [], "stop", (12, 21, 0), "reported"),
    "localai-old.sse": ("Hello there", "", [], "stop", (12, 5, 0), "reported"),
    "localai-tools.sse": (
        "",
        "",
        [PARIS, ("get_time", {"tz": "CET"})],
        "toolUse",
        (200, 30, 0),
        "reported",
    ),
    "jan.sse": ("Hello!", "The user greets me.", [], "stop", (27, 11, 0), "reported"),
    "tabbyapi.sse": ("Hello!", "The user says hi.", [], "stop", (25, 12, 0), "reported"),
    "tabbyapi-tools.sse": ("", "", [PARIS], "toolUse", (300, 15, 0), "reported"),
    "tgwebui.sse": ("Hello!", "The user says hi.", [], "stop", (14, 9, 0), "reported"),
    "tgwebui-tools.sse": ("", "", [PARIS], "toolUse", None, "estimated"),
    "ollama-v1.sse": ("Hello!", "The user says hi.", [], "stop", (12, 21, 0), "reported"),
    "ollama-v1-tools.sse": (
        "",
        "",
        [PARIS, ("get_weather", {"city": "Rome"})],
        "toolUse",
        None,
        "estimated",
    ),
}
TOOLS = frozenset({"get_weather", "get_time"})


def test_every_stream_file_has_a_case() -> None:
    files = {p.name for p in STREAMS.glob("*.sse")}
    assert set(CASES) <= files
    assert files - set(CASES) == {"llama-cpp-python-fc.sse"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_stream_file(name: str) -> None:
    text, thinking, calls, stop, counts, source = CASES[name]
    data = (STREAMS / name).read_bytes()
    events = parse_sse_bytes(make_spec(), [data], tool_names=TOOLS, input_chars=400)
    done = final(events)
    assert isinstance(done, DoneEvent), getattr(done, "error", None)
    msg = done.message
    assert msg.text == text
    if thinking is not None:
        assert msg.thinking == thinking
    assert [(c.name, c.arguments) for c in msg.tool_calls] == calls
    assert len({c.id for c in msg.tool_calls}) == len(calls)
    assert all(c.id for c in msg.tool_calls)
    assert done.stop_reason == stop == msg.stop_reason
    u = done.usage
    assert u.source == source
    if counts is not None:
        assert (u.input, u.output, u.cache_read) == counts
    else:
        assert u.input == 100  # 400 characters of prompt, about 4 a token
        assert u.output > 0
    assert u.total == u.input + u.output + u.cache_read + u.cache_write
    # the deltas add up to the final message
    assert "".join(e.delta for e in events if isinstance(e, TextDeltaEvent)) == text
    if thinking is not None:
        assert "".join(e.delta for e in events if isinstance(e, ThinkingDeltaEvent)) == thinking
    starts = [e for e in events if isinstance(e, ToolCallStartEvent)]
    ends = [e for e in events if isinstance(e, ToolCallEndEvent)]
    assert len(starts) == len(ends) == len(calls)


def test_native_ids_are_kept() -> None:
    events = parse_sse_bytes(make_spec(), [(STREAMS / "llamacpp-tools.sse").read_bytes()])
    assert final(events).message.tool_calls[0].id == "6btIo8o3S6ab9HB1wLefy4Amj0useB4R"


def test_promoted_call_gets_generated_id() -> None:
    data = (STREAMS / "llama-cpp-python-tools.sse").read_bytes()
    events = parse_sse_bytes(make_spec(), [data], tool_names=TOOLS)
    (call,) = final(events).message.tool_calls
    assert call.id.startswith("call_") and len(call.id) == 29
    # held-back text was never emitted as text
    assert not [e for e in events if isinstance(e, TextDeltaEvent)]


def test_without_registered_tools_hermes_text_passes_through() -> None:
    data = (STREAMS / "llama-cpp-python-tools.sse").read_bytes()
    done = final(parse_sse_bytes(make_spec(), [data]))
    assert done.stop_reason == "stop"
    assert done.message.text.startswith("<tool_call>")


def test_llama_cpp_python_function_calling_duplicates_are_not_doubled() -> None:
    data = (STREAMS / "llama-cpp-python-fc.sse").read_bytes()
    done = final(parse_sse_bytes(make_spec(), [data], tool_names=TOOLS))
    assert isinstance(done, DoneEvent)
    (call,) = done.message.tool_calls
    assert call.name == "get_weather"
    assert call.id == "call__0_get_weather_cmpl-aad49115-3087-45db-92a5-6fdead413b95"
    expected = ""
    for line in data.decode().splitlines():
        if line.startswith("data: {"):
            for tc in json.loads(line[6:])["choices"][0]["delta"].get("tool_calls") or []:
                expected += tc["function"]["arguments"]
    assert call.raw_arguments == expected
    assert done.stop_reason == "toolUse"
