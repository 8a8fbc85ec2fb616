"""Stream-wrapper items of lmstudio.md §10 H/I not covered elsewhere: variants, abort, tool
passthrough during back-off, per-call timeouts, payload changes on a routed instance, text
tool-call promotion (items 146, 151, 153, 164-166, 170-174)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import anyio
from tests.providers.lmstudio_helpers import Clock, inst, llm, make_spec
from tests.servers.fake_lmstudio import FakeLMStudio, Reply

from openclaw.llm.types import ChatOptions, Context, ToolSpec, UserMessage
from openclaw.providers.lmstudio import preload
from openclaw.providers.lmstudio.plugin import PLUGIN, load_timeout

SMALL = "qwen3.5-0.8b"


def collect(spec: Any, context: Context | None = None, options: ChatOptions | None = None) -> list:
    ctx = context or Context(messages=[UserMessage("hi")])

    async def main() -> list:
        return [ev async for ev in PLUGIN.stream(spec, ctx, options or ChatOptions())]

    return anyio.run(main)


def chats(fake: FakeLMStudio) -> list[dict]:
    return [r.json for r in fake.requests if r.path == "/v1/chat/completions"]


def small_model_spec(fake: FakeLMStudio, **kw: Any) -> Any:
    return make_spec(
        fake, SMALL, row={"id": SMALL, "contextTokens": 16384, "contextWindow": 262144}, **kw
    )


def test_variant_request_streams_with_canonical_key(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 146: a `…@q4_k_m` variant ref is checked, loaded and sent as the canonical key;
    the caller's options go through untouched."""
    canon = "gemma-4-e4b-it-ultra-uncensored-heretic"
    fake_lmstudio.set_models([llm(canon, variants=[canon + "@q4_k_m"])])
    spec = make_spec(fake_lmstudio, canon + "@q4_k_m", row={"id": canon + "@q4_k_m"})
    options = ChatOptions()
    events = collect(spec, options=options)
    assert events[-1].type == "done"
    assert options == ChatOptions()
    load = next(r for r in fake_lmstudio.requests if r.path == "/api/v1/models/load")
    assert load.json == {"model": canon, "context_length": 64000}
    assert [b["model"] for b in chats(fake_lmstudio)] == [canon]


