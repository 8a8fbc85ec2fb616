"""The shapes a turn is driven by and reports with: options in, observer callbacks during,
the result out. The CLI renders through :class:`TurnObserver`; the runner never prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio

from openclaw.errors import OpenClawError
from openclaw.llm.types import AssistantMessage, ModelSpec, ToolCall, ToolResultMessage, Usage

MAX_TOOL_ROUNDS = 8
DEFAULT_TIMEOUT = 600.0


class TurnObserver:
    """Callbacks for rendering a turn as it happens. All no-ops by default."""

    def on_notice(self, text: str, level: Literal["info", "warn"] = "info") -> None: ...
    def on_model(self, spec: ModelSpec, fallback_from: str | None) -> None: ...
    def on_text(self, delta: str) -> None: ...
    def on_thinking(self, delta: str) -> None: ...
    def on_message_end(self, message: AssistantMessage) -> None: ...
    def on_tool_call(self, call: ToolCall) -> None: ...
    def on_tool_result(self, result: ToolResultMessage) -> None: ...


class AbortHandle:
    """Lets a signal handler (Ctrl-C) stop the stream that is running right now."""

    def __init__(self) -> None:
        self.aborted = False
        self._scope: anyio.CancelScope | None = None

    def abort(self) -> None:
        self.aborted = True
        if self._scope is not None:
            self._scope.cancel()


@dataclass
class TurnOptions:
    message: str
    agent_id: str = "main"
    model: str | None = None  # explicit ref: never falls back
    thinking: str | None = None
    session_key: str | None = None
    session_id: str | None = None
    new_session: bool = False
    timeout: float | None = DEFAULT_TIMEOUT
    tools: Literal["none", "default"] = "default"
    max_tool_rounds: int = MAX_TOOL_ROUNDS


@dataclass
class FallbackAttempt:
    ref: str
    error: str


@dataclass
class TurnResult:
    session_key: str
    session_id: str
    text: str = ""
    provider: str | None = None
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    stop_reason: str = "stop"
    error: OpenClawError | None = None
    duration_ms: int = 0
    ttft_ms: int | None = None
    tokens_per_second: float | None = None
    attempts: list[FallbackAttempt] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    tools_enabled: bool = False
    tools_note: str | None = None
    tool_calls: int = 0
    model_calls: int = 0
    context_tokens: int | None = None
    transcript_path: Path | None = None
    sent: bool = False  # whether any request reached a model

    @property
    def fell_back(self) -> bool:
        return bool(self.attempts) and self.error is None

    @property
    def aborted(self) -> bool:
        return self.stop_reason == "aborted"

    def usage_dict(self) -> dict[str, Any]:
        u = self.usage
        return {
            "input": u.input,
            "output": u.output,
            "cacheRead": u.cache_read,
            "cacheWrite": u.cache_write,
            "total": u.total,
            "source": u.source,
        }
