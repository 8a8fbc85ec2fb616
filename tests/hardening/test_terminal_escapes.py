"""Issue 14 point 1: server and model text never reaches the terminal with raw control characters.

A hostile server (the fake LM Studio, scripted) puts clear-screen, fake colours, a window
title, an OSC 52 clipboard write and C1 controls into every surface openclaw prints: model
names and loaded-instance ids, HTTP error bodies, SSE error events, streamed answer and
thinking text, tool calls and tool results, transcripts. Each surface is run as a real
subprocess; the output must hold no raw control character (other than newline and tab) and
must show the payload as a visible ``\\u001b`` escape instead of dropping it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.servers.fake_lmstudio import FakeLMStudio, Reply, default_models

from .conftest import provider_config, write_config

# clear screen, window title (OSC 0), clipboard write (OSC 52), fake red, CSI as C1, DCS (C1)
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;aGk=\x07\x1b[31mRED\x9b31m\x90dcs\x7f"
VISIBLE = "\\u001b]0;pwned\\u0007"


def raw_controls(text: str) -> list[str]:
    """Control characters a terminal would act on (newline and tab are plain text)."""
    return sorted(
        {
            f"U+{ord(ch):04X}"
            for ch in text
            if (ord(ch) < 0x20 and ch not in "\n\t") or 0x7F <= ord(ch) <= 0x9F
        }
    )


def assert_clean(output: str) -> None:
    assert raw_controls(output) == [], output
    assert VISIBLE in output, output


@pytest.fixture
def configured(isolated_home: Path, lms: FakeLMStudio) -> FakeLMStudio:
    write_config(isolated_home, provider_config(lms.base_url))
    return lms


def test_streamed_answer_and_thinking(configured: FakeLMStudio) -> None:
    configured.script(Reply(text=f"answer {HOSTILE} end", reasoning=f"think {HOSTILE}"))
    result = run_cli("agent", "-m", "hi")
    assert result.returncode == 0, result.stderr
    assert "answer" in result.stdout and "think" in result.stderr
    assert_clean(result.stdout)
    assert_clean(result.stderr)


def test_answer_in_json_output_escapes_c1(configured: FakeLMStudio) -> None:
    configured.script(Reply(text=f"answer {HOSTILE}"))
    result = run_cli("agent", "-m", "hi", "--json")
    assert result.returncode == 0, result.stderr
    assert raw_controls(result.stdout) == []
    # Still the same text once decoded: the escapes are JSON's own.
    assert json.loads(result.stdout)["payloads"][0]["text"] == f"answer {HOSTILE}"


def test_http_error_body(configured: FakeLMStudio) -> None:
    configured.override(
        "/v1/chat/completions", 400, {"error": {"message": f"bad {HOSTILE}"}}, times=None
    )
    result = run_cli("agent", "-m", "hi")
    assert result.returncode == 1
    assert "bad" in result.stderr
    assert_clean(result.output)


def test_sse_error_event(configured: FakeLMStudio) -> None:
    configured.script(Reply(text="partial", stream_error={"message": f"boom {HOSTILE}"}))
    result = run_cli("agent", "-m", "hi")
    assert result.returncode == 1
    assert "boom" in result.stderr
    assert_clean(result.output)


def test_tool_call_and_tool_result(configured: FakeLMStudio) -> None:
    configured.script(
        Reply(tool_calls=[{"name": "read", "arguments": {"path": f"x{HOSTILE}.txt"}}]),
        Reply(text="done"),
    )
    result = run_cli("agent", "-m", "read it")
    assert result.returncode == 0, result.stderr
    assert "→ read" in result.stderr and "✗" in result.stderr
    assert_clean(result.output)
    # The stored transcript, printed again, is just as clean.
    sessions = json.loads(run_cli("sessions", "list", "--json").stdout)["sessions"]
    shown = run_cli("sessions", "show", sessions[0]["sessionId"])
    assert shown.returncode == 0, shown.stderr
    assert_clean(shown.output)


def _hostile_catalog() -> list[dict]:
    models = default_models()
    models[1]["display_name"] = f"Coder {HOSTILE}"  # not configured: discovery names it
    models[0]["loaded_instances"] = [{"id": f"inst{HOSTILE}", "config": {"context_length": 4096}}]
    return models


def test_model_names_and_loaded_instance_ids(configured: FakeLMStudio) -> None:
    configured.set_models(_hostile_catalog())
    listed = run_cli("models", "list", "--refresh", "--json")
    assert listed.returncode == 0, listed.stderr
    assert raw_controls(listed.output) == []
    names = [m["name"] for m in json.loads(listed.stdout)["models"]]
    assert any(HOSTILE in name for name in names)
    probe = run_cli("models", "status", "--probe")
    assert "inst" in probe.stdout
    assert_clean(probe.output)


def test_pseudo_terminal_keeps_own_colours_drops_hostile(configured: FakeLMStudio) -> None:
    pexpect = pytest.importorskip("pexpect")
    configured.script(Reply(text=f"answer {HOSTILE} end", reasoning=f"think {HOSTILE}"))
    env = dict(os.environ)
    env["TERM"] = "xterm-256color"
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "openclaw", "agent", "-m", "hi"],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    child.expect(pexpect.EOF)
    child.close()
    output = child.before
    assert child.exitstatus == 0, output
    # rich draws with CSI sequences of its own (colours, cursor moves): those stay.
    assert "\x1b[" in output
    for hostile in ("\x1b]", "\x07", "\x1b[2J", "\x1b[31mRED", "\x9b", "\x90", "\x7f"):
        assert hostile not in output, (hostile, output)
    assert "pwned" in output
