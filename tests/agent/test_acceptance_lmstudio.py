"""Acceptance: `openclaw agent` as a real subprocess against the fake LM Studio server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.servers.fake_lmstudio import FakeLMStudio, Reply

from .conftest import LMS_MODEL, lms_config

CHAT = ("POST", "/v1/chat/completions")


def chat_bodies(fake: FakeLMStudio) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests if (r.method, r.path) == CHAT]


def prompt_tokens_chars4(body: dict[str, Any]) -> int:
    chars = len(json.dumps(body.get("messages", []), ensure_ascii=False))
    chars += len(json.dumps(body.get("tools", []), ensure_ascii=False))
    return chars // 4


def sessions_dir(home: Path) -> Path:
    return home / ".openclaw" / "agents" / "main" / "sessions"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_hi_is_small_fast_and_streams(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(isolated_home, lms)
    lms.script(Reply(text="Hello there, friend.", prompt_tokens=321, completion_tokens=7))
    res = run_cli("agent", "-m", "hi", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["payloads"] == [{"text": "Hello there, friend."}]
    meta = out["meta"]["agentMeta"]
    assert meta["provider"] == "lmstudio" and meta["model"] == LMS_MODEL
    assert meta["stopReason"] == "stop"
    assert meta["usage"]["source"] == "reported"
    bodies = chat_bodies(lms)
    assert len(bodies) == 1
    body = bodies[0]
    tokens = prompt_tokens_chars4(body)
    assert tokens < 1500, tokens
    assert body["messages"][0]["role"] == "system"
    assert body["messages"][-1] == {"role": "user", "content": "hi"}
    # usage equals what the server reported for this request
    assert {k: meta["usage"][k] for k in ("input", "output", "cacheRead", "total")} == {
        "input": 321, "output": 7, "cacheRead": 0, "total": 328
    }  # fmt: skip
    assert isinstance(out["meta"]["durationMs"], int)  # timings are figures for bench/
    # a transcript with header + user + assistant
    sid = meta["sessionId"]
    lines = [
        json.loads(x)
        for x in (sessions_dir(isolated_home) / f"{sid}.jsonl").read_text().splitlines()
    ]
    assert lines[0]["type"] == "session" and lines[0]["id"] == sid
    assert [x["message"]["role"] for x in lines[1:]] == ["user", "assistant"]
    assert lines[2]["message"]["usage"]["input"] == meta["usage"]["input"]


def test_plain_output_answer_on_stdout_summary_on_stderr(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    lms_config(isolated_home, lms)
    lms.script(Reply(text="Just the answer."))
    res = run_cli("agent", "-m", "hi")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "Just the answer.\n"
    assert f"lmstudio/{LMS_MODEL}" in res.stderr and "tokens (reported)" in res.stderr
    # message from stdin when piped
    lms.script(Reply(text="From stdin."))
    res = run_cli("agent", input="hello from a pipe\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "From stdin.\n"
    assert chat_bodies(lms)[-1]["messages"][-1]["content"].strip() == "hello from a pipe"


def test_sessions_list_and_show(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(isolated_home, lms)
    lms.script(Reply(text="Remembered."))
    res = run_cli("agent", "-m", "remember this", "--json")
    sid = json.loads(res.stdout)["meta"]["agentMeta"]["sessionId"]
    listed = run_cli("sessions", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["sessions"][0]["sessionId"] == sid
    assert data["sessions"][0]["key"] == "agent:main:main"
    assert data["sessions"][0]["totalTokens"] > 0
    shown = run_cli("sessions", "show", sid)
    assert shown.returncode == 0
    assert "user: remember this" in shown.stdout and "assistant: Remembered." in shown.stdout
    bad = run_cli("sessions", "show", "../../etc/passwd")
    assert bad.returncode == 1 and "Invalid session id" in bad.stderr


def _seed_history(home: Path, sid: str, turns: int, size: int) -> None:
    d = sessions_dir(home)
    d.mkdir(parents=True)
    lines = [
        {
            "type": "session",
            "version": 3,
            "id": sid,
            "timestamp": "2026-01-01T00:00:00Z",
            "cwd": "/",
        }
    ]
    for i in range(turns):
        lines.append(
            {
                "type": "message",
                "id": f"u{i}",
                "message": {
                    "role": "user",
                    "content": f"question {i} " + "x" * size,
                    "timestamp": 1,
                },
            }
        )
        lines.append(
            {
                "type": "message",
                "id": f"a{i}",
                "message": {
                    "role": "assistant",
                    "content": [{"type": "text", "text": f"answer {i} " + "y" * size}],
                    "provider": "lmstudio",
                    "model": LMS_MODEL,
                    "stopReason": "stop",
                    "timestamp": 2,
                },
            }
        )
    (d / f"{sid}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (d / "sessions.json").write_text(
        json.dumps({"agent:main:main": {"sessionId": sid, "updatedAt": 1}})
    )


def test_history_larger_than_context_is_trimmed(isolated_home: Path, lms: FakeLMStudio) -> None:
    # The loaded instance has 4096 tokens; the fake server enforces it (400 on overflow).
    lms.models[0]["loaded_instances"][0]["config"]["context_length"] = 4096
    lms_config(isolated_home, lms, context=4096, max_tokens=512)
    _seed_history(isolated_home, "long-session", turns=12, size=2000)  # ~12k tokens of history
    lms.script(Reply(text="Trimmed fine."))
    res = run_cli("agent", "-m", "latest question", "--session-id", "long-session")
    assert res.returncode == 0, res.stderr
    assert "History trimmed" in res.stderr
    assert "4,096-token context" in res.stderr
    assert res.stdout == "Trimmed fine.\n"
    body = chat_bodies(lms)[-1]
    contents = [m.get("content") for m in body["messages"]]
    assert contents[-1] == "latest question"
    assert not any(isinstance(c, str) and c.startswith("question 0 ") for c in contents)
    assert any(isinstance(c, str) and c.startswith("question 11 ") for c in contents)


def test_message_larger_than_context_is_refused(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(isolated_home, lms, context=4096, max_tokens=512)
    res = run_cli("agent", "-m", "word " * 8000)
    assert res.returncode == 1
    lines = [x for x in res.stderr.splitlines() if x.startswith("Error:")]
    assert len(lines) == 1 and "4,096-token context" in lines[0] and LMS_MODEL in lines[0]
    assert "Hint:" in res.stderr and "context" in res.stderr
    assert chat_bodies(lms) == []
    assert not sessions_dir(isolated_home).exists()  # nothing written


def test_fallback_when_primary_is_down(isolated_home: Path, lms: FakeLMStudio) -> None:
    down = f"http://127.0.0.1:{closed_port()}/v1"
    lms_config(
        isolated_home,
        lms,
        primary="deadbox/some-model",
        fallbacks=[f"lmstudio/{LMS_MODEL}"],
        extra_providers={
            "deadbox": {
                "baseUrl": down,
                "api": "openai-completions",
                "models": [{"id": "some-model", "contextWindow": 8192, "maxTokens": 1024}],
            }
        },
    )
    lms.script(Reply(text="Fallback answer."))
    res = run_cli("agent", "-m", "hi")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "Fallback answer.\n"
    assert f"Answered by fallback model lmstudio/{LMS_MODEL}" in res.stderr
    assert "deadbox/some-model" in res.stderr
    # JSON says so too
    lms.script(Reply(text="again"))
    out = json.loads(run_cli("agent", "-m", "hi", "--json").stdout)
    assert out["meta"]["agentMeta"]["model"] == LMS_MODEL
    assert out["meta"]["fallbacks"][0]["model"] == "deadbox/some-model"
    # an explicit --model never falls back
    res = run_cli("agent", "-m", "hi", "--model", "deadbox/some-model")
    assert res.returncode == 1
    assert "never falls back" in res.stderr


def test_primary_down_without_fallbacks_says_what_to_do(isolated_home: Path) -> None:
    down = f"http://127.0.0.1:{closed_port()}/v1"
    from .helpers import write_config

    write_config(
        isolated_home,
        {
            "models": {
                "providers": {
                    "deadbox": {
                        "baseUrl": down,
                        "api": "openai-completions",
                        "models": [{"id": "m", "contextWindow": 8192}],
                    }
                }
            },
            "agents": {"defaults": {"model": {"primary": "deadbox/m"}}},
        },
    )
    res = run_cli("agent", "-m", "hi")
    assert res.returncode == 1
    assert res.stderr.count("Error:") == 1
    assert "Hint:" in res.stderr and "fallback" in res.stderr


def test_tool_refusals_reach_the_model(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(isolated_home, lms)
    lms.script(
        Reply(
            text="",
            tool_calls=[
                {
                    "id": "call_a",
                    "name": "web_fetch",
                    "arguments": {"url": "http://169.254.169.254/latest/meta-data/"},
                },
                {
                    "id": "call_b",
                    "name": "web_fetch",
                    "arguments": {"url": lms.server_url + "/api/v1/models"},
                },
                {"id": "call_c", "name": "read", "arguments": {"path": "../../etc/passwd"}},
            ],
        ),
        Reply(text="I could not fetch those."),
    )
    res = run_cli("agent", "-m", "fetch things", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["payloads"][0]["text"] == "I could not fetch those."
    bodies = chat_bodies(lms)
    assert len(bodies) == 2
    tool_msgs = {
        m["tool_call_id"]: m["content"] for m in bodies[1]["messages"] if m["role"] == "tool"
    }
    assert len(tool_msgs) == 3
    texts = list(tool_msgs.values())
    assert "refused by the network guard" in texts[0]
    assert "refused by the network guard" in texts[1]
    assert "outside the workspace" in texts[2] and "root:" not in texts[2]
    # the default policy never connected to the loopback server for the tool
    gets = [
        r
        for r in lms.requests
        if r.path == "/api/v1/models" and r.header("user-agent") == "openclaw-web-fetch"
    ]
    assert gets == []


def test_supports_tools_false_is_reported(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(isolated_home, lms, row_extra={"compat": {"supportsTools": False}})
    lms.script(Reply(text="No tools here."))
    res = run_cli("agent", "-m", "hi")
    assert res.returncode == 0, res.stderr
    assert "supportsTools: false" in res.stderr
    assert "tools" not in chat_bodies(lms)[0]


def test_bad_flags_are_one_line_errors(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(isolated_home, lms)
    for args, needle in (
        (["--thinking", "huge"], "Unknown thinking level"),
        (["--timeout", "-1"], "--timeout"),
        (["--timeout", "soon"], "--timeout"),
        (["--tools", "all"], "Unknown tool set"),
        (["--session-id", "../x"], "Invalid session id"),
    ):
        res = run_cli("agent", "-m", "hi", *args)
        assert res.returncode == 1, args
        assert res.stderr.startswith("Error:") and needle in res.stderr, res.stderr
    assert chat_bodies(lms) == []
    assert not sessions_dir(isolated_home).exists()


def test_ctrl_c_mid_stream_keeps_an_aborted_entry(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(isolated_home, lms)
    lms.script(Reply(text="word " * 200, chunk_size=5, chunk_delay=0.05))
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "agent", "-m", "tell me a story"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    got = b""
    deadline = time.monotonic() + 10
    while b"word word" not in got and time.monotonic() < deadline:
        got += os.read(proc.stdout.fileno(), 100)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    d = sessions_dir(isolated_home)
    (transcript,) = list(d.glob("*.jsonl"))
    lines = [json.loads(x) for x in transcript.read_text().splitlines()]  # every line valid JSON
    last = lines[-1]["message"]
    assert last["role"] == "assistant" and last["stopReason"] == "aborted"
    partial = last["content"][0]["text"]
    assert partial.startswith("word word") and len(partial) < len("word " * 200)
    assert b"Interrupted" in err


def test_thinking_is_shown_on_stderr_and_can_be_hidden(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    lms_config(isolated_home, lms)
    lms.script(Reply(text="Answer.", reasoning="pondering deeply"))
    res = run_cli("agent", "-m", "hi")
    assert res.stdout == "Answer.\n"
    assert "pondering deeply" in res.stderr
    lms.script(Reply(text="Answer.", reasoning="pondering deeply"))
    res = run_cli("agent", "-m", "hi", "--hide-thinking")
    assert res.stdout == "Answer.\n" and "pondering" not in res.stderr
    # the reasoning is kept in the transcript either way
    (transcript,) = list(sessions_dir(isolated_home).glob("*.jsonl"))
    assert "pondering deeply" in transcript.read_text()


def test_server_context_overflow_trims_and_retries_once(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    # The config claims 32k, but the server has the model loaded with 4096 tokens: the server's
    # overflow error carries the real size, the agent trims to it and retries once.
    lms.models[0]["loaded_instances"][0]["config"]["context_length"] = 4096
    from .helpers import write_config

    write_config(
        isolated_home,
        {
            "models": {
                "providers": {
                    "local": {
                        "baseUrl": lms.base_url,
                        "api": "openai-completions",
                        "models": [{"id": LMS_MODEL, "contextWindow": 32768, "maxTokens": 512}],
                    }
                }
            },
            "agents": {"defaults": {"model": {"primary": f"local/{LMS_MODEL}"}}},
        },
    )
    _seed_history(isolated_home, "over-session", turns=12, size=2000)
    # (the fake consumes one scripted reply per request, the refused one included)
    lms.script(Reply(text="never sent"), Reply(text="Retried fine."))
    res = run_cli("agent", "-m", "latest", "--session-id", "over-session")
    assert res.returncode == 0, res.stderr
    assert "context overflow (loaded context 4,096 tokens)" in res.stderr
    assert res.stdout == "Retried fine.\n"
    bodies = chat_bodies(lms)
    assert len(bodies) == 2
    assert len(bodies[1]["messages"]) < len(bodies[0]["messages"])


def test_timeout_caps_the_turn(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(isolated_home, lms)
    lms.script(Reply(text="word " * 200, chunk_size=5, chunk_delay=0.1))
    t0 = time.monotonic()
    res = run_cli("agent", "-m", "hi", "--timeout", "3")
    assert time.monotonic() - t0 < 15  # the whole answer would take 20 s
    assert res.returncode == 1
    assert "Error: The turn took longer than 3 s" in res.stderr
    assert "--timeout" in res.stderr
    (transcript,) = list(sessions_dir(isolated_home).glob("*.jsonl"))
    last = json.loads(transcript.read_text().splitlines()[-1])["message"]
    assert last["stopReason"] == "error" and last["content"][0]["text"].startswith("word")


def test_empty_messages_are_refused_before_anything_runs(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    lms_config(isolated_home, lms)
    for args, stdin, needle in (
        (["-m", ""], None, "The message is empty"),
        (["-m", "  \n "], None, "The message is empty"),
        ([], "", "stdin was empty"),
        ([], " \n\n", "stdin was empty"),
    ):
        res = run_cli("agent", *args, input=stdin)
        assert res.returncode == 1, (args, stdin)
        assert res.stderr.startswith("Error:") and needle in res.stderr, res.stderr
        assert "Hint:" in res.stderr and "Traceback" not in res.stderr
    assert lms.requests == []
    assert not sessions_dir(isolated_home).exists()


def test_corrupt_session_index_is_one_clear_error_and_nothing_is_lost(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    lms_config(isolated_home, lms)
    lms.script(Reply(text="Before."))
    sid = json.loads(run_cli("agent", "-m", "hi", "--json").stdout)["meta"]["agentMeta"][
        "sessionId"
    ]
    index = sessions_dir(isolated_home) / "sessions.json"
    transcript = sessions_dir(isolated_home) / f"{sid}.jsonl"
    index.write_text('{"agent:main:main": {"sessionId": ')  # truncated by some accident
    before = (index.read_bytes(), transcript.read_bytes())
    lms.clear_requests()
    for args in (["agent", "-m", "hi again"], ["sessions", "list"]):
        res = run_cli(*args)
        assert res.returncode == 1, args
        errors = [x for x in res.stderr.splitlines() if x.startswith("Error:")]
        assert len(errors) == 1 and "not valid JSON" in errors[0], res.stderr
        assert "Hint:" in res.stderr and "Traceback" not in res.stderr
    assert chat_bodies(lms) == []
    assert (index.read_bytes(), transcript.read_bytes()) == before
    # the transcript stays readable by id, with a warning about the index
    shown = run_cli("sessions", "show", sid)
    assert shown.returncode == 0, shown.stderr
    assert "assistant: Before." in shown.stdout and "not valid JSON" in shown.stderr


def test_a_damaged_transcript_line_is_skipped_with_a_warning(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    lms_config(isolated_home, lms)
    _seed_history(isolated_home, "damaged", turns=2, size=10)
    path = sessions_dir(isolated_home) / "damaged.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines[:2], b"\xff\xfe not json\n", *lines[2:]]))
    before = path.read_bytes()
    lms.script(Reply(text="Still here."))
    res = run_cli("agent", "-m", "next", "--session-id", "damaged")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "Still here.\n"
    assert res.stderr.count("unreadable line") == 1
    assert path.read_bytes().startswith(before)  # earlier lines untouched
    contents = [m.get("content") for m in chat_bodies(lms)[-1]["messages"]]
    assert any(isinstance(c, str) and c.startswith("question 1 ") for c in contents)


def test_a_real_api_key_never_reaches_output_json_or_files(isolated_home: Path) -> None:
    secret = "sk-lm-SECRETKEY-0123456789"
    with FakeLMStudio(api_key=secret) as fake:
        cfg = lms_config(isolated_home, fake)
        data = json.loads(cfg.read_text())
        data["models"]["providers"]["lmstudio"]["apiKey"] = secret
        cfg.write_text(json.dumps(data))
        fake.script(Reply(text=f"You said {secret}"))
        res = run_cli("agent", "-m", f"my key is {secret}", "--json")
        assert res.returncode == 0, res.stderr
        assert fake.requests[-1].header("authorization") == f"Bearer {secret}"  # it was used
        fake.script(Reply(text="plain"))
        res2 = run_cli("agent", "-m", "again")
        assert res2.returncode == 0, res2.stderr
    assert secret not in res.stdout + res.stderr + res2.stdout + res2.stderr
    assert json.loads(res.stdout)["payloads"][0]["text"].startswith("You said sk-l")  # masked
    files = [p for p in sessions_dir(isolated_home).iterdir() if p.is_file()]
    assert any(p.suffix == ".jsonl" for p in files)
    for p in files:
        assert secret not in p.read_text(), p.name


def test_a_plain_text_tool_call_is_run_like_a_native_one(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    lms_config(isolated_home, lms)
    workspace = isolated_home / ".openclaw" / "workspace"
    workspace.mkdir(parents=True)
    (workspace / "notes.md").write_text("buy milk\n")
    lms.script(
        Reply(
            text='<tool_call>\n{"name": "read", "arguments": {"path": "notes.md"}}\n</tool_call>'
        ),
        Reply(text="You need milk."),
    )
    res = run_cli("agent", "-m", "what is on my list?", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["payloads"][0]["text"] == "You need milk."
    assert out["meta"]["agentMeta"]["toolCalls"] == 1
    second = chat_bodies(lms)[1]["messages"]
    tool_msgs = [m for m in second if m["role"] == "tool"]
    assert len(tool_msgs) == 1 and "buy milk" in tool_msgs[0]["content"]
