"""Shared helpers for the LM Studio provider tests."""

from __future__ import annotations

from typing import Any

from tests.servers.fake_lmstudio import FakeLMStudio

from openclaw.config.settings import ModelSettings
from openclaw.llm.types import ModelSpec
from openclaw.net.policy import policy_for_provider_config


def llm(key: str, *, max_ctx: Any = None, instances: list | None = None, **extra: Any) -> dict:
    entry: dict[str, Any] = {"type": "llm", "key": key, "loaded_instances": instances or []}
    if max_ctx is not None:
        entry["max_context_length"] = max_ctx
    entry.update(extra)
    return entry


def inst(ident: str, ctx: Any) -> dict:
    return {"id": ident, "config": {"context_length": ctx}}


def make_spec(
    fake: FakeLMStudio,
    model: str = "qwen/qwen3-coder-30b",
    *,
    row: dict | None = None,
    provider: dict | None = None,
    api_key: str | None = None,
    compat: dict | None = None,
    timeout: float | None = None,
) -> ModelSpec:
    pcfg = {"baseUrl": fake.base_url, "api": "openai-completions", **(provider or {})}
    return ModelSpec(
        provider_id="lmstudio",
        model_id=model,
        wire_model_id=model,
        api="openai-completions",
        base_url=pcfg["baseUrl"],
        model=ModelSettings.read(row if row is not None else {"id": model}, pcfg),
        compat=compat or {},
        api_key=api_key,
        credential_source="none",
        headers={},
        timeout_seconds=timeout,
        policy=policy_for_provider_config("lmstudio", pcfg),
    )


class Clock:
    """An injectable clock for back-off tests (seconds)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds
