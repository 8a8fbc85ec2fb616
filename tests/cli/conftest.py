"""Fixtures of the CLI tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "reference_openclaw.json"


@pytest.fixture
def reference_home(isolated_home: Path) -> Path:
    """The reference CLI's config (an LM Studio provider with models) as this HOME's config."""
    state = isolated_home / ".openclaw"
    state.mkdir()
    shutil.copy(FIXTURE, state / "openclaw.json")
    return state / "openclaw.json"
