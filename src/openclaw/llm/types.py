"""Provider-agnostic message, usage and stream-event model (plain dataclasses).

Everything a chat call needs travels in a :class:`ModelSpec` (built by
``providers.runtime.resolve_model_spec``) plus a :class:`Context` and :class:`ChatOptions`.
A call yields :data:`Event` values: ``start``, text/thinking/tool-call start-delta-end triples,
then exactly one ``done`` or ``error``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Union

if TYPE_CHECKING:
    from openclaw.config.settings import ModelSettings
    from openclaw.errors import OpenClawError
    from openclaw.net.policy import NetPolicy

StopReason = Literal["stop", "length", "toolUse", "error", "aborted"]
UsageSource = Literal["reported", "timings", "estimated", "none"]
THINKING_LEVELS: tuple[str, ...] = (
    "off",
    "minimal",
    "low",
    "medium",
    "high",
    "xhigh",
    "adaptive",
    "max",
)


def _now() -> float:
    return time.time()


# --- content ---------------------------------------------------------------------------------


@dataclass
class TextContent:
    text: str
    type: Literal["text"] = "text"


@dataclass
class ImageContent:
    data: str  # base64, no data: prefix
    mime_type: str
    type: Literal["image"] = "image"


@dataclass
class ThinkingContent:
    thinking: str
    type: Literal["thinking"] = "thinking"


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str = ""
    type: Literal["toolCall"] = "toolCall"


# --- usage -----------------------------------------------------------------------------------


@dataclass
class Usage:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    total: int = 0
    cost: float = 0.0
    source: UsageSource = "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "output": self.output,
            "cacheRead": self.cache_read,
            "cacheWrite": self.cache_write,
            "totalTokens": self.total,
            "cost": self.cost,
            "source": self.source,
        }


# --- messages --------------------------------------------------------------------------------


@dataclass
class UserMessage:
    content: str | list[TextContent | ImageContent]
    timestamp: float = field(default_factory=_now)
    role: Literal["user"] = "user"


@dataclass
class AssistantMessage:
    content: list[TextContent | ThinkingContent | ToolCall] = field(default_factory=list)
    provider: str = ""
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    stop_reason: StopReason = "stop"
    error_message: str | None = None
    timestamp: float = field(default_factory=_now)
    role: Literal["assistant"] = "assistant"

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.content if isinstance(c, TextContent))

    @property
    def thinking(self) -> str:
        return "".join(c.thinking for c in self.content if isinstance(c, ThinkingContent))

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [c for c in self.content if isinstance(c, ToolCall)]


@dataclass
class ToolResultMessage:
    tool_call_id: str
    tool_name: str
    content: list[TextContent | ImageContent]
    is_error: bool = False
    timestamp: float = field(default_factory=_now)
    role: Literal["toolResult"] = "toolResult"


Message = Union[UserMessage, AssistantMessage, ToolResultMessage]  # noqa: UP007


@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class Context:
    system_prompt: str | None = None
    messages: list[Message] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)


# --- call description ------------------------------------------------------------------------


@dataclass
class ModelSpec:
    """Everything one call needs; built by ``providers.runtime.resolve_model_spec``.

    ``model`` is the typed row with its provider's settings (:mod:`openclaw.config.settings`).
    ``repr()`` leaves out every field that can hold a secret: the key itself, the settings (a
    literal ``apiKey``, ``request.auth``) and the headers (a configured ``Authorization``), so a
    spec in a log line or a traceback never shows a key."""

    provider_id: str
    model_id: str  # configured id (transcripts, config, caches)
    wire_model_id: str  # the body's "model" (LM Studio: loaded instance id)
    api: str  # "openai-completions"
    base_url: str  # inference base; ends in /v1 for openai-completions
    model: ModelSettings = field(repr=False)
    compat: dict[str, Any]
    api_key: str | None = field(repr=False)  # a real secret or None; never a marker
    credential_source: str  # for hints: "profile lmstudio:default", "env LM_API_TOKEN", ...
    headers: dict[str, str] = field(repr=False)
    timeout_seconds: float | None
    policy: NetPolicy

    @property
    def key(self) -> str:
        return f"{self.provider_id}/{self.model_id}"

    @property
    def row(self) -> dict[str, Any]:
        """The model row as written, for keys only a provider kind reads."""
        return self.model.raw

    @property
    def provider_config(self) -> dict[str, Any]:
        """The provider's config as written, for keys only a provider kind reads."""
        return self.model.provider.raw

    @property
    def reasoning(self) -> bool:
        return self.model.reasoning

    @property
    def context_tokens(self) -> int | None:
        return self.model.configured_context

    @property
    def merged_params(self) -> dict[str, Any]:
        """The provider's ``params`` with the model row's on top."""
        return self.model.merged_params

    @property
    def max_tokens(self) -> int | None:
        return self.model.output_limit

    @property
    def input_kinds(self) -> list[str]:
        return list(self.model.input)


