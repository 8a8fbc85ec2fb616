"""Ollama's native chat protocol, without the network: the ``POST /api/chat`` body and the
processor that turns its NDJSON lines into :data:`Event` values (ollama.md §C, core.md §7.1).

Pure and synchronous, like ``openai_completions.StreamProcessor``; ``ollama_chat`` feeds it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from openclaw.errors import MalformedResponseError, OpenClawError
from openclaw.llm import usage as usage_mod
from openclaw.llm.ollama_context import num_ctx
from openclaw.llm.text_toolcalls import could_be_tool_call, parse_text_tool_calls
from openclaw.llm.types import (
    AssistantMessage,
    ChatOptions,
    Context,
    DoneEvent,
    ErrorEvent,
    Event,
    ImageContent,
    ModelSpec,
    StartEvent,
    StopReason,
    TextContent,
    TextDeltaEvent,
    TextEndEvent,
    TextStartEvent,
    ThinkingContent,
    ThinkingDeltaEvent,
    ThinkingEndEvent,
    ThinkingStartEvent,
    ToolCall,
    ToolCallDeltaEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
    ToolResultMessage,
    Usage,
    UserMessage,
)

#: Ollama runtime options a model's ``params`` may set (``api/types.go`` Options / Runner).
OLLAMA_OPTIONS = frozenset(
    {
        "num_ctx",
        "num_keep",
        "seed",
        "num_predict",
        "top_k",
        "top_p",
        "min_p",
        "typical_p",
        "repeat_last_n",
        "temperature",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
        "stop",
        "num_batch",
        "num_gpu",
        "main_gpu",
        "use_mmap",
        "num_thread",
    }
)
#: Our camelCase param names for the same options.
_PARAM_ALIASES = {"topP": "top_p", "topK": "top_k", "minP": "min_p", "maxTokens": "num_predict"}
_THINK_LEVELS = {
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "adaptive": "medium",
    "high": "high",
    "xhigh": "high",
    "max": "high",
}
_DONE_REASONS: dict[str, StopReason] = {
    "stop": "stop",
    "length": "length",
    "load": "stop",
    "unload": "stop",
}


def printable(text: str, limit: int = 300) -> str:
    """Server text made safe for one terminal line: control characters (escape sequences
    included) become spaces, runs of whitespace collapse, the length is bounded."""
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in text[: limit * 2]).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


# --- request ---------------------------------------------------------------------------------


def model_capabilities(spec: ModelSpec) -> set[str]:
    """Capabilities discovery recorded on the row (``/api/show``), plus the row's own flags."""
    out = set(spec.model.capabilities)
    if spec.reasoning:
        out.add("thinking")
    return out


def think_value(spec: ModelSpec, level: str | None) -> bool | str | None:
    """The top-level ``think``: an explicit ``params.think`` wins; else from the thinking level,
    only for a model with the ``thinking`` capability (others reject the field). Effort strings
    only where the model takes them (gpt-oss); other thinking models take true/false."""
    params = spec.merged_params
    for key in ("think", "thinking"):
        value = params.get(key)
        if isinstance(value, bool) or value in ("low", "medium", "high"):
            return value
    if level is None or "thinking" not in model_capabilities(spec):
        return None
    if level == "off":
        return False
    if "gpt-oss" in spec.wire_model_id.lower():
        return _THINK_LEVELS.get(level, "medium")
    return True


def request_options(spec: ModelSpec, options: ChatOptions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in spec.merged_params.items():
        name = _PARAM_ALIASES.get(key, key)
        if name in OLLAMA_OPTIONS and value is not None and not isinstance(value, dict):
            out[name] = value
    max_tokens = options.max_tokens if options.max_tokens is not None else spec.max_tokens
    if max_tokens:
        out["num_predict"] = max_tokens
    if options.temperature is not None:
        out["temperature"] = options.temperature
    out["num_ctx"] = num_ctx(spec.model)
    return out


def _text_of(parts: list[TextContent | ImageContent]) -> tuple[str, list[str]]:
    text = "\n".join(p.text for p in parts if isinstance(p, TextContent))
    images = [p.data for p in parts if isinstance(p, ImageContent)]
    return text, images


def convert_messages(spec: ModelSpec, context: Context) -> list[dict[str, Any]]:
    """History in ``/api/chat`` shape: images as base64 lists, tool-call arguments as objects,
    tool results with ``tool_name``."""
    images_ok = "image" in spec.input_kinds
    out: list[dict[str, Any]] = []
    if context.system_prompt:
        out.append({"role": "system", "content": context.system_prompt})
    known_calls: set[str] = set()
    for message in context.messages:
        if isinstance(message, UserMessage):
            if isinstance(message.content, str):
                out.append({"role": "user", "content": message.content})
                continue
            text, images = _text_of(message.content)
            msg: dict[str, Any] = {"role": "user", "content": text}
            if images and images_ok:
                msg["images"] = images
            elif images and not text:
                msg["content"] = "(an image was attached, but this model cannot read images)"
            out.append(msg)
        elif isinstance(message, ToolResultMessage):
            if message.tool_call_id not in known_calls:
                continue  # a result for a call not in the history
            text, images = _text_of(message.content)
            tool_msg: dict[str, Any] = {
                "role": "tool",
                "content": text,
                "tool_name": message.tool_name,
            }
            if images and images_ok:
                tool_msg["images"] = images
            out.append(tool_msg)
        else:
            calls = message.tool_calls if message.stop_reason not in ("error", "aborted") else []
            if not message.text and not calls:
                continue
            assistant: dict[str, Any] = {"role": "assistant", "content": message.text}
            if calls:
                assistant["tool_calls"] = [
                    {"function": {"name": c.name, "arguments": c.arguments}} for c in calls
                ]
                known_calls.update(c.id for c in calls)
            out.append(assistant)
    return out


def build_tools(context: Context) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
            },
        }
        for tool in sorted(context.tools, key=lambda t: t.name)
    ]


