"""The LM Studio stream wrapper end to end against the fake server (lmstudio.md §6;
§10 items 150, 156-160, 163, 168, 169, 173; issue #5 items 4-5)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from tests.providers.lmstudio_helpers import Clock, inst, llm, make_spec
from tests.servers.fake_lmstudio import FakeLMStudio, Reply

from openclaw.config.settings import ModelSettings
from openclaw.llm.types import ChatOptions, Context, ToolSpec, UserMessage
from openclaw.providers.lmstudio import preload
from openclaw.providers.lmstudio.plugin import PLUGIN, adjust_compat, requested_context


def collect(spec, context=None, options=None) -> list[Any]:
    ctx = context or Context(system_prompt="You are terse.", messages=[UserMessage("hi")])

    async def main() -> list[Any]:
        return [ev async for ev in PLUGIN.stream(spec, ctx, options or ChatOptions())]

    return anyio.run(main)


def chats(fake: FakeLMStudio) -> list[dict]:
    return [r.json for r in fake.requests if r.path == "/v1/chat/completions"]


def test_compat_adjustments() -> None:
    """§10 items 156-158 (§6.4): usage on, pattern appended once, caller's dict untouched."""
    assert adjust_compat(None) == {
        "supportsUsageInStreaming": True,
        "unsupportedToolSchemaKeywords": ["pattern"],
    }
    original = {
        "supportsDeveloperRole": False,
        "unsupportedToolSchemaKeywords": ["format", "pattern", "minimum", "pattern"],
    }
    assert adjust_compat(original) == {
        "supportsDeveloperRole": False,
        "supportsUsageInStreaming": True,
        "unsupportedToolSchemaKeywords": ["format", "pattern", "minimum"],
    }
    assert original["unsupportedToolSchemaKeywords"] == ["format", "pattern", "minimum", "pattern"]
    assert adjust_compat({"unsupportedToolSchemaKeywords": ["format"]})[
        "unsupportedToolSchemaKeywords"
    ] == ["format", "pattern"]


def _requested(row: dict, provider: dict) -> int | None:
    return requested_context(ModelSettings.read({"id": "m", **row}, provider))


def test_requested_context_rules() -> None:
    """§10 items 145, 147, 148 and §8.4."""
    assert _requested({"contextWindow": 131072}, {}) == 131072
    assert _requested({"contextTokens": 64000, "contextWindow": 131072}, {}) == 64000
    assert _requested({"contextTokens": 64000.5, "contextWindow": float("inf")}, {}) is None
    assert _requested({"contextWindow": 8192}, {"contextTokens": 4096}) == 4096
    assert _requested({}, {"contextWindow": 16384}) == 16384


def test_loaded_model_streams_after_one_check(fake_lmstudio: FakeLMStudio) -> None:
    """observed §5: a loaded model with enough context is never loaded again; the body asks
    for streaming usage and the transcript model id stays the configured key."""
    spec = make_spec(
        fake_lmstudio, "qwen/qwen3.5-9b", row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768}
    )
    events = collect(spec)
    assert events[0].type == "start" and events[-1].type == "done"
    assert events[-1].message.text == "Hello from fake LM Studio."
    assert events[-1].message.model == "qwen/qwen3.5-9b"
    assert fake_lmstudio.paths() == ["GET /api/v1/models", "POST /v1/chat/completions"]
    body = chats(fake_lmstudio)[0]
    assert body["stream_options"] == {"include_usage": True}
    assert body["model"] == "qwen/qwen3.5-9b"


def test_instance_routing_keeps_model_id(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 168: a big-enough instance is addressed by its id; model id unchanged."""
    fake_lmstudio.set_models(
        [
            llm(
                "qwen3.5-0.8b",
                max_ctx=262144,
                instances=[inst("qwen3.5-0.8b", 4096), inst("openclaw-long-context", 16384)],
            )
        ]
    )
    spec = make_spec(
        fake_lmstudio,
        "qwen3.5-0.8b",
        row={"id": "qwen3.5-0.8b", "contextTokens": 16384, "contextWindow": 262144},
    )
    events = collect(spec)
    assert events[-1].type == "done"
    assert events[-1].message.model == "qwen3.5-0.8b"
    assert chats(fake_lmstudio)[0]["model"] == "openclaw-long-context"
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 0


def test_too_small_instance_is_reloaded_at_requested_context(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 169 / issue acceptance: loaded at 4096, needs 16384 -> one load with
    context_length 16384, chat routed to the returned instance id."""
    fake_lmstudio.set_models(
        [llm("qwen3.5-0.8b", max_ctx=262144, instances=[inst("qwen3.5-0.8b", 4096)])]
    )
    spec = make_spec(
        fake_lmstudio,
        "qwen3.5-0.8b",
        row={"id": "qwen3.5-0.8b", "contextTokens": 16384, "contextWindow": 262144},
    )
    events = collect(spec)
    assert events[-1].type == "done"
    load = next(r for r in fake_lmstudio.requests if r.path == "/api/v1/models/load")
    assert load.json == {"model": "qwen3.5-0.8b", "context_length": 16384}
    assert chats(fake_lmstudio)[0]["model"] == "qwen3.5-0.8b:2"
    assert events[-1].message.model == "qwen3.5-0.8b"


def test_unloaded_model_loads_at_64000_like_the_reference(fake_lmstudio: FakeLMStudio) -> None:
    """observed d3: the unloaded coder model is loaded with context_length 64000."""
    spec = make_spec(
        fake_lmstudio,
        "qwen/qwen3-coder-30b",
        row={"id": "qwen/qwen3-coder-30b", "contextWindow": 262144, "contextTokens": 64000},
    )
    assert collect(spec)[-1].type == "done"
    assert fake_lmstudio.paths() == [
        "GET /api/v1/models",
        "POST /api/v1/models/load",
        "POST /v1/chat/completions",
    ]
    assert fake_lmstudio.requests[1].json == {
        "model": "qwen/qwen3-coder-30b",
        "context_length": 64000,
    }


def test_two_concurrent_chats_one_load(fake_lmstudio: FakeLMStudio) -> None:
    """Issue acceptance / §10 item 150: two concurrent chats for an unloaded model -> exactly
    one load call, both stream."""
    fake_lmstudio.load_delay = 0.3
    spec = make_spec(fake_lmstudio, "qwen/qwen3-coder-30b", row={"id": "qwen/qwen3-coder-30b"})
    ctx = Context(messages=[UserMessage("hi")])
    done: list[str] = []

    async def one() -> None:
        async for ev in PLUGIN.stream(spec, ctx, ChatOptions()):
            if ev.type == "done":
                done.append(ev.message.text)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
            tg.start_soon(one)

    anyio.run(main)
    assert len(done) == 2
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 1
    assert fake_lmstudio.count("POST", "/v1/chat/completions") == 2


def test_five_turns_one_check(fake_lmstudio: FakeLMStudio) -> None:
    """Issue acceptance: a 5-turn conversation within 30 s -> 5 chats and 1 model check."""
    clock = Clock()
    preload.set_clock(clock)
    spec = make_spec(
        fake_lmstudio, "qwen/qwen3.5-9b", row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768}
    )
    messages: list[Any] = []
    for turn in range(5):
        messages.append(UserMessage(f"turn {turn}"))
        events = collect(spec, Context(messages=list(messages)))
        assert events[-1].type == "done"
        messages.append(events[-1].message)
        clock.advance(5)
    assert fake_lmstudio.count("POST", "/v1/chat/completions") == 5
    assert fake_lmstudio.count("GET", "/api/v1/models") == 1


def test_unloaded_mid_conversation_is_loaded_and_retried(fake_lmstudio: FakeLMStudio) -> None:
    """Issue acceptance: after the server unloads the model mid-conversation (JIT off), the next
    turn gets "not loaded", checks, loads and succeeds - no error reaches the caller."""
    fake_lmstudio.jit = False
    spec = make_spec(
        fake_lmstudio, "qwen/qwen3.5-9b", row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768}
    )
    assert collect(spec)[-1].type == "done"
    fake_lmstudio.unload("qwen/qwen3.5-9b")
    fake_lmstudio.clear_requests()
    events = collect(spec)
    assert [e.type for e in events].count("start") == 1
    assert events[-1].type == "done", events[-1]
    assert fake_lmstudio.paths() == [
        "POST /v1/chat/completions",
        "GET /api/v1/models",
        "POST /api/v1/models/load",
        "POST /v1/chat/completions",
    ]
    assert fake_lmstudio.requests[2].json == {"model": "qwen/qwen3.5-9b", "context_length": 32768}


def test_preload_false_leaves_loading_to_jit(fake_lmstudio: FakeLMStudio) -> None:
    """§10 items 158/162 and the JIT snippet: no native API calls at all."""
    spec = make_spec(
        fake_lmstudio,
        "qwen/qwen3-coder-30b",
        row={"id": "qwen/qwen3-coder-30b"},
        provider={"params": {"preload": False}},
    )
    events = collect(spec)
    assert events[-1].type == "done"
    assert fake_lmstudio.paths() == ["POST /v1/chat/completions"]
    assert chats(fake_lmstudio)[0]["stream_options"] == {"include_usage": True}


