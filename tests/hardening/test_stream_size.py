"""A streamed answer is bounded (issue 14 point 5): past a generous multiple of the request's
max_tokens, or 4 MiB of text, it is cut with an error that says so, the partial answer kept,
and `openclaw agent` exits 1 instead of printing and storing 20 MB."""

from __future__ import annotations

import json
from pathlib import Path

import anyio

from openclaw.errors import ResponseTooLargeError
from openclaw.llm.openai_completions import stream_chat
from openclaw.llm.openai_stream import MAX_ANSWER_BYTES, answer_cap
from openclaw.llm.types import ChatOptions, Context, ErrorEvent, Event, UserMessage
from tests.conftest import run_cli
from tests.llm.support import make_spec
from tests.servers.fault_server import MODEL_ID, Fault, FaultServer

HANG_GUARD = 60.0


def _collect(base_url: str, max_tokens: int | None) -> list[Event]:
    spec = make_spec(base_url, model_id=MODEL_ID, row={"reasoning": False})

    async def go() -> list[Event]:
        with anyio.fail_after(HANG_GUARD):
            ctx = Context(messages=[UserMessage("hi")])
            opts = ChatOptions(max_tokens=max_tokens, streaming=True)
            return [e async for e in stream_chat(spec, ctx, opts)]

    return anyio.run(go)


def test_answer_past_its_max_tokens_bound_is_cut_and_kept() -> None:
    with FaultServer(Fault.HUGE_STREAM) as server:
        events = _collect(server.base_url, max_tokens=8192)
    final = events[-1]
    assert isinstance(final, ErrorEvent)
    assert isinstance(final.error, ResponseTooLargeError)
    assert "was cut" in final.error.message and "max_tokens of 8,192" in final.error.message
    kept = final.message.text
    cap = answer_cap(8192)
    assert cap < len(kept) <= cap + 4096  # the partial answer, up to the chunk that crossed
    assert final.message.stop_reason == "error"


def test_endless_stream_without_max_tokens_stops_at_the_byte_cap() -> None:
    with FaultServer(Fault.HUGE_STREAM, stream_bytes=None) as server:
        events = _collect(server.base_url, max_tokens=None)
    final = events[-1]
    assert isinstance(final, ErrorEvent)
    assert isinstance(final.error, ResponseTooLargeError)
    assert MAX_ANSWER_BYTES < len(final.message.text) <= MAX_ANSWER_BYTES + 4096


def test_an_honest_long_answer_is_not_cut() -> None:
    # 8192 tokens of ordinary text is ~32 KiB; the bound must leave it alone.
    with FaultServer(Fault.HUGE_STREAM, stream_bytes=40 * 1024) as server:
        events = _collect(server.base_url, max_tokens=8192)
    assert events[-1].type == "done"


def test_agent_cuts_a_twenty_megabyte_answer_and_exits_1(isolated_home: Path) -> None:
    with FaultServer(Fault.HUGE_STREAM, stream_bytes=20 * 1024 * 1024) as server:
        path = isolated_home / ".openclaw" / "openclaw.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        row = {"id": MODEL_ID, "contextWindow": 32768, "maxTokens": 8192, "reasoning": False}
        provider = {"baseUrl": server.base_url, "api": "openai-completions", "models": [row]}
        path.write_text(
            json.dumps(
                {
                    "models": {"providers": {"fault": provider}},
                    "agents": {"defaults": {"model": {"primary": f"fault/{MODEL_ID}"}}},
                }
            )
        )
        result = run_cli("agent", "-m", "write forever", timeout=120)
    assert result.returncode == 1
    assert "was cut" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stdout) < 2 * answer_cap(8192)  # not 20 MB
    transcripts = list((isolated_home / ".openclaw").rglob("*.jsonl"))
    assert transcripts  # the partial answer is stored ...
    assert sum(p.stat().st_size for p in transcripts) < 4 * answer_cap(8192)  # ... cut