def build_chat_body(
    spec: ModelSpec, context: Context, options: ChatOptions, *, stream: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": spec.wire_model_id,
        "messages": convert_messages(spec, context),
        "stream": stream,
        "options": request_options(spec, options),
    }
    tools = build_tools(context) if spec.compat.get("supportsTools") is not False else []
    if tools:
        body["tools"] = tools
    think = think_value(spec, options.thinking)
    if think is not None:
        body["think"] = think
    keep_alive = spec.merged_params.get("keep_alive")
    if isinstance(keep_alive, str | int) and not isinstance(keep_alive, bool):
        body["keep_alive"] = keep_alive
    return body


# --- response --------------------------------------------------------------------------------


class NdjsonProcessor:
    """Feed parsed NDJSON lines; read events with :meth:`drain`; end with :meth:`finish`."""

    def __init__(
        self, spec: ModelSpec, input_chars: int = 0, tool_names: frozenset[str] = frozenset()
    ) -> None:
        self.spec = spec
        self.input_chars = input_chars
        # Small models sometimes print a tool call as text (ollama.md pain point 4): text that
        # may still be only tool-call blocks is held back and promoted at the end.
        self.tool_names = tool_names
        self._holding = bool(tool_names)
        self._held = ""
        self.message = AssistantMessage(provider=spec.provider_id, model=spec.model_id)
        self.events: list[Event] = [StartEvent()]
        self.done = False
        self.done_reason: str | None = None
        self.usage: Any = None
        self._open_kind: str | None = None
        self._calls: list[dict[str, Any]] = []  # {"key", "name", "arguments"}

    def drain(self) -> list[Event]:
        out, self.events = self.events, []
        return out

    def feed_line(self, obj: Any) -> None:
        """One decoded line. Raises :class:`OpenClawError` for an in-stream error."""
        if not isinstance(obj, dict):
            raise MalformedResponseError(
                f"{self.spec.provider_id} sent a stream line that is not a JSON object"
            )
        if "error" in obj:
            text = obj["error"] if isinstance(obj["error"], str) else json.dumps(obj["error"])
            raise MalformedResponseError(
                f"{self.spec.provider_id} reported an error during the stream: {printable(text)}",
                hint="Check Ollama's log (`ollama serve` output); the partial answer was kept.",
            )
        message = obj.get("message")
        if isinstance(message, dict):
            thinking = message.get("thinking") or message.get("reasoning")
            if isinstance(thinking, str) and thinking:
                self._append("thinking", thinking)
            content = message.get("content")
            if isinstance(content, str) and content:
                self._text(content)
            calls = message.get("tool_calls")
            for raw in calls if isinstance(calls, list) else []:
                self._add_call(raw)
        if obj.get("done") is True:
            self.done = True
            reason = obj.get("done_reason")
            self.done_reason = reason if isinstance(reason, str) else None
            self.usage = obj

    def _text(self, delta: str) -> None:
        if not self._holding:
            self._append("text", delta)
            return
        self._held += delta
        if not could_be_tool_call(self._held.lstrip()):
            self._release()

    def _release(self) -> None:
        self._holding = False
        held, self._held = self._held, ""
        if held:
            self._append("text", held)

    def _promote_held(self) -> None:
        """At the end: held text made only of tool-call blocks becomes calls, else text."""
        promoted = None if self._calls else parse_text_tool_calls(self._held, self.tool_names)
        if promoted:
            self._held, self._holding = "", False
            for name, arguments in promoted:
                self._calls.append({"key": None, "id": None, "name": name, "arguments": arguments})
        self._release()

    def _append(self, kind: str, delta: str) -> None:
        content = self.message.content
        if self._open_kind != kind:
            self._close()
            self._open_kind = kind
            if kind == "text":
                content.append(TextContent(""))
                self.events.append(TextStartEvent(len(content) - 1))
            else:
                content.append(ThinkingContent(""))
                self.events.append(ThinkingStartEvent(len(content) - 1))
        index = len(content) - 1
        block = content[index]
        if isinstance(block, TextContent):
            block.text += delta
            self.events.append(TextDeltaEvent(index, delta))
        elif isinstance(block, ThinkingContent):
            block.thinking += delta
            self.events.append(ThinkingDeltaEvent(index, delta))

    def _close(self) -> None:
        if self._open_kind is None:
            return
        index = len(self.message.content) - 1
        block = self.message.content[index]
        if isinstance(block, TextContent):
            self.events.append(TextEndEvent(index, block.text))
        elif isinstance(block, ThinkingContent):
            self.events.append(ThinkingEndEvent(index, block.thinking))
        self._open_kind = None

    def _add_call(self, raw: Any) -> None:
        """Calls arrive whole or in parts over ``done:false`` lines; parts of one call share its
        ``id`` or ``function.index`` and are merged, so each call runs once."""
        fn = raw.get("function") if isinstance(raw, dict) else None
        if not isinstance(fn, dict):
            return
        call_id = raw.get("id") if isinstance(raw.get("id"), str) and raw.get("id") else None
        index = fn.get("index")
        key: Any = ("id", call_id) if call_id else None
        if key is None and isinstance(index, int) and not isinstance(index, bool):
            key = ("index", index)
        arguments = fn.get("arguments")
        if isinstance(arguments, str):  # tolerated: some proxies re-encode the object
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                arguments = {"_raw": arguments}
        args = arguments if isinstance(arguments, dict) else {}
        name = fn.get("name") if isinstance(fn.get("name"), str) else ""
        for call in self._calls:
            same_name = not name or not call["name"] or name == call["name"]
            if key is not None and call["key"] == key and same_name:
                call["name"] = name or call["name"]
                call["arguments"].update(args)
                return
        self._calls.append({"key": key, "id": call_id, "name": name, "arguments": dict(args)})

    def _emit_calls(self) -> None:
        for call in self._calls:
            if not call["name"]:
                continue
            raw = json.dumps(call["arguments"], ensure_ascii=False)
            block = ToolCall(
                id=call["id"] or f"ollama_call_{uuid.uuid4().hex[:24]}",
                name=call["name"],
                arguments=call["arguments"],
                raw_arguments=raw,
            )
            self.message.content.append(block)
            index = len(self.message.content) - 1
            self.events.append(ToolCallStartEvent(index, block.id, block.name))
            self.events.append(ToolCallDeltaEvent(index, raw))
            self.events.append(ToolCallEndEvent(index, block))
        self._calls = []

    def _final_usage(self) -> Any:
        obj = self.usage if isinstance(self.usage, dict) else {}
        prompt = _count(obj.get("prompt_eval_count"))
        output = _count(obj.get("eval_count"))
        if prompt is not None or output is not None:
            found = Usage(input=prompt or 0, output=output or 0, source="reported")
        else:
            out_chars = sum(
                len(c.text) if isinstance(c, TextContent) else len(getattr(c, "thinking", ""))
                for c in self.message.content
            )
            found = usage_mod.estimated(self.input_chars, out_chars)
        return usage_mod.finalize(found, self.spec.model.cost)

    def finish(self) -> DoneEvent | ErrorEvent:
        if not self.done:
            return self.fail(
                MalformedResponseError(
                    f"The stream from {self.spec.provider_id} ended before the final line "
                    "(no done:true); the partial answer was kept",
                    hint="Ollama or a proxy closed the connection; check Ollama's log.",
                )
            )
        self._promote_held()
        self._close()
        self._emit_calls()
        stop: StopReason = _DONE_REASONS.get(self.done_reason or "stop", "stop")
        if self.message.tool_calls and stop == "stop":
            stop = "toolUse"
        usage = self._final_usage()
        self.message.usage = usage
        self.message.stop_reason = stop
        return DoneEvent(self.message, stop, usage)

    def fail(self, error: OpenClawError, stop_reason: str = "error") -> ErrorEvent:
        """End with an error; text received so far stays in the partial message, unfinished
        tool calls are dropped (never executed)."""
        self._release()
        self._close()
        self._calls = []
        reason: Any = "aborted" if stop_reason == "aborted" else "error"
        self.message.usage = self._final_usage()
        self.message.stop_reason = reason
        self.message.error_message = error.message
        return ErrorEvent(self.message, reason, error)


__all__ = [
    "OLLAMA_OPTIONS",
    "NdjsonProcessor",
    "build_chat_body",
    "convert_messages",
    "model_capabilities",
    "request_options",
    "think_value",
]