def test_already_cancelled_call_sends_nothing(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 151: a call whose cancellation is already requested (the Python form of an
    aborted signal) never starts the preload and never reaches the chat endpoint."""
    spec = make_spec(fake_lmstudio, "qwen/qwen3-coder-30b", row={"id": "qwen/qwen3-coder-30b"})
    events: list = []

    async def main() -> bool:
        with anyio.CancelScope() as scope:
            scope.cancel()
            async for ev in PLUGIN.stream(
                spec, Context(messages=[UserMessage("hi")]), ChatOptions()
            ):
                events.append(ev)
        return scope.cancelled_caught

    assert anyio.run(main) is True
    assert not any(ev.type == "done" for ev in events)
    time.sleep(0.1)
    assert fake_lmstudio.requests == []


def test_tools_pass_through_while_preload_fails(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 153: the load fails ("out of memory"); two calls both stream, the load is tried
    once (back-off), and each chat request carries all 29 tool definitions."""
    preload.set_clock(Clock())
    fake_lmstudio.override("/api/v1/models/load", 500, {"error": "out of memory"})
    tools = [
        ToolSpec(f"tool_{i}", f"tool number {i}", {"type": "object", "properties": {}})
        for i in range(29)
    ]
    spec = make_spec(fake_lmstudio, "qwen/qwen3-coder-30b", row={"id": "qwen/qwen3-coder-30b"})
    for _ in range(2):
        events = collect(spec, Context(messages=[UserMessage("hi")], tools=tools))
        assert events[-1].type == "done"
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 1
    bodies = chats(fake_lmstudio)
    assert len(bodies) == 2
    for body in bodies:
        names = sorted(t["function"]["name"] for t in body["tools"])
        assert names == sorted(f"tool_{i}" for i in range(29))


def test_payload_change_keeps_instance_routing(fake_lmstudio: FakeLMStudio) -> None:
    """§10 items 168/170: with a big-enough instance, a call that adds its own request field
    (temperature 0.25; the Python form of a caller's payload hook) is still dispatched to the
    instance id, and the transcript keeps the model key."""
    fake_lmstudio.set_models(
        [
            llm(
                SMALL,
                max_ctx=262144,
                instances=[inst(SMALL, 4096), inst("openclaw-long-context", 16384)],
            )
        ]
    )
    events = collect(small_model_spec(fake_lmstudio), options=ChatOptions(temperature=0.25))
    assert events[-1].type == "done" and events[-1].message.model == SMALL
    body = chats(fake_lmstudio)[0]
    assert (body["model"], body["temperature"]) == ("openclaw-long-context", 0.25)
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 0


def test_per_call_timeout_beats_provider_timeout_for_the_load(fake_lmstudio: FakeLMStudio) -> None:
    """§10 items 171/172: provider timeoutSeconds 300 sets the load timeout; a shorter per-call
    limit (what `models status --probe` sets) wins: a slow load is abandoned after it and the
    chat request goes out (JIT) instead of waiting 300 s."""
    spec = make_spec(
        fake_lmstudio,
        "qwen/qwen3-coder-30b",
        row={"id": "qwen/qwen3-coder-30b"},
        provider={"timeoutSeconds": 300},
        timeout=300,
    )
    assert load_timeout(spec) == 300.0
    per_call = replace(spec, timeout_seconds=0.3)
    assert load_timeout(per_call) == 0.3
    fake_lmstudio.load_delay = 3.0
    started = time.monotonic()
    events = collect(per_call)
    assert time.monotonic() - started < 2.5
    assert events[-1].type in ("done", "error")  # the JIT chat meets the same slow server
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 1
    assert fake_lmstudio.count("POST", "/v1/chat/completions") == 1


def _assert_required_context_event(events: list) -> None:
    assert [e.type for e in events] == ["error"]
    err = events[0]
    assert err.stop_reason == "error" and err.message.model == SMALL
    assert f'LM Studio could not load "{SMALL}" with 16384 context tokens' in err.error.message
    assert "retry" in (err.error.hint or "")
    assert err.error.code == "model_load_failed"
    assert err.error.error_body == '{"requestedContextLength":16384}'


def test_load_timeout_gives_the_required_context_event_three_times(
    fake_lmstudio: FakeLMStudio,
) -> None:
    """§10 item 173: the load times out while the only instance is too small -> one error event;
    again on an immediate second call (cool-down) and on a third call 5.001 s later when the
    check itself fails; one load attempt in all, no chat request."""
    clock = Clock()
    preload.set_clock(clock)
    fake_lmstudio.set_models([llm(SMALL, max_ctx=262144, instances=[inst(SMALL, 4096)])])
    fake_lmstudio.load_delay = 2.0
    spec = replace(small_model_spec(fake_lmstudio), timeout_seconds=0.3)
    _assert_required_context_event(collect(spec))
    _assert_required_context_event(collect(spec))
    clock.advance(5.001)
    fake_lmstudio.override("/api/v1/models", 503, {"error": "busy"}, times=None)
    _assert_required_context_event(collect(spec))
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 1
    assert fake_lmstudio.count("POST", "/v1/chat/completions") == 0


def test_load_503_gives_the_required_context_event_three_times(
    fake_lmstudio: FakeLMStudio,
) -> None:
    """§10 item 174: same with a load answering HTTP 503 {"error": "load unavailable"}."""
    clock = Clock()
    preload.set_clock(clock)
    fake_lmstudio.set_models([llm(SMALL, max_ctx=262144, instances=[inst(SMALL, 4096)])])
    fake_lmstudio.override("/api/v1/models/load", 503, {"error": "load unavailable"})
    spec = small_model_spec(fake_lmstudio)
    _assert_required_context_event(collect(spec))
    _assert_required_context_event(collect(spec))
    clock.advance(5.001)
    fake_lmstudio.override("/api/v1/models", 503, {"error": "busy"}, times=None)
    _assert_required_context_event(collect(spec))
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 1
    assert fake_lmstudio.count("POST", "/v1/chat/completions") == 0


def test_caller_compat_is_extended_not_replaced(fake_lmstudio: FakeLMStudio) -> None:
    """§10 items 162/164: a model compat {supportsDeveloperRole: false} keeps its setting, gains
    streaming usage (the request asks for include_usage) and is not mutated; with
    params.preload false no native call is made."""
    compat = {"supportsDeveloperRole": False}
    spec = make_spec(
        fake_lmstudio,
        "qwen/qwen3.5-9b",
        row={"id": "qwen/qwen3.5-9b"},
        provider={"params": {"preload": False}},
        compat=compat,
    )
    ctx = Context(system_prompt="Be terse.", messages=[UserMessage("hi")])
    assert collect(spec, ctx)[-1].type == "done"
    assert compat == {"supportsDeveloperRole": False}
    assert fake_lmstudio.paths() == ["POST /v1/chat/completions"]
    body = chats(fake_lmstudio)[0]
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"][0]["role"] == "system"


def test_harmony_text_tool_call_is_promoted(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 165: Harmony-style `commentary to=read code {json}` text with a registered
    `read` tool becomes a `read` tool call with those arguments."""
    fake_lmstudio.script(
        Reply(text='commentary to=read code {"path":"/path/to/file","line_start":1,"line_end":400}')
    )
    tool = ToolSpec("read", "Read a file", {"type": "object", "properties": {}})
    spec = make_spec(
        fake_lmstudio, "qwen/qwen3.5-9b", row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768}
    )
    events = collect(spec, Context(messages=[UserMessage("read it")], tools=[tool]))
    types = [e.type for e in events]
    assert types[0] == "start" and "toolcall_start" in types and "toolcall_delta" in types
    assert "text_delta" not in types
    done = events[-1]
    assert done.type == "done" and done.stop_reason == "toolUse"
    call = done.message.tool_calls[0]
    assert call.name == "read"
    assert call.arguments == {"path": "/path/to/file", "line_start": 1, "line_end": 400}


def test_bracket_text_for_unregistered_tool_stays_text(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 166: bracket tool text naming a tool that is not registered passes through as
    text (start, text_start, text_delta…, text_end, done), unchanged."""
    text = '[mempalace_mempalace_search]\n{"query":"codename"}\n[/mempalace_mempalace_search]'
    fake_lmstudio.script(Reply(text=text))
    tool = ToolSpec("read", "Read a file", {"type": "object", "properties": {}})
    spec = make_spec(
        fake_lmstudio, "qwen/qwen3.5-9b", row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768}
    )
    events = collect(spec, Context(messages=[UserMessage("find")], tools=[tool]))
    types = [e.type for e in events]
    assert types[:2] == ["start", "text_start"] and types[-2:] == ["text_end", "done"]
    assert set(types[2:-2]) == {"text_delta"}
    assert "".join(e.delta for e in events if e.type == "text_delta") == text
    assert events[-1].stop_reason != "toolUse" and events[-1].message.text == text