def test_failed_load_still_streams_during_backoff(fake_lmstudio: FakeLMStudio) -> None:
    """§10 items 161, 163: a load failure for an unloaded model logs and streams anyway; the
    next call inside the window skips the preload but streams."""
    clock = Clock()
    preload.set_clock(clock)
    fake_lmstudio.override("/api/v1/models/load", 500, "out of memory")
    spec = make_spec(fake_lmstudio, "qwen/qwen3-coder-30b", row={"id": "qwen/qwen3-coder-30b"})
    assert collect(spec)[-1].type == "done"
    clock.advance(1)
    assert collect(spec)[-1].type == "done"
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 1
    assert fake_lmstudio.count("POST", "/v1/chat/completions") == 2


def test_required_context_failure_is_one_error_event(fake_lmstudio: FakeLMStudio) -> None:
    """§10 items 173/174 (§6.3): a single error event, no chat request."""
    fake_lmstudio.set_models(
        [llm("qwen3.5-0.8b", max_ctx=262144, instances=[inst("qwen3.5-0.8b", 4096)])]
    )
    fake_lmstudio.override("/api/v1/models/load", 503, {"error": "load unavailable"})
    spec = make_spec(
        fake_lmstudio,
        "qwen3.5-0.8b",
        row={"id": "qwen3.5-0.8b", "contextTokens": 16384, "contextWindow": 262144},
    )
    for _ in range(2):
        events = collect(spec)
        assert [e.type for e in events] == ["error"]
        err = events[0]
        assert err.stop_reason == "error"
        assert err.message.model == "qwen3.5-0.8b"
        assert err.message.usage.total == 0
        assert (
            'could not load "qwen3.5-0.8b" with 16384 context tokens' in err.message.error_message
        )
        assert err.error.code == "model_load_failed"
    assert fake_lmstudio.count("POST", "/v1/chat/completions") == 0


def test_timings_only_usage_is_recorded(fake_lmstudio: FakeLMStudio) -> None:
    """Issue acceptance (§6.6): a stream whose only usage is llama.cpp timings is recorded
    with those numbers."""
    fake_lmstudio.script(
        Reply(text="ok", usage=False, timings=True, prompt_tokens=321, completion_tokens=7)
    )
    spec = make_spec(
        fake_lmstudio, "qwen/qwen3.5-9b", row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768}
    )
    done = collect(spec)[-1]
    assert done.type == "done"
    assert (done.usage.input, done.usage.output, done.usage.source) == (321, 7, "timings")


def test_thinking_off_sends_none(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 160 through the real transport: binary compat + thinking off -> "none"."""
    from openclaw.providers.lmstudio.reasoning import reasoning_compat

    compat = reasoning_compat({"allowed_options": ["off", "on"], "default": "on"})
    spec = make_spec(
        fake_lmstudio,
        "qwen/qwen3.5-9b",
        row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768, "reasoning": True},
        compat=compat,
    )
    collect(spec, options=ChatOptions(thinking="off"))
    collect(spec, options=ChatOptions(thinking="max"))
    efforts = [b.get("reasoning_effort") for b in chats(fake_lmstudio)]
    assert efforts == ["none", "xhigh"]


def test_pattern_keyword_removed_from_tool_schemas(fake_lmstudio: FakeLMStudio) -> None:
    """§6.4: LM Studio's GGUF grammar rejects regex constraints."""
    tool = ToolSpec(
        "read",
        "Read a file",
        {"type": "object", "properties": {"path": {"type": "string", "pattern": "^/"}}},
    )
    spec = make_spec(
        fake_lmstudio, "qwen/qwen3.5-9b", row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768}
    )
    collect(spec, Context(messages=[UserMessage("hi")], tools=[tool]))
    sent = chats(fake_lmstudio)[0]["tools"][0]["function"]["parameters"]
    assert "pattern" not in sent["properties"]["path"]


