"""The answer's budget (issue 14 point 14): ``max_tokens`` sent is the model's maxTokens capped
by the context the prompt leaves, and the small-context warning fires only when the prompt
really leaves no room. Checked on the requests a fake LM Studio records."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli
from tests.servers.fake_lmstudio import FakeLMStudio, Reply

from .conftest import lms_config


def _sent_max_tokens(fake: FakeLMStudio) -> list[int | None]:
    bodies = [r.json for r in fake.requests if r.path == "/v1/chat/completions"]
    return [b.get("max_tokens", b.get("max_completion_tokens")) for b in bodies]


def test_max_tokens_equal_to_the_window_is_capped_by_the_prompt(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    """The README's 8K example: maxTokens == contextWindow must not be sent as is."""
    lms_config(isolated_home, lms, context=8192, max_tokens=8192)
    lms.script(Reply(text="ok"))
    res = run_cli("agent", "-m", "hi")
    assert res.returncode == 0, res.stderr
    (sent,) = _sent_max_tokens(lms)
    assert sent is not None and 0 < sent < 8192
    assert 8192 - sent > 100  # the system prompt and tools take real room
    assert "Warning" not in res.stderr  # an 8K context with a short prompt is fine


def test_smaller_max_tokens_is_sent_unchanged(isolated_home: Path, lms: FakeLMStudio) -> None:
    lms_config(isolated_home, lms, context=32768, max_tokens=512)
    lms.script(Reply(text="ok"))
    res = run_cli("agent", "-m", "hi")
    assert res.returncode == 0, res.stderr
    assert _sent_max_tokens(lms) == [512]
    assert "Warning" not in res.stderr


def test_warning_only_when_the_prompt_leaves_too_little_room(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    lms_config(isolated_home, lms, context=2048, max_tokens=4096)
    lms.script(Reply(text="ok"))
    long_message = "word " * 1000  # about 1,250 estimated tokens of a 2,048 context
    res = run_cli("agent", "-m", long_message, "--tools", "none")
    assert res.returncode == 0, res.stderr
    (sent,) = _sent_max_tokens(lms)
    assert sent is not None and sent < 1024
    assert "leaving only" in res.stderr and "for the answer" in res.stderr
