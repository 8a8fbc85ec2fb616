"""Shared helpers for the agent tests (config writing, specs for loop unit tests)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from openclaw.config.settings import ModelSettings
from openclaw.llm.types import (
    AssistantMessage,
    ChatOptions,
    Context,
    DoneEvent,
    ErrorEvent,
    Event,
    ModelSpec,
    StartEvent,
    TextContent,
    TextDeltaEvent,
    ToolCall,
    ToolCallEndEvent,
    Usage,
)
from openclaw.net.policy import STRICT_POLICY


def write_config(home: Path, data: dict[str, Any]) -> Path:
    state = home / ".openclaw"
    state.mkdir(parents=True, exist_ok=True)
    path = state / "openclaw.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def make_spec(
    key: str = "test/m1", *, context: int | None = 32768, max_tokens: int | None = 1024, **row: Any
) -> ModelSpec:
    provider, model = key.split("/", 1)
    full_row: dict[str, Any] = {"id": model, **row}
    if context is not None:
        full_row["contextWindow"] = context
    if max_tokens is not None:
        full_row["maxTokens"] = max_tokens
    return ModelSpec(
        provider_id=provider,
        model_id=model,
        wire_model_id=model,
        api="openai-completions",
        base_url="http://127.0.0.1:9/v1",
        model=ModelSettings.read(full_row, {}),
        compat=dict(row.get("compat", {})),
        api_key=None,
        credential_source="none",
        headers={},
        timeout_seconds=None,
        policy=STRICT_POLICY,
    )


Script = Callable[[ModelSpec, Context, int], list[Event]]


class ScriptedStream:
    """A stand-in for ``stream_model`` in loop-logic unit tests only: replays scripted events
    and records every context it was called with."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: list[tuple[ModelSpec, Context]] = []

    def __call__(
        self, spec: ModelSpec, context: Context, options: ChatOptions
    ) -> AsyncIterator[Event]:
        self.calls.append((spec, context))
        events = self.script(spec, context, len(self.calls))

        async def gen() -> AsyncIterator[Event]:
            for ev in events:
                yield ev

        return gen()


def reply_events(spec: ModelSpec, text: str, usage: Usage | None = None) -> list[Event]:
    u = usage or Usage(input=10, output=5, total=15, source="reported")
    msg = AssistantMessage(
        content=[TextContent(text=text)], provider=spec.provider_id, model=spec.model_id, usage=u
    )
    return [StartEvent(), TextDeltaEvent(0, text), DoneEvent(msg, "stop", u)]


def tool_events(
    spec: ModelSpec, name: str, args: dict[str, Any], call_id: str = "c1"
) -> list[Event]:
    call = ToolCall(id=call_id, name=name, arguments=args)
    u = Usage(input=20, output=7, total=27, source="reported")
    msg = AssistantMessage(
        content=[call],
        provider=spec.provider_id,
        model=spec.model_id,
        usage=u,
        stop_reason="toolUse",
    )
    return [StartEvent(), ToolCallEndEvent(0, call), DoneEvent(msg, "toolUse", u)]


def error_events(spec: ModelSpec, error: Exception) -> list[Event]:
    msg = AssistantMessage(
        content=[], provider=spec.provider_id, model=spec.model_id, stop_reason="error"
    )
    return [ErrorEvent(msg, "error", error)]  # type: ignore[arg-type]
