"""The 30-second readiness record is shared by separate `openclaw agent -m` processes.

Issue #5: the reference checks `/api/v1/models` before every model call, so five one-shot
turns cost ten requests. Here five turns within 30 seconds cost five chats and one check,
whether they run in one chat loop or as five processes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import run_cli
from tests.servers.fake_lmstudio import FakeLMStudio

MODELS = "GET /api/v1/models"
CHAT = "POST /v1/chat/completions"
LOAD = "POST /api/v1/models/load"


def onboard(fake: FakeLMStudio) -> None:
    result = run_cli(
        "onboard", "--non-interactive", "--accept-risk", "--auth-choice", "lmstudio",
        "--custom-base-url", fake.base_url, "--custom-model-id", "qwen/qwen3.5-9b",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    fake.clear_requests()


def turn(message: str) -> None:
    result = run_cli("agent", "-m", message, "--session-key", "runs")
    assert result.returncode == 0, result.stderr


def test_five_one_shot_turns_make_one_model_check(fake_lmstudio: FakeLMStudio) -> None:
    onboard(fake_lmstudio)
    for n in range(5):
        turn(f"turn {n}")
    paths = fake_lmstudio.paths()
    assert paths.count(CHAT) == 5
    assert paths.count(MODELS) == 1
    assert LOAD not in paths


def test_an_expired_record_is_checked_again(isolated_home: Path) -> None:
    with FakeLMStudio() as lms:
        onboard(lms)
        turn("first")
        record_file = isolated_home / ".openclaw" / "cache" / "lmstudio-ready.json"
        records = json.loads(record_file.read_text())
        assert len(records) == 1
        for record in records.values():
            record["checkedAt"] = time.time() - 31
        record_file.write_text(json.dumps(records))
        lms.clear_requests()
        turn("second")
        assert lms.paths() == [MODELS, CHAT]


def test_a_stale_record_recovers_when_the_model_was_unloaded(isolated_home: Path) -> None:
    """The record says loaded, LM Studio unloaded it meanwhile (JIT off): the 'not loaded'
    answer makes the next run check, load and retry once, and the turn still succeeds."""
    with FakeLMStudio(jit=False) as lms:
        onboard(lms)
        turn("first")
        lms.unload("qwen/qwen3.5-9b")
        lms.clear_requests()
        turn("second")
        paths = lms.paths()
        assert paths[0] == CHAT  # trusted the fresh record first
        assert paths[1:] == [MODELS, LOAD, CHAT]
