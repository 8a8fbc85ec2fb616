"""StreamProcessor details: finish reasons, reasoning shapes, think tags, tool assembly,
text tool-call promotion, usage precedence."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openclaw.errors import ProviderError
from openclaw.llm.openai_stream import StreamProcessor, parse_sse_bytes
from openclaw.llm.text_toolcalls import could_be_tool_call, parse_text_tool_calls
from openclaw.llm.types import DoneEvent, ErrorEvent, TextDeltaEvent
from openclaw.llm.usage import estimated, finalize, from_openai_usage, from_timings

from .support import final, make_spec

NAMES = frozenset({"get_weather", "read"})


def _sse(*chunks: Any, done: bool = True) -> bytes:
    out = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return out + (b"data: [DONE]\n\n" if done else b"")


def _d(delta: dict[str, Any] | None = None, finish: str | None = None, **top: Any) -> dict:
    return {"choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}], **top}


def _run(data: bytes, tools: frozenset[str] = NAMES, **spec_kw: Any):
    return parse_sse_bytes(make_spec(**spec_kw), [data], tool_names=tools, input_chars=40)


@pytest.mark.parametrize(
    ("reason", "stop"),
    [("stop", "stop"), ("end", "stop"), ("length", "length"), ("function_call", "stop")],
)
def test_finish_reasons(reason: str, stop: str) -> None:
    done = final(_run(_sse(_d({"content": "x"}), _d(finish=reason))))
    assert isinstance(done, DoneEvent) and done.stop_reason == stop


@pytest.mark.parametrize("reason", ["content_filter", "network_error", "weird"])
def test_unknown_finish_reason_is_an_error(reason: str) -> None:
    err = final(_run(_sse(_d({"content": "x"}), _d(finish=reason))))
    assert isinstance(err, ErrorEvent)
    assert isinstance(err.error, ProviderError)
    assert err.error.message == f"Provider finish_reason: {reason}"
    assert err.message.text == "x"


def test_tool_calls_with_stop_finish_are_tool_use() -> None:
    call = {"index": 0, "id": "a", "function": {"name": "get_weather", "arguments": "{}"}}
    done = final(_run(_sse(_d({"tool_calls": [call]}), _d(finish="stop"))))
    assert done.stop_reason == "toolUse"


def test_reasoning_variants() -> None:
    details = [
        {"type": "reasoning.text", "text": "A"},
        {"type": "reasoning.encrypted", "data": "z"},
    ]
    done = final(
        _run(
            _sse(
                _d({"reasoning_details": details, "reasoning": "ignored"}),
                _d({"reasoning_text": "B"}),
                _d({"content": [{"type": "text", "text": "T1"}, {"type": "text", "text": "T2"}]}),
                _d(finish="stop"),
            )
        )
    )
    assert done.message.thinking == "AB"
    assert done.message.text == "T1T2"


def test_think_tags_split_across_deltas() -> None:
    pieces = ["<th", "ink>\n", "deep thought", "</thi", "nk>", "\n\n", "Answer."]
    done = final(_run(_sse(*[_d({"content": p}) for p in pieces], _d(finish="stop"))))
    assert done.message.thinking == "deep thought"
    assert done.message.text == "Answer."
    types = [c.type for c in done.message.content]
    assert types == ["thinking", "text"]


def test_think_tags_can_be_disabled_and_plain_text_untouched() -> None:
    data = _sse(_d({"content": "<think>x</think>y"}), _d(finish="stop"))
    assert (
        final(_run(data, compat={"thinkTagsInContent": False})).message.text == "<think>x</think>y"
    )
    plain = _sse(_d({"content": "a <think> b"}), _d(finish="stop"))
    assert final(_run(plain)).message.text == "a <think> b"


def test_only_choice_zero_is_read() -> None:
    chunk = {
        "choices": [
            {"index": 1, "delta": {"content": "other"}, "finish_reason": None},
            {"index": 0, "delta": {"content": "mine"}, "finish_reason": "stop"},
        ]
    }
    assert final(_run(_sse(chunk))).message.text == "mine"


def test_duplicate_and_missing_ids_are_made_unique() -> None:
    calls = [
        {"index": 0, "id": "same", "function": {"name": "read", "arguments": "{}"}},
        {"index": 1, "id": "same", "function": {"name": "read", "arguments": "{}"}},
        {"index": 2, "function": {"name": "read", "arguments": "{}"}},
    ]
    done = final(_run(_sse(_d({"tool_calls": calls}), _d(finish="tool_calls"))))
    ids = [c.id for c in done.message.tool_calls]
    assert len(set(ids)) == 3 and ids[0] == "same"


def test_invalid_arguments_keep_raw_text() -> None:
    call = {"index": 0, "id": "a", "function": {"name": "read", "arguments": '{"path": "/x'}}
    done = final(_run(_sse(_d({"tool_calls": [call]}), _d(finish="length"))))
    assert done.stop_reason == "length"
    (tc,) = done.message.tool_calls
    assert tc.arguments == {} and tc.raw_arguments == '{"path": "/x'


def test_arguments_as_object_are_accepted() -> None:
    call = {"index": 0, "id": "a", "function": {"name": "read", "arguments": {"path": "/x"}}}
    done = final(_run(_sse(_d({"tool_calls": [call]}), _d(finish="tool_calls"))))
    assert done.message.tool_calls[0].arguments == {"path": "/x"}


def test_text_that_stops_looking_like_a_call_is_released() -> None:
    events = _run(_sse(_d({"content": "["}), _d({"content": "1] is a list"}), _d(finish="stop")))
    deltas = [e.delta for e in events if isinstance(e, TextDeltaEvent)]
    assert deltas == ["[", "1] is a list"]
    assert final(events).stop_reason == "stop"


def test_text_is_not_held_without_tools() -> None:
    events = _run(_sse(_d({"content": "[get_weather]"}), done=False), tools=frozenset())
    assert any(isinstance(e, TextDeltaEvent) for e in events)


@pytest.mark.parametrize(
    "text",
    [
        '[get_weather]\n{"city": "Paris"}\n[/get_weather]',
        '  [get_weather]  \n{"city": "Paris"}\n[END_TOOL_REQUEST]\n',
        'commentary to=get_weather code {"city": "Paris"}',
        '<|tool_call>call:get_weather{"city": "Paris"}<tool_call|>',
        '<|tool_call>call:get_weather{city:<|"|>Paris<|"|>}<tool_call|>',
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    ],
)
def test_promotion_forms(text: str) -> None:
    assert parse_text_tool_calls(text, NAMES) == [("get_weather", {"city": "Paris"})]
    done = final(_run(_sse(_d({"content": text}), _d(finish="stop"))))
    assert done.stop_reason == "toolUse"
    assert done.message.tool_calls[0].id.startswith("call_")
    assert done.message.text == ""


def test_two_blocks_and_rejections() -> None:
    two = '[read]\n{"path": "/a"}\n[END_TOOL_REQUEST]\n[get_weather]\n{"city": "X"}\n[/get_weather]'
    assert parse_text_tool_calls(two, NAMES) == [
        ("read", {"path": "/a"}),
        ("get_weather", {"city": "X"}),
    ]
    for bad in (
        '[unknown]\n{"a": 1}\n[END_TOOL_REQUEST]',
        'Sure! [read]\n{"path": "/a"}\n[END_TOOL_REQUEST]',
        '[read]\n{"path": \n[END_TOOL_REQUEST]',
        '[read]\n["not", "object"]\n[END_TOOL_REQUEST]',
        '[read]\n{"path": "/a"}\n[END_TOOL_REQUEST] trailing',
        "",
    ):
        assert parse_text_tool_calls(bad, NAMES) is None, bad


def test_promotion_with_a_tool_calls_finish_but_no_native_call() -> None:
    text = '[read]\n{"path": "/a"}\n[END_TOOL_REQUEST]'
    done = final(_run(_sse(_d({"content": text}), _d(finish="tool_calls"))))
    assert done.stop_reason == "toolUse" and done.message.text == ""
    assert [(c.name, c.arguments) for c in done.message.tool_calls] == [("read", {"path": "/a"})]


def test_promotion_skipped_after_native_calls_or_length() -> None:
    text = '[read]\n{"path": "/a"}\n[END_TOOL_REQUEST]'
    done = final(_run(_sse(_d({"content": text}), _d(finish="length"))))
    assert done.stop_reason == "length" and done.message.text == text


def test_could_be_tool_call() -> None:
    assert could_be_tool_call("  ")
    assert could_be_tool_call("comment")
    assert could_be_tool_call("<|tool")
    assert not could_be_tool_call("Hello")
    assert not could_be_tool_call("[" + "x" * 256_001)
    # the [name] form: only while what follows "[" still fits "name]", a line break and "{"
    for maybe in ("[", "[get_w", "[get_weather] ", "[get_weather]\r", '\n[read]\n {"pa'):
        assert could_be_tool_call(maybe), maybe
    for plain in ("[]", "[docs](http://x)", "[1] is", "[get weather]", "[read]x", "[read]\nSo"):
        assert not could_be_tool_call(plain), plain


def test_text_starting_with_a_bracket_streams_at_once() -> None:
    proc = StreamProcessor(make_spec(), tool_names=NAMES)
    proc.drain()
    proc.feed_chunk(_d({"content": "[do"}))
    assert proc.drain() == []  # might still be "[name]"
    proc.feed_chunk(_d({"content": "cs](http://x) say"}))
    assert [e.delta for e in proc.drain() if isinstance(e, TextDeltaEvent)] == [
        "[do",
        "cs](http://x) say",
    ]


def test_usage_precedence_and_shapes() -> None:
    reported = from_openai_usage(
        {
            "prompt_tokens": 27,
            "completion_tokens": 11,
            "prompt_tokens_details": {"cached_tokens": 26},
        }
    )
    assert reported is not None
    assert (reported.input, reported.output, reported.cache_read) == (1, 11, 26)
    alt = from_openai_usage({"input_tokens": 10, "output_tokens": 3})
    assert alt is not None and (alt.input, alt.output) == (10, 3)
    anthropic = from_openai_usage(
        {"input_tokens": 1, "output_tokens": 3, "cache_read_input_tokens": 26}
    )
    assert anthropic is not None and (anthropic.input, anthropic.cache_read) == (1, 26)
    assert from_openai_usage({"prompt_tokens": 0, "completion_tokens": 0}) is None
    assert from_openai_usage({"foo": 1}) is None
    t = from_timings({"prompt_n": 5, "predicted_n": -3, "cache_n": "x"})
    assert t is not None and (t.input, t.output, t.cache_read, t.source) == (5, 0, 0, "timings")
    assert estimated(9, 0).input == 3
    cost = finalize(reported, {"input": 1.0, "output": 2.0, "cacheRead": 0.5})
    assert cost.total == 38
    assert cost.cost == pytest.approx((1 * 1 + 11 * 2 + 26 * 0.5) / 1e6)


def test_reported_usage_beats_timings_in_a_stream() -> None:
    data = _sse(
        _d({"content": "x"}, "stop", timings={"prompt_n": 99, "predicted_n": 99}),
        {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
    )
    u = final(_run(data)).usage
    assert (u.input, u.output, u.source) == (5, 2, "reported")


def test_usage_inside_the_choice() -> None:
    chunk = {
        "choices": [
            {
                "index": 0,
                "delta": {"content": "x"},
                "finish_reason": "stop",
                "usage": {"prompt_tokens": 4, "completion_tokens": 1},
            }
        ]
    }
    assert final(_run(_sse(chunk))).usage.input == 4


def test_estimated_when_nothing_reported() -> None:
    u = final(_run(_sse(_d({"content": "12345678"}), _d(finish="stop")))).usage
    assert (u.input, u.output, u.source) == (10, 2, "estimated")