def test_plain_text_tool_call_is_promoted(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 159: bracket tool text for a registered tool becomes a tool call."""
    text = (
        "[mempalace_mempalace_search]\n"
        '{"query":"codename","wing":"personal","room":"identities"}\n[END_TOOL_REQUEST]'
    )
    fake_lmstudio.script(Reply(text=text))
    tool = ToolSpec("mempalace_mempalace_search", "search", {"type": "object", "properties": {}})
    spec = make_spec(
        fake_lmstudio, "qwen/qwen3.5-9b", row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768}
    )
    events = collect(spec, Context(messages=[UserMessage("find")], tools=[tool]))
    done = events[-1]
    assert done.type == "done" and done.stop_reason == "toolUse"
    call = done.message.tool_calls[0]
    assert call.name == "mempalace_mempalace_search"
    assert call.arguments == {"query": "codename", "wing": "personal", "room": "identities"}


@pytest.mark.parametrize("status", [401])
def test_auth_error_is_not_retried(fake_lmstudio: FakeLMStudio, status: int) -> None:
    """A cached readiness only retries stale-model answers, never an auth failure."""
    clock = Clock()
    preload.set_clock(clock)
    spec = make_spec(
        fake_lmstudio, "qwen/qwen3.5-9b", row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768}
    )
    collect(spec)
    fake_lmstudio.script(
        Reply(status=status, body={"error": {"message": "Invalid or missing API token"}})
    )
    events = collect(spec)
    assert events[-1].type == "error"
    assert fake_lmstudio.count("POST", "/v1/chat/completions") == 2


def test_real_overflow_is_reported_after_one_check_not_resent(fake_lmstudio: FakeLMStudio) -> None:
    """A context overflow on a cached readiness triggers one check; when the instance is
    unchanged the overflow is reported (the agent trims) and the chat is not re-sent."""
    spec = make_spec(
        fake_lmstudio, "google/gemma-3-1b", row={"id": "google/gemma-3-1b", "contextTokens": 4096}
    )
    assert collect(spec)[-1].type == "done"
    fake_lmstudio.clear_requests()
    big = Context(messages=[UserMessage("word " * 8000)])
    events = collect(spec, big)
    assert events[-1].type == "error"
    assert type(events[-1].error).__name__ == "ContextOverflowError"
    assert fake_lmstudio.paths() == ["POST /v1/chat/completions", "GET /api/v1/models"]


def test_overflow_after_reload_smaller_is_retried(fake_lmstudio: FakeLMStudio) -> None:
    """The user reloaded the model with a smaller context meanwhile: one check finds it, the
    model is loaded at the needed context and the chat succeeds."""
    spec = make_spec(
        fake_lmstudio, "qwen/qwen3.5-9b", row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768}
    )
    assert collect(spec)[-1].type == "done"
    fake_lmstudio.model("qwen/qwen3.5-9b")["loaded_instances"] = [inst("qwen/qwen3.5-9b", 2048)]
    fake_lmstudio.clear_requests()
    events = collect(spec, Context(messages=[UserMessage("word " * 3000)]))
    assert events[-1].type == "done", events[-1]
    assert fake_lmstudio.paths() == [
        "POST /v1/chat/completions",
        "GET /api/v1/models",
        "POST /api/v1/models/load",
        "POST /v1/chat/completions",
    ]


def test_authorization_header_wins_over_stored_key(fake_lmstudio: FakeLMStudio) -> None:
    """§10 items 60-63: with an Authorization header configured, a stale profile/env key is
    never sent - not on the check, not on the chat."""
    spec = make_spec(
        fake_lmstudio,
        "qwen/qwen3.5-9b",
        row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768},
        api_key="stale-profile-key",
    )
    spec.headers = {"Authorization": "Bearer proxy-token"}
    assert collect(spec)[-1].type == "done"
    assert {r.header("authorization") for r in fake_lmstudio.requests} == {"Bearer proxy-token"}


def test_canonical_key_after_failed_load_is_used(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 149: a failed load that resolved the variant's canonical key routes the chat
    to the canonical key."""
    canon = "gemma-4-e4b-it-ultra-uncensored-heretic"
    fake_lmstudio.set_models([llm(canon, variants=[canon + "@q4_k_m"])])
    fake_lmstudio.override("/api/v1/models/load", 503, "nope")
    spec = make_spec(fake_lmstudio, canon + "@q4_k_m", row={"id": canon + "@q4_k_m"})
    collect(spec)
    collect(spec)
    assert [b["model"] for b in chats(fake_lmstudio)] == [canon, canon]
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 1


def test_load_timeout_from_provider(fake_lmstudio: FakeLMStudio) -> None:
    """§10 items 169, 171: 120 s default, provider timeoutSeconds otherwise."""
    from openclaw.providers.lmstudio.plugin import load_timeout

    assert load_timeout(make_spec(fake_lmstudio)) == 120.0
    assert load_timeout(make_spec(fake_lmstudio, timeout=300)) == 300.0


def test_cancelled_waiter_does_not_cancel_shared_load(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 152: one waiter gives up; the shared load finishes and the other streams."""
    fake_lmstudio.load_delay = 0.5
    spec = make_spec(fake_lmstudio, "qwen/qwen3-coder-30b", row={"id": "qwen/qwen3-coder-30b"})
    ctx = Context(messages=[UserMessage("hi")])
    done: list[str] = []

    async def one(cancel_after: float | None) -> None:
        with anyio.move_on_after(cancel_after if cancel_after else 30):
            async for ev in PLUGIN.stream(spec, ctx, ChatOptions()):
                if ev.type == "done":
                    done.append(ev.message.text)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(one, None)
            await anyio.sleep(0.05)
            tg.start_soon(one, 0.1)

    anyio.run(main)
    assert len(done) == 1
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 1
    assert fake_lmstudio.count("POST", "/v1/chat/completions") == 1
