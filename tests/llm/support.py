"""Helpers shared by the llm tests: model specs for a base URL and event normalisation."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from openclaw.config.settings import ModelSettings
from openclaw.llm.compat import resolve_compat
from openclaw.llm.types import DoneEvent, ErrorEvent, Event, ModelSpec
from openclaw.net.policy import provider_policy

STREAMS = Path(__file__).parent / "streams"
_GENERATED_ID = re.compile(r"^call_[0-9a-f]{24}$")


def make_spec(
    base_url: str = "http://127.0.0.1:9/v1",
    *,
    provider_id: str = "llama-cpp",
    model_id: str = "tiny",
    row: dict[str, Any] | None = None,
    compat: dict[str, Any] | None = None,
    provider_config: dict[str, Any] | None = None,
    api_key: str | None = None,
    credential_source: str = "none",
    timeout: float | None = None,
    headers: dict[str, str] | None = None,
) -> ModelSpec:
    row = {"id": model_id, "reasoning": True, **(row or {})}
    if compat:
        row["compat"] = {**row.get("compat", {}), **compat}
    pc = {"baseUrl": base_url, "api": "openai-completions", **(provider_config or {})}
    return ModelSpec(
        provider_id=provider_id,
        model_id=model_id,
        wire_model_id=model_id,
        api="openai-completions",
        base_url=base_url,
        model=ModelSettings.read(row, pc),
        compat=resolve_compat(provider_id, pc, row),
        api_key=api_key,
        credential_source=credential_source,
        headers=headers or {},
        timeout_seconds=timeout,
        policy=provider_policy(provider_id, base_url, None),
    )


def normalise(events: list[Event]) -> list[dict[str, Any]]:
    """Events as plain data without wall-clock timestamps or generated call ids."""

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items() if k != "timestamp"}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, str) and _GENERATED_ID.match(value):
            return "call_<generated>"
        return value

    out = []
    for e in events:
        d = dataclasses.asdict(e)  # type: ignore[call-overload]
        if isinstance(e, ErrorEvent):
            d["error"] = f"{type(e.error).__name__}: {e.error.message}"
        out.append(scrub(d))
    return out


def final(events: list[Event]) -> DoneEvent | ErrorEvent:
    last = events[-1]
    assert isinstance(last, DoneEvent | ErrorEvent), last
    return last
