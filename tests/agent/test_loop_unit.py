"""Turn-loop logic with a scripted in-test event stream (unit level only; the acceptance tests
in test_acceptance_*.py run against real servers)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from openclaw.agent.runner import AbortHandle, TurnOptions, run_turn
from openclaw.agent.sessions import SessionStore
from openclaw.agent.tools import Tool, ToolRegistry
from openclaw.config.loader import LoadedConfig, load_config
from openclaw.errors import ContextOverflowError, ModelRefError, UnreachableError
from openclaw.llm.types import (
    AssistantMessage,
    ChatOptions,
    Context,
    DoneEvent,
    ErrorEvent,
    Event,
    ModelSpec,
    StartEvent,
    TextContent,
    TextDeltaEvent,
    ToolResultMessage,
    Usage,
    UserMessage,
)

from .helpers import (
    ScriptedStream,
    error_events,
    make_spec,
    reply_events,
    tool_events,
    write_config,
)

SPECS = {
    "test/m1": make_spec("test/m1"),
    "test/m2": make_spec("test/m2"),
    "test/tiny": make_spec("test/tiny", context=2048, max_tokens=256),
    "test/notools": make_spec("test/notools", compat={"supportsTools": False}),
}


def resolver(cfg: LoadedConfig, ref: str | None, agent_id: str) -> ModelSpec:
    ref = ref or "test/m1"
    if ref not in SPECS:
        raise ModelRefError(f"Unknown model {ref}")
    return SPECS[ref]


@pytest.fixture
def cfg(isolated_home: Path) -> LoadedConfig:
    write_config(
        isolated_home,
        {"agents": {"defaults": {"model": {"primary": "test/m1", "fallbacks": ["test/m2"]}}}},
    )
    return load_config()


def weather_registry(calls: list[dict[str, Any]]) -> ToolRegistry:
    async def handler(args: dict[str, Any], ctx: Any) -> str:
        calls.append(args)
        return json.dumps({"city": args.get("city"), "forecast": "sunny", "tempC": 21})

    return ToolRegistry.of(
        [
            Tool(
                name="get_weather",
                description="Weather for a city",
                parameters={"type": "object", "properties": {"city": {"type": "string"}}},
                handler=handler,
            )
        ]
    )


def turn(cfg: LoadedConfig, stream: Any, **kw: Any) -> Any:
    registry = kw.pop("registry", None)
    abort = kw.pop("abort", None)
    opts = TurnOptions(message=kw.pop("message", "hi"), **kw)
    return anyio.run(
        lambda: run_turn(
            cfg, opts, registry=registry, stream_fn=stream, resolve_spec=resolver, abort=abort
        )
    )


def transcript_lines(cfg: LoadedConfig, sid: str) -> list[dict[str, Any]]:
    path = cfg.paths.sessions_dir() / f"{sid}.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_simple_turn_records_transcript_and_totals(cfg: LoadedConfig) -> None:
    stream = ScriptedStream(lambda spec, ctx, n: reply_events(spec, "Hello!"))
    res = turn(cfg, stream)
    assert res.text == "Hello!" and res.error is None and res.stop_reason == "stop"
    assert (res.provider, res.model) == ("test", "m1")
    assert res.usage_dict() == {
        "input": 10, "output": 5, "cacheRead": 0, "cacheWrite": 0, "total": 15, "source": "reported"
    }  # fmt: skip
    lines = transcript_lines(cfg, res.session_id)
    assert lines[0]["type"] == "session"
    assert [x["message"]["role"] for x in lines[1:]] == ["user", "assistant"]
    entry = SessionStore(cfg.paths.sessions_dir()).get("agent:main:main")
    assert entry and entry["totalTokens"] == 15 and entry["sessionId"] == res.session_id
    # the system prompt carries the workspace and tools
    ctx = stream.calls[0][1]
    assert ctx.system_prompt and str(cfg.paths.workspace_dir) in ctx.system_prompt
    assert [t.name for t in ctx.tools] == ["ls", "read", "web_fetch"]


def test_second_turn_sees_history(cfg: LoadedConfig) -> None:
    stream = ScriptedStream(lambda spec, ctx, n: reply_events(spec, f"answer {n}"))
    first = turn(cfg, stream, message="first question")
    second = turn(cfg, stream, message="second", session_id=first.session_id)
    assert second.session_id == first.session_id
    msgs = stream.calls[1][1].messages
    assert isinstance(msgs[0], UserMessage) and msgs[0].content == "first question"
    assert isinstance(msgs[1], AssistantMessage) and msgs[1].text == "answer 1"


def test_tool_round_trip(cfg: LoadedConfig) -> None:
    calls: list[dict[str, Any]] = []

    def script(spec: ModelSpec, ctx: Context, n: int) -> list[Event]:
        if n == 1:
            return tool_events(spec, "get_weather", {"city": "Paris"})
        result = ctx.messages[-1]
        assert isinstance(result, ToolResultMessage)
        return reply_events(spec, "It is sunny: " + result.content[0].text)  # type: ignore[union-attr]

    res = turn(cfg, ScriptedStream(script), registry=weather_registry(calls))
    assert calls == [{"city": "Paris"}]
    assert res.tool_calls == 1 and "sunny" in res.text
    assert res.usage.input == 30 and res.usage.output == 12  # summed over both calls
    roles = [x["message"]["role"] for x in transcript_lines(cfg, res.session_id)[1:]]
    assert roles == ["user", "assistant", "toolResult", "assistant"]


def test_tool_loop_stops_after_eight_rounds(cfg: LoadedConfig) -> None:
    stream = ScriptedStream(
        lambda spec, ctx, n: tool_events(spec, "get_weather", {"city": "X"}, f"c{n}")
    )
    res = turn(cfg, stream, registry=weather_registry([]))
    assert len(stream.calls) == 9 and res.tool_calls == 8
    assert any("8 tool rounds" in n for n in res.notices)


def test_fallback_on_unreachable_primary(cfg: LoadedConfig) -> None:
    def script(spec: ModelSpec, ctx: Context, n: int) -> list[Event]:
        if spec.model_id == "m1":
            return error_events(spec, UnreachableError("Cannot connect to 127.0.0.1:9"))
        return reply_events(spec, "from m2")

    res = turn(cfg, ScriptedStream(script))
    assert res.error is None and res.text == "from m2" and res.model == "m2"
    assert res.fell_back and res.attempts[0].ref == "test/m1"
    assert any("fallback model test/m2" in n for n in res.notices)
    roles = [x["message"]["role"] for x in transcript_lines(cfg, res.session_id)[1:]]
    assert roles == ["user", "assistant"]  # the failed attempt is not in the history


def test_explicit_model_never_falls_back(cfg: LoadedConfig) -> None:
    stream = ScriptedStream(lambda spec, ctx, n: error_events(spec, UnreachableError("down")))
    res = turn(cfg, stream, model="test/m1")
    assert isinstance(res.error, UnreachableError) and len(stream.calls) == 1
    assert res.error.hint and "never falls back" in res.error.hint


def test_context_errors_do_not_fall_back_but_trim_and_retry_once(cfg: LoadedConfig) -> None:
    ok = ScriptedStream(lambda spec, ctx, n: reply_events(spec, f"a{n}"))
    first = turn(cfg, ok, message="q1")
    turn(cfg, ok, message="q2", session_id=first.session_id)

    def script(spec: ModelSpec, ctx: Context, n: int) -> list[Event]:
        if n == 1:
            return error_events(spec, ContextOverflowError("too long"))
        return reply_events(spec, "fits now")

    stream = ScriptedStream(script)
    res = turn(cfg, stream, message="q3", session_id=first.session_id)
    assert res.text == "fits now" and res.model == "m1"
    assert len(stream.calls[1][1].messages) < len(stream.calls[0][1].messages)
    assert any("context overflow" in n for n in res.notices)


def test_message_larger_than_context_sends_and_writes_nothing(cfg: LoadedConfig) -> None:
    stream = ScriptedStream(lambda spec, ctx, n: reply_events(spec, "x"))
    res = turn(cfg, stream, model="test/tiny", message="word " * 5000)
    assert res.error is not None and "2,048-token context" in res.error.message
    assert stream.calls == [] and not res.sent
    assert not (cfg.paths.sessions_dir() / "sessions.json").exists()


def test_supports_tools_false_runs_without_tools(cfg: LoadedConfig) -> None:
    stream = ScriptedStream(lambda spec, ctx, n: reply_events(spec, "plain"))
    res = turn(cfg, stream, model="test/notools")
    assert stream.calls[0][1].tools == []
    assert res.tools_note and "supportsTools: false" in res.tools_note


def test_missing_usage_is_estimated(cfg: LoadedConfig) -> None:
    stream = ScriptedStream(lambda spec, ctx, n: reply_events(spec, "abcdefgh", Usage()))
    res = turn(cfg, stream)
    assert res.usage.source == "estimated" and res.usage.input > 0 and res.usage.output == 2


def test_abort_keeps_partial_answer(cfg: LoadedConfig) -> None:
    abort = AbortHandle()

    def slow(spec: ModelSpec, context: Context, options: ChatOptions) -> AsyncIterator[Event]:
        async def gen() -> AsyncIterator[Event]:
            yield StartEvent()
            yield TextDeltaEvent(0, "partial ")
            abort.abort()
            await anyio.sleep(10)
            yield TextDeltaEvent(0, "never")
            msg = AssistantMessage(content=[TextContent(text="x")])
            yield DoneEvent(msg, "stop", Usage())

        return gen()

    import time

    t0 = time.monotonic()
    res = turn(cfg, slow, abort=abort)
    assert time.monotonic() - t0 < 5
    assert res.aborted and res.error is None
    last = transcript_lines(cfg, res.session_id)[-1]["message"]
    assert last["stopReason"] == "aborted"
    assert last["content"] == [{"type": "text", "text": "partial "}]


def test_error_event_partial_is_kept(cfg: LoadedConfig) -> None:
    def script(spec: ModelSpec, ctx: Context, n: int) -> list[Event]:
        msg = AssistantMessage(content=[TextContent(text="half")], stop_reason="error")
        return [TextDeltaEvent(0, "half"), ErrorEvent(msg, "error", UnreachableError("reset"))]

    res = turn(cfg, ScriptedStream(script))
    # output had started streaming, so no fallback
    assert isinstance(res.error, UnreachableError) and res.model == "m1"


def test_api_key_never_reaches_the_transcript(cfg: LoadedConfig) -> None:
    from dataclasses import replace

    secret = "sk-live-ABCDEF123456"
    keyed = replace(SPECS["test/m1"], api_key=secret)

    def resolve_keyed(cfg: LoadedConfig, ref: str | None, agent_id: str) -> ModelSpec:
        return keyed

    stream = ScriptedStream(lambda spec, ctx, n: reply_events(spec, f"echo {secret}"))
    opts = TurnOptions(message=f"my key is {secret}")
    res = anyio.run(lambda: run_turn(cfg, opts, stream_fn=stream, resolve_spec=resolve_keyed))
    raw = (cfg.paths.sessions_dir() / f"{res.session_id}.jsonl").read_text()
    assert secret not in raw and "__OPENCLAW_REDACTED__" in raw


def test_turn_timeout_stops_the_stream(cfg: LoadedConfig) -> None:
    def slow(spec: ModelSpec, context: Context, options: ChatOptions) -> AsyncIterator[Event]:
        async def gen() -> AsyncIterator[Event]:
            yield TextDeltaEvent(0, "slow ")
            await anyio.sleep(10)
            yield DoneEvent(AssistantMessage(content=[]), "stop", Usage())

        return gen()

    res = turn(cfg, slow, timeout=0.3)
    assert res.error is not None and "longer than 0.3 s" in res.error.message
    assert res.stop_reason == "error" and not res.fell_back
    last = transcript_lines(cfg, res.session_id)[-1]["message"]
    assert last["stopReason"] == "error" and last["content"][0]["text"] == "slow "


def test_server_overflow_numbers_set_the_budget_for_the_retry(cfg: LoadedConfig) -> None:
    ok = ScriptedStream(lambda spec, ctx, n: reply_events(spec, "a" * 4000))
    first = turn(cfg, ok, message="q" * 4000)
    for i in range(6):
        turn(cfg, ok, message=f"{i}" * 4000, session_id=first.session_id)

    def script(spec: ModelSpec, ctx: Context, n: int) -> list[Event]:
        if n == 1:
            return error_events(spec, ContextOverflowError("x", requested=7500, available=4096))
        return reply_events(spec, "fits now")

    stream = ScriptedStream(script)
    res = turn(cfg, stream, message="latest", session_id=first.session_id)
    assert res.text == "fits now" and res.context_tokens == 4096
    from openclaw.agent.budget import estimate_prompt

    retry_ctx = stream.calls[1][1]
    assert estimate_prompt(retry_ctx.system_prompt, retry_ctx.messages, retry_ctx.tools) < 3072
    assert any("loaded context 4,096 tokens" in n for n in res.notices)


def test_a_turn_reads_its_transcript_once(
    cfg: LoadedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openclaw.agent.runner as runner_mod
    import openclaw.agent.transcript as transcript_mod

    stream = ScriptedStream(lambda spec, ctx, n: reply_events(spec, f"a{n}"))
    first = turn(cfg, stream, message="one")
    reads: list[Path] = []
    real = transcript_mod.read_transcript

    def counting(path: Path) -> Any:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(runner_mod, "read_transcript", counting)
    monkeypatch.setattr(transcript_mod, "read_transcript", counting)
    second = turn(cfg, stream, message="two", session_id=first.session_id)
    assert len(reads) == 1
    lines = transcript_lines(cfg, second.session_id)
    assert [x["message"]["role"] for x in lines[1:]] == ["user", "assistant"] * 2
    assert lines[3]["parentId"] == lines[2]["id"]  # the chain continues across turns


def test_secret_header_values_never_reach_the_transcript(cfg: LoadedConfig) -> None:
    from dataclasses import replace

    secret = "hdr-SECRET-value-42"
    keyed = replace(SPECS["test/m1"], headers={"X-Api-Key": secret, "X-Trace": "visible"})

    def resolve_keyed(cfg: LoadedConfig, ref: str | None, agent_id: str) -> ModelSpec:
        return keyed

    stream = ScriptedStream(lambda spec, ctx, n: reply_events(spec, f"echo {secret} visible"))
    opts = TurnOptions(message=f"header is {secret}")
    res = anyio.run(lambda: run_turn(cfg, opts, stream_fn=stream, resolve_spec=resolve_keyed))
    raw = (cfg.paths.sessions_dir() / f"{res.session_id}.jsonl").read_text()
    assert secret not in raw and "visible" in raw
    assert secret not in res.text


def test_an_unanswered_question_is_not_replayed(cfg: LoadedConfig) -> None:
    def script(spec: ModelSpec, ctx: Context, n: int) -> list[Event]:
        if n == 1:
            return error_events(spec, UnreachableError("down"))
        return reply_events(spec, f"a{n}")

    stream = ScriptedStream(script)
    first = turn(cfg, stream, model="test/m1", message="lost question")
    assert first.error is not None
    turn(cfg, stream, message="asked again", session_id=first.session_id)
    # two user messages in a row would break strict chat templates
    sent = stream.calls[1][1].messages
    assert [type(m).__name__ for m in sent] == ["UserMessage"]
    assert sent[0].content == "asked again"  # type: ignore[union-attr]
    # the transcript still has everything
    roles = [x["message"]["role"] for x in transcript_lines(cfg, first.session_id)[1:]]
    assert roles == ["user", "assistant", "user", "assistant"]
