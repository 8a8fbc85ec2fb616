"""Fixtures for provider tests: a running fake LM Studio per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.servers.fake_lmstudio import FakeLMStudio


@pytest.fixture
def fake_lmstudio() -> Iterator[FakeLMStudio]:
    """A fresh fake LM Studio on 127.0.0.1 (default catalog, no auth, JIT on)."""
    with FakeLMStudio() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset_lmstudio_state() -> Iterator[None]:
    """Preload back-off, in-flight and freshness state are process-global: reset per test."""
    try:
        from openclaw.providers.lmstudio import preload
    except ImportError:  # pragma: no cover - while the module is being written
        yield
        return
    preload.reset_state()
    yield
    preload.reset_state()
