"""`openclaw agent` with an installed but unloaded LM Studio model: the model is loaded at the
configured context before the chat request, and the user sees the load as it happens (a
spinner with elapsed seconds on a terminal, plain lines in a pipe). A server that is slow to
give its first output shows the wait the same way, and a quick one shows nothing."""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

import pexpect
import pytest

from openclaw.providers import progress
from tests.conftest import run_cli
from tests.servers.fake_lmstudio import FakeLMStudio, Reply

from .conftest import LMS_MODEL, lms_config

UNLOADED = "qwen/qwen3-coder-30b"  # installed in the fake, no loaded instance


def _loads(fake: FakeLMStudio) -> list[int]:
    return [r.json["context_length"] for r in fake.requests if r.path == "/api/v1/models/load"]


def _agent_on_a_terminal() -> pexpect.spawn:
    """`openclaw agent -m hi` on a pseudo-terminal (the spinner only draws on one)."""
    return pexpect.spawn(
        sys.executable,
        ["-m", "openclaw", "agent", "-m", "hi"],
        env=dict(os.environ),
        encoding="utf-8",
        timeout=30,
    )


def test_unloaded_model_is_loaded_at_configured_context_with_plain_lines(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    lms_config(isolated_home, lms, model=UNLOADED, row_extra={"contextTokens": 16384})
    lms.load_delay = 0.5
    lms.script(Reply(text="Loaded and answering."))
    res = run_cli("agent", "-m", "hi")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "Loaded and answering."
    assert _loads(lms) == [16384]
    # the load finished before the chat request was sent
    paths = [r.path for r in lms.requests]
    assert paths.index("/api/v1/models/load") < paths.index("/v1/chat/completions")
    assert f"Loading {UNLOADED} in LM Studio (16384 context tokens)…\n" in res.stderr
    assert f"Load of {UNLOADED} finished after " in res.stderr
    assert "\x1b" not in res.stderr and "\r" not in res.stderr


def test_spinner_with_elapsed_seconds_on_a_terminal(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(isolated_home, lms, model=UNLOADED, row_extra={"contextTokens": 16384})
    lms.load_delay = 1.6
    lms.script(Reply(text="Spun and answered."))
    child = _agent_on_a_terminal()
    try:
        child.expect(rf"Loading {UNLOADED} in LM Studio \(16384 context tokens\)… 1s")
        child.expect("Spun and answered.")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert _loads(lms) == [16384]


def test_a_slow_first_answer_shows_the_wait_and_clears_it_on_a_terminal(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    lms_config(isolated_home, lms)
    lms.script(Reply(text="Slow but here.", chunk_delay=1.8, chunk_size=64))
    child = _agent_on_a_terminal()
    try:
        child.expect(rf"Waiting for lmstudio/{LMS_MODEL} to answer… \d+s")
        child.expect("Slow but here.")
        between = child.before
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    # The spinner line was erased before the answer was written.
    assert between.rfind("\x1b[2K") > between.rfind("to answer…")


def test_a_quick_answer_shows_no_wait(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(isolated_home, lms)
    lms.script(Reply(text="Quick."))
    res = run_cli("agent", "-m", "hi")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "Quick."
    assert "Waiting for" not in res.stderr


def test_plain_lines_name_the_wait_until_the_first_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a pipe the wait is a plain line every PLAIN_EVERY seconds (shortened here)."""
    monkeypatch.setattr(progress, "WAIT_SHOWN_AFTER", 0.05)
    stream = io.StringIO()
    with progress.load_progress(stream) as display:
        display.interval = 0.05
        display.expect_output("vllm/m")
        time.sleep(0.4)
        display.output_seen()
        after_answer = stream.getvalue()
        time.sleep(0.2)
    lines = after_answer.splitlines()
    assert len(lines) >= 2
    assert all(line.startswith("Waiting for vllm/m to answer… ") for line in lines)
    assert stream.getvalue() == after_answer  # nothing more once the model answered
    assert "\x1b" not in after_answer and "\r" not in after_answer
