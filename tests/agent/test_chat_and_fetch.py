"""The interactive chat loop on a real pty (pexpect), and web_fetch through a whole turn."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import pexpect
import pytest

from openclaw.agent.runner import TurnOptions, run_turn
from openclaw.agent.tools import READ_TOOL, ToolRegistry, make_web_fetch_tool
from openclaw.config.loader import load_config
from openclaw.net.policy import provider_policy
from tests.servers.fake_lmstudio import FakeLMStudio, Reply

from .conftest import LMS_MODEL, lms_config


def _chat_bodies(fake: FakeLMStudio) -> list[dict]:
    return [r.json for r in fake.requests if r.path == "/v1/chat/completions"]


def test_chat_loop_commands_and_ctrl_c(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(
        isolated_home,
        lms,
        extra_providers=None,
    )
    cfg_path = isolated_home / ".openclaw" / "openclaw.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["models"]["providers"]["lmstudio"]["models"].append(
        {"id": "google/gemma-3-1b", "contextWindow": 4096, "maxTokens": 512}
    )
    cfg_path.write_text(json.dumps(cfg))
    lms.script(
        Reply(text="First answer."),
        Reply(text="word " * 200, chunk_size=5, chunk_delay=0.05),
        Reply(text="Third answer."),
    )
    env = dict(os.environ, TERM="xterm")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "openclaw", "agent"],
        env=env,
        encoding="utf-8",
        timeout=15,
        cwd=str(isolated_home / "cwd"),
    )
    try:
        child.expect("› ")
        child.sendline("hello")
        child.expect("First answer")
        child.expect("› ")
        child.sendline("tell me a story")
        child.expect("word word")
        child.sendintr()  # Ctrl-C mid-stream: back to the prompt, not out of the program
        child.expect("interrupted")
        child.expect("› ")
        child.sendline("/model lmstudio/google/gemma-3-1b")
        child.expect("Model set to lmstudio/google/gemma-3-1b")
        child.expect("› ")
        child.sendline("/think low")
        child.expect("Thinking level: low")
        child.expect("› ")
        child.sendline("and now?")
        child.expect("Third answer")
        child.expect("› ")
        child.sendline("/usage")
        child.expect("Session: ")
        child.expect("› ")
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    bodies = _chat_bodies(lms)
    assert [b["model"] for b in bodies] == [LMS_MODEL, LMS_MODEL, "google/gemma-3-1b"]
    # the third request carries the whole history, including the interrupted partial answer
    contents = [m.get("content") for m in bodies[2]["messages"]]
    assert "hello" in contents and "First answer." in contents
    assert any(isinstance(c, str) and c.startswith("word word") for c in contents)
    sessions = isolated_home / ".openclaw" / "agents" / "main" / "sessions"
    index = json.loads((sessions / "sessions.json").read_text())
    entry = index["agent:main:main"]
    assert entry["modelOverride"] == "google/gemma-3-1b" and entry["thinkingLevel"] == "low"
    lines = [
        json.loads(x) for x in (sessions / f"{entry['sessionId']}.jsonl").read_text().splitlines()
    ]
    stops = [
        x["message"].get("stopReason") for x in lines[1:] if x["message"]["role"] == "assistant"
    ]
    assert stops == ["stop", "aborted", "stop"]


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><title>Forecast</title><body><p>Paris: sunny, 21C</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_web_fetch_in_a_turn_with_a_trusting_test_policy(
    isolated_home: Path, lms: FakeLMStudio, page_origin: str
) -> None:
    lms_config(isolated_home, lms)
    lms.script(
        Reply(
            text="",
            tool_calls=[
                {"id": "f1", "name": "web_fetch", "arguments": {"url": page_origin + "/w"}}
            ],
        ),
        Reply(text="Sunny in Paris."),
    )
    policy = provider_policy("test-fetch", page_origin, None)
    registry = ToolRegistry.of([READ_TOOL, make_web_fetch_tool(policy)])
    cfg = load_config()
    result = anyio.run(lambda: run_turn(cfg, TurnOptions(message="weather?"), registry=registry))
    assert result.error is None and result.text == "Sunny in Paris."
    tool_msg = next(m for m in _chat_bodies(lms)[1]["messages"] if m["role"] == "tool")
    assert "Paris: sunny, 21C" in tool_msg["content"] and "Title: Forecast" in tool_msg["content"]


def test_chat_survives_an_error_raised_by_a_turn(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(isolated_home, lms)
    lms.script(Reply(text="One."), Reply(text="Two."))
    env = dict(os.environ, TERM="xterm")
    index = isolated_home / ".openclaw" / "agents" / "main" / "sessions" / "sessions.json"
    child = pexpect.spawn(
        sys.executable, ["-m", "openclaw", "agent"], env=env, encoding="utf-8", timeout=15
    )
    try:
        child.expect("› ")
        child.sendline("hello")
        child.expect("One.")
        child.expect("› ")
        good = index.read_text()
        index.write_text("{broken")
        child.sendline("again")
        child.expect("Error: Session index .* is not valid JSON")
        child.expect("Hint: ")
        child.expect("› ")  # still in the chat
        index.write_text(good)
        child.sendline("and again")
        child.expect("Two.")
        child.expect("› ")
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")


def test_json_without_a_message_on_a_terminal_is_refused(isolated_home: Path) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "openclaw", "agent", "--json"],
        env=dict(os.environ, TERM="xterm"),
        encoding="utf-8",
        timeout=15,
    )
    child.expect("Error: --json needs a message")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
