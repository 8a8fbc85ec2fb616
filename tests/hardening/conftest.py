"""Fixtures for the hardening tests: a fake LM Studio and a config pointing at it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.fake_lmstudio import FakeLMStudio

MODEL = "qwen/qwen3.5-9b"


@pytest.fixture
def lms() -> Iterator[FakeLMStudio]:
    with FakeLMStudio() as fake:
        yield fake


def config_path(home: Path) -> Path:
    return home / ".openclaw" / "openclaw.json"


def write_config(home: Path, data: dict[str, Any]) -> Path:
    path = config_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def provider_config(
    base_url: str, *, provider: str = "lmstudio", model: str = MODEL, **extra: Any
) -> dict[str, Any]:
    """A config with one provider and one model row, that model the default."""
    row = {"id": model, "name": model, "contextWindow": 32768, "maxTokens": 1024}
    return {
        "models": {
            "providers": {
                provider: {
                    "baseUrl": base_url,
                    "api": "openai-completions",
                    "apiKey": "lmstudio-local" if provider == "lmstudio" else "custom-local",
                    "models": [row],
                    **extra,
                }
            }
        },
        "agents": {"defaults": {"model": {"primary": f"{provider}/{model}"}}},
    }
