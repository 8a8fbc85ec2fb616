from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from openclaw.agent.sessions import SessionStore, default_session_key, validate_id
from openclaw.agent.transcript import Transcript, read_transcript
from openclaw.errors import UsageError
from openclaw.llm.types import (
    AssistantMessage,
    TextContent,
    ThinkingContent,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)


def test_resolve_defers_writing_until_activate(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    ref = store.resolve(agent_id="main")
    assert ref.key == default_session_key() == "agent:main:main"
    assert ref.created
    assert not store.index_path.exists()  # nothing written for a turn that may still fail
    store.activate(ref, thinkingLevel="low")
    again = store.resolve(agent_id="main")
    assert again.session_id == ref.session_id and not again.created
    assert store.get("agent:main:main")["thinkingLevel"] == "low"  # type: ignore[index]
    assert (store.index_path.stat().st_mode & 0o777) == 0o600


def test_new_and_session_id_lookup(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s")
    first = store.resolve()
    store.activate(first)
    fresh = store.resolve(new=True)
    assert fresh.session_id != first.session_id
    store.activate(fresh)
    # The old session is still reachable by id, under its key... which now points at the new one,
    # so an explicit id of an unknown session starts exactly that id.
    by_id = store.resolve(session_id=fresh.session_id)
    assert by_id.key == "agent:main:main" and not by_id.created
    other = store.resolve(session_id="my-session-1")
    assert other.session_id == "my-session-1" and other.created
    with pytest.raises(UsageError, match="already exists"):
        store.resolve(session_id=fresh.session_id, new=True)


def test_record_turn_accumulates_totals(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s")
    ref = store.resolve()
    store.activate(ref)
    for _ in range(2):
        store.record_turn(
            ref.key,
            ref.session_id,
            provider="p",
            model="m",
            usage={"input": 10, "output": 3, "cacheRead": 1, "cacheWrite": 0, "total": 14},
            fresh=True,
        )
    entry = store.get(ref.key)
    assert entry is not None
    assert (entry["inputTokens"], entry["outputTokens"], entry["totalTokens"]) == (20, 6, 28)
    assert entry["model"] == "m" and entry["modelProvider"] == "p"


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "x" * 200, "a..b"])
def test_bad_ids_are_refused(bad: str) -> None:
    with pytest.raises(UsageError):
        validate_id(bad, "session id")


def _messages() -> list:
    return [
        UserMessage(content="hi"),
        AssistantMessage(
            content=[
                ThinkingContent(thinking="hmm"),
                TextContent(text="calling"),
                ToolCall(id="c1", name="read", arguments={"path": "a.md"}),
            ],
            provider="p",
            model="m",
            usage=Usage(input=5, output=2, total=7, source="reported"),
            stop_reason="toolUse",
        ),
        ToolResultMessage(tool_call_id="c1", tool_name="read", content=[TextContent(text="A")]),
    ]


def test_transcript_round_trip_and_header(tmp_path: Path) -> None:
    path = tmp_path / "abc.jsonl"
    t = Transcript(path, "abc")
    for m in _messages():
        t.append(m)
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["type"] == "session" and header["id"] == "abc"
    assert {"version", "timestamp", "cwd"} <= header.keys()
    entries = [json.loads(x) for x in lines[1:]]
    assert [e["message"]["role"] for e in entries] == ["user", "assistant", "toolResult"]
    assert entries[1]["message"]["stopReason"] == "toolUse"
    assert entries[1]["message"]["usage"]["input"] == 5
    assert entries[1]["parentId"] == entries[0]["id"]
    back = read_transcript(path).messages()
    assert isinstance(back[1], AssistantMessage)
    assert back[1].tool_calls[0].arguments == {"path": "a.md"}
    assert isinstance(back[2], ToolResultMessage) and back[2].tool_call_id == "c1"
    assert (path.stat().st_mode & 0o777) == 0o600


def test_torn_last_line_is_skipped_and_next_append_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "s1.jsonl"
    t = Transcript(path, "s1")
    t.append(UserMessage(content="one"))
    with open(path, "ab") as fh:
        fh.write(b'{"type":"message","message":{"role":"us')  # crash mid-write
    data = read_transcript(path)
    assert len(data.messages()) == 1
    assert any("torn last line" in w for w in data.warnings)
    t2 = Transcript(path, "s1")
    t2.append(UserMessage(content="two"))
    data = read_transcript(path)
    assert [m.content for m in data.messages()] == ["one", "two"]  # type: ignore[union-attr]


def test_secrets_are_redacted_from_transcripts(tmp_path: Path) -> None:
    path = tmp_path / "s2.jsonl"
    secret = "sk-test-SECRET-0001"
    t = Transcript(path, "s2", secrets=[secret])
    t.append(UserMessage(content=f"my key is {secret}"))
    t.append(
        AssistantMessage(
            content=[
                ToolCall(id="x", name="web_fetch", arguments={"url": f"https://e.com/?k={secret}"})
            ],
            error_message=f"bad {secret}",
        )
    )
    raw = path.read_text()
    assert secret not in raw
    assert "__OPENCLAW_REDACTED__" in raw


def test_append_is_one_write_per_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s3.jsonl"
    t = Transcript(path, "s3")
    writes: list[bytes] = []
    real_write = os.write

    def spy(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    t.append(UserMessage(content="x" * 10000))
    assert all(w.endswith(b"\n") for w in writes)
    assert len(writes) == 2  # header + the entry, each a whole line in one write


_RECORDER = """
import sys
from pathlib import Path
from openclaw.agent.sessions import SessionStore
store = SessionStore(Path(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    store.record_turn("agent:main:main", "s1", provider="p", model="m", fresh=True,
                      usage={"input": 1, "output": 1, "cacheRead": 0, "cacheWrite": 0, "total": 2})
"""


def test_two_processes_updating_the_index_lose_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    sessions = tmp_path / "agents" / "main" / "sessions"
    store = SessionStore(sessions)
    store.activate(store.resolve(session_id="s1", key="agent:main:main"), thinkingLevel="low")
    procs = [
        subprocess.Popen([sys.executable, "-c", _RECORDER, str(sessions), "100"]) for _ in range(2)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    entry = store.get("agent:main:main")
    assert entry is not None
    assert (entry["inputTokens"], entry["totalTokens"]) == (200, 400)  # every update counted
    assert entry["thinkingLevel"] == "low"  # and the overrides survived
    assert not list(sessions.glob(".*.tmp"))  # no temp files left behind


def test_record_turn_keeps_a_key_that_moved_to_a_new_session(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "agents" / "main" / "sessions")
    old = store.resolve()
    store.activate(old)
    new = store.resolve(new=True)  # another process: `openclaw agent --new ...`
    store.activate(new, thinkingLevel="high")
    usage = {"input": 4, "output": 2, "cacheRead": 0, "cacheWrite": 0, "total": 6}
    store.record_turn(old.key, old.session_id, provider="p", model="m", usage=usage, fresh=True)
    current = store.get(old.key)
    assert current is not None
    assert current["sessionId"] == new.session_id and current["thinkingLevel"] == "high"
    # the finished turn's totals are filed under its own id and it stays reachable
    again = store.resolve(session_id=old.session_id)
    assert not again.created and again.entry["totalTokens"] == 6


def test_a_corrupt_transcript_gives_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "s4.jsonl"
    t = Transcript(path, "s4")
    t.append(UserMessage(content="kept"))
    with open(path, "ab") as fh:
        fh.write(b"\x00\xff garbage\n" * 50 + b"[1, 2]\n")
    t2 = Transcript(path, "s4")
    t2.append(UserMessage(content="after"))
    data = read_transcript(path)
    assert [m.content for m in data.messages()] == ["kept", "after"]  # type: ignore[union-attr]
    assert len(data.warnings) == 1 and "51 unreadable line(s)" in data.warnings[0]


def test_unreadable_transcript_is_a_clear_error(tmp_path: Path) -> None:
    from openclaw.errors import ConfigError

    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(ConfigError) as err:
        read_transcript(tmp_path / "dir.jsonl")
    assert "Cannot read transcript" in err.value.message and err.value.hint


def test_an_index_of_the_wrong_shape_is_refused_not_overwritten(tmp_path: Path) -> None:
    from openclaw.errors import ConfigError

    store = SessionStore(tmp_path / "s")
    store.dir.mkdir()
    store.index_path.write_text('["not", "an", "object"]')
    with pytest.raises(ConfigError, match="not a JSON object"):
        store.activate(store.resolve(session_id="x1"))
    assert store.index_path.read_text() == '["not", "an", "object"]'
