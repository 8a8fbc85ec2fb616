"""Fixtures for the agent tests: a running fake LM Studio and config writers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.fake_lmstudio import FakeLMStudio

from .helpers import write_config

LMS_MODEL = "qwen/qwen3.5-9b"


@pytest.fixture
def lms() -> Iterator[FakeLMStudio]:
    with FakeLMStudio() as fake:
        yield fake


def lms_config(
    home: Path,
    fake: FakeLMStudio,
    *,
    model: str = LMS_MODEL,
    context: int = 32768,
    max_tokens: int = 4096,
    fallbacks: list[str] | None = None,
    extra_providers: dict[str, Any] | None = None,
    primary: str | None = None,
    row_extra: dict[str, Any] | None = None,
) -> Path:
    providers: dict[str, Any] = {
        "lmstudio": {
            "baseUrl": fake.base_url,
            "api": "openai-completions",
            "apiKey": "lmstudio-local",
            "models": [
                {
                    "id": model,
                    "name": model,
                    "contextWindow": context,
                    "maxTokens": max_tokens,
                    "reasoning": False,
                    "input": ["text"],
                    **(row_extra or {}),
                }
            ],
        }
    }
    providers.update(extra_providers or {})
    model_cfg: dict[str, Any] = {"primary": primary or f"lmstudio/{model}"}
    if fallbacks:
        model_cfg["fallbacks"] = fallbacks
    return write_config(
        home, {"models": {"providers": providers}, "agents": {"defaults": {"model": model_cfg}}}
    )
