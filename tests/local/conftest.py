"""Fixtures for the downloader tests: a running fake hub + CDN and an environment pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.fake_hub import FakeHub

_HF_VARS = (
    "HF_ENDPOINT",
    "MODEL_ENDPOINT",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_HUB_OFFLINE",
    "HF_HOME",
    "HF_HUB_CACHE",
)


@pytest.fixture(autouse=True)
def _no_hf_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own HF settings must never steer (or be used by) a test.
    for name in _HF_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_hub() -> Iterator[FakeHub]:
    with FakeHub() as hub:
        yield hub


@pytest.fixture
def cache_dir(isolated_home: Path) -> Path:
    return isolated_home / "hf-cache"


@pytest.fixture
def hub_env(fake_hub: FakeHub, cache_dir: Path) -> dict[str, str]:
    """Environment for a pull against the fake: quick back-off so retries do not drag."""
    return {**fake_hub.env(cache_dir), "OPENCLAW_DOWNLOAD_BACKOFF_SECONDS": "0.05"}