@dataclass
class ChatOptions:
    thinking: str | None = None  # one of THINKING_LEVELS; None = model default
    max_tokens: int | None = None
    temperature: float | None = None
    streaming: bool | None = None  # None = model params.streaming (default True)


# --- events ----------------------------------------------------------------------------------


@dataclass
class StartEvent:
    type: Literal["start"] = "start"


@dataclass
class TextStartEvent:
    index: int
    type: Literal["text_start"] = "text_start"


@dataclass
class TextDeltaEvent:
    index: int
    delta: str
    type: Literal["text_delta"] = "text_delta"


@dataclass
class TextEndEvent:
    index: int
    text: str
    type: Literal["text_end"] = "text_end"


@dataclass
class ThinkingStartEvent:
    index: int
    type: Literal["thinking_start"] = "thinking_start"


@dataclass
class ThinkingDeltaEvent:
    index: int
    delta: str
    type: Literal["thinking_delta"] = "thinking_delta"


@dataclass
class ThinkingEndEvent:
    index: int
    thinking: str
    type: Literal["thinking_end"] = "thinking_end"


@dataclass
class ToolCallStartEvent:
    index: int
    id: str
    name: str
    type: Literal["toolcall_start"] = "toolcall_start"


@dataclass
class ToolCallDeltaEvent:
    index: int
    delta: str
    type: Literal["toolcall_delta"] = "toolcall_delta"


@dataclass
class ToolCallEndEvent:
    index: int
    tool_call: ToolCall
    type: Literal["toolcall_end"] = "toolcall_end"


@dataclass
class DoneEvent:
    message: AssistantMessage
    stop_reason: StopReason
    usage: Usage
    type: Literal["done"] = "done"


@dataclass
class ErrorEvent:
    message: AssistantMessage  # the partial message, kept
    stop_reason: Literal["error", "aborted"]
    error: OpenClawError
    type: Literal["error"] = "error"


def error_event(spec: ModelSpec, error: OpenClawError) -> ErrorEvent:
    """A call that failed before any answer: an empty message carrying the error."""
    message = AssistantMessage(
        provider=spec.provider_id,
        model=spec.model_id,
        stop_reason="error",
        error_message=error.message,
    )
    return ErrorEvent(message, "error", error)


Event = Union[  # noqa: UP007
    StartEvent,
    TextStartEvent,
    TextDeltaEvent,
    TextEndEvent,
    ThinkingStartEvent,
    ThinkingDeltaEvent,
    ThinkingEndEvent,
    ToolCallStartEvent,
    ToolCallDeltaEvent,
    ToolCallEndEvent,
    DoneEvent,
    ErrorEvent,
]

__all__ = [
    "THINKING_LEVELS",
    "AssistantMessage",
    "ChatOptions",
    "Context",
    "DoneEvent",
    "ErrorEvent",
    "Event",
    "ImageContent",
    "Message",
    "ModelSpec",
    "StartEvent",
    "StopReason",
    "TextContent",
    "TextDeltaEvent",
    "TextEndEvent",
    "TextStartEvent",
    "ThinkingContent",
    "ThinkingDeltaEvent",
    "ThinkingEndEvent",
    "ThinkingStartEvent",
    "ToolCall",
    "ToolCallDeltaEvent",
    "ToolCallEndEvent",
    "ToolCallStartEvent",
    "ToolResultMessage",
    "ToolSpec",
    "Usage",
    "UsageSource",
]
