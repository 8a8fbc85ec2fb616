"""The ``openai-completions`` protocol: request body, SSE stream parsing, events.

``build_request_body`` turns a :class:`Context` into the JSON body of
``POST {baseUrl}/chat/completions`` following the model's compat flags (core.md §2.4, §6.1,
§6.2). :class:`StreamProcessor` turns the server's chunks into :data:`Event` values and the
final :class:`AssistantMessage` (core.md §6.3, §6.4); it is synchronous and pure, so the same
code serves streamed and non-streamed answers and can be property-tested on raw bytes.
``stream_chat`` glues both to the network through ``openclaw.net``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from openclaw.config.kinds import OLLAMA, kind_for
from openclaw.errors import (
    MalformedResponseError,
    NetworkError,
    OpenClawError,
    ProviderError,
    RequestTimeoutError,
    ResponseTooLargeError,
    UnreachableError,
)
from openclaw.llm import usage as usage_mod
from openclaw.llm.errors import classify_http_error, html_error, looks_like_html, stream_error
from openclaw.llm.sse import SSEDecoder, SSEProtocolError
from openclaw.llm.text_toolcalls import could_be_tool_call, new_call_id, parse_text_tool_calls
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

if TYPE_CHECKING:
    from openclaw.net.client import GuardedAsyncClient

#: Per-call cap on streamed tool-call arguments (core.md §6.3).
MAX_TOOL_ARGUMENT_BYTES = 256 * 1024
#: Cap on a whole non-streamed answer and on an error body we keep.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024
#: Cap on a whole streamed answer (each event is separately capped by the SSE decoder).
MAX_STREAM_BYTES = 256 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 600.0  # the OpenAI SDK default; local prompt processing can be slow
CONNECT_TIMEOUT_SECONDS = 10.0

EFFORT_ORDER = ("none", "minimal", "low", "medium", "high", "xhigh")
_DEFAULT_EFFORTS = {
    "off": "none",
    "minimal": "minimal",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "xhigh",
    "max": "xhigh",
    "adaptive": "medium",
}
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_LLAMACPP_MAX_LENGTH = 4096


# --- request ---------------------------------------------------------------------------------


def _params(spec: ModelSpec) -> dict[str, Any]:
    params = spec.row.get("params")
    return params if isinstance(params, dict) else {}


def is_streaming(spec: ModelSpec, options: ChatOptions) -> bool:
    if options.streaming is not None:
        return options.streaming
    return _params(spec).get("streaming") is not False


def clean_tool_schema(schema: Any, keywords: set[str], *, llamacpp: bool = False) -> Any:
    """Remove unsupported JSON-schema keywords recursively (property names are kept)."""
    if isinstance(schema, list):
        return [clean_tool_schema(item, keywords, llamacpp=llamacpp) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in keywords:
            continue
        if (
            llamacpp
            and key == "maxLength"
            and isinstance(value, int)
            and value > _LLAMACPP_MAX_LENGTH
        ):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {
                name: clean_tool_schema(sub, keywords, llamacpp=llamacpp)
                for name, sub in value.items()
            }
        else:
            out[key] = clean_tool_schema(value, keywords, llamacpp=llamacpp)
    return out


def _clamp_effort(value: str, supported: list[str]) -> str | None:
    if value in supported:
        return value
    ranked = [s for s in supported if s in EFFORT_ORDER and s != "none"]
    if value not in EFFORT_ORDER or not ranked:
        others = [s for s in supported if s != "none"]
        return others[-1] if others else None
    want = EFFORT_ORDER.index(value)
    return min(ranked, key=lambda s: (abs(EFFORT_ORDER.index(s) - want), -EFFORT_ORDER.index(s)))


def reasoning_effort(spec: ModelSpec, level: str) -> str | None:
    """The wire ``reasoning_effort`` for a thinking level, or None to omit the field."""
    compat = spec.compat
    emap = compat.get("reasoningEffortMap")
    emap = emap if isinstance(emap, dict) else {}
    supported_raw = compat.get("supportedReasoningEfforts")
    supported = (
        [s for s in supported_raw if isinstance(s, str)]
        if isinstance(supported_raw, list)
        else None
    )
    mapped = emap.get(level)
    if level == "off":
        if isinstance(mapped, str) and mapped:
            return mapped
        if supported is not None:
            return "none" if "none" in supported else None
        return "none"
    value = mapped if isinstance(mapped, str) and mapped else _DEFAULT_EFFORTS.get(level, "high")
    if supported:
        return _clamp_effort(value, supported)
    return value


def _apply_reasoning(body: dict[str, Any], spec: ModelSpec, options: ChatOptions) -> None:
    level = options.thinking
    if level is None or not spec.reasoning:
        return
    fmt = spec.compat.get("thinkingFormat") or "openai"
    on = level != "off"
    if fmt == "openai":
        if spec.compat.get("supportsReasoningEffort") is False:
            return
        effort = reasoning_effort(spec, level)
        if effort is not None:
            body["reasoning_effort"] = effort
    elif fmt == "openrouter":
        effort = reasoning_effort(spec, level)
        body["reasoning"] = {"effort": effort or "none"}
    elif fmt in ("deepseek", "zai"):
        body["thinking"] = {"type": "enabled" if on else "disabled"}
    elif fmt == "together":
        body["reasoning"] = {"enabled": on}
    elif fmt == "qwen":
        body["enable_thinking"] = on
    elif fmt == "qwen-chat-template":
        kwargs = body.setdefault("chat_template_kwargs", {})
        kwargs["enable_thinking"] = on


def _tool_id(spec: ModelSpec, call_id: str) -> str:
    if spec.compat.get("requiresMistralToolIds"):
        return hashlib.sha256(call_id.encode()).hexdigest()[:9]
    return call_id


def _image_part(img: ImageContent) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": f"data:{img.mime_type};base64,{img.data}"}}


def convert_messages(spec: ModelSpec, context: Context) -> list[dict[str, Any]]:
    """History in OpenAI chat shape (core.md §6.2)."""
    compat = spec.compat
    string_only = bool(compat.get("requiresStringContent"))
    images_ok = "image" in spec.input_kinds and not string_only
    out: list[dict[str, Any]] = []
    if context.system_prompt:
        role = "developer" if compat.get("supportsDeveloperRole") and spec.reasoning else "system"
        out.append({"role": role, "content": context.system_prompt})

    pending: list[ToolCall] = []
    answered: set[str] = set()
    deferred_images: list[ImageContent] = []

    def close_tool_round() -> None:
        for call in pending:
            if call.id not in answered:
                msg: dict[str, Any] = {
                    "role": "tool",
                    "tool_call_id": _tool_id(spec, call.id),
                    "content": "Error: this tool call did not complete (no result was recorded).",
                }
                if compat.get("requiresToolResultName"):
                    msg["name"] = call.name
                out.append(msg)
        pending.clear()
        answered.clear()
        if deferred_images:
            parts: list[dict[str, Any]] = [
                {"type": "text", "text": "Images returned by the tool call above:"}
            ]
            parts += [_image_part(img) for img in deferred_images]
            out.append({"role": "user", "content": parts})
            deferred_images.clear()

    for message in context.messages:
        if isinstance(message, ToolResultMessage):
            if message.tool_call_id not in {c.id for c in pending}:
                continue  # a result for a call that is not in the history: drop it
            answered.add(message.tool_call_id)
            text = "\n".join(p.text for p in message.content if isinstance(p, TextContent))
            images = [p for p in message.content if isinstance(p, ImageContent)]
            if images and images_ok:
                deferred_images.extend(images)
            elif images and not text:
                text = "(the tool returned an image this model cannot read)"
            tool_msg: dict[str, Any] = {
                "role": "tool",
                "tool_call_id": _tool_id(spec, message.tool_call_id),
                "content": text,
            }
            if compat.get("requiresToolResultName"):
                tool_msg["name"] = message.tool_name
            out.append(tool_msg)
            continue
        close_tool_round()
        if isinstance(message, UserMessage):
            if compat.get("requiresAssistantAfterToolResult") and out and out[-1]["role"] == "tool":
                out.append({"role": "assistant", "content": "I have processed the tool results."})
            out.append({"role": "user", "content": _user_content(message, images_ok, string_only)})
            continue
        # AssistantMessage
        text = "".join(c.text for c in message.content if isinstance(c, TextContent))
        thinking = "".join(c.thinking for c in message.content if isinstance(c, ThinkingContent))
        calls = [c for c in message.content if isinstance(c, ToolCall)]
        if message.stop_reason in ("error", "aborted"):
            calls = []  # never executed; replaying them would need invented results
        if compat.get("requiresThinkingAsText") and thinking:
            text = f"{thinking}\n\n{text}" if text else thinking
        if not text and not calls:
            continue
        msg: dict[str, Any] = {"role": "assistant", "content": text}
        if (
            compat.get("requiresReasoningContentOnAssistantMessages")
            and thinking
            and not compat.get("requiresThinkingAsText")
        ):
            msg["reasoning_content"] = thinking
        if calls:
            msg["tool_calls"] = [
                {
                    "id": _tool_id(spec, c.id),
                    "type": "function",
                    "function": {
                        "name": c.name,
                        "arguments": json.dumps(c.arguments, ensure_ascii=False),
                    },
                }
                for c in calls
            ]
            pending.extend(calls)
        out.append(msg)
    close_tool_round()
    if compat.get("strictMessageKeys"):
        allowed = {"role", "content", "tool_calls", "tool_call_id", "name"}
        out = [{k: v for k, v in m.items() if k in allowed} for m in out]
    return out


def _user_content(message: UserMessage, images_ok: bool, string_only: bool) -> Any:
    if isinstance(message.content, str):
        return message.content
    texts = [p.text for p in message.content if isinstance(p, TextContent)]
    images = [p for p in message.content if isinstance(p, ImageContent)]
    if images and images_ok:
        parts: list[dict[str, Any]] = []
        for p in message.content:
            if isinstance(p, TextContent):
                parts.append({"type": "text", "text": p.text})
            else:
                parts.append(_image_part(p))
        return parts
    text = "\n".join(texts)
    if images and not text:
        text = "(an image was attached, but this model cannot read images)"
    return text


def build_tools(spec: ModelSpec, context: Context) -> list[dict[str, Any]]:
    if not context.tools or spec.compat.get("supportsTools") is False:
        return []
    keywords = {
        k for k in spec.compat.get("unsupportedToolSchemaKeywords") or [] if isinstance(k, str)
    }
    llamacpp = spec.compat.get("toolSchemaProfile") == "llamacpp"
    strict = bool(spec.compat.get("supportsStrictMode"))
    tools = []
    for tool in sorted(context.tools, key=lambda t: t.name):
        fn: dict[str, Any] = {
            "name": tool.name,
            "description": tool.description,
            "parameters": clean_tool_schema(tool.parameters, keywords, llamacpp=llamacpp),
        }
        if strict:
            fn["strict"] = False
        tools.append({"type": "function", "function": fn})
    return tools


def build_request_body(spec: ModelSpec, context: Context, options: ChatOptions) -> dict:
    compat = spec.compat
    params = _params(spec)
    streaming = is_streaming(spec, options)
    body: dict[str, Any] = {
        "model": spec.wire_model_id,
        "messages": convert_messages(spec, context),
        "stream": streaming,
    }
    if streaming and compat.get("supportsUsageInStreaming"):
        body["stream_options"] = {"include_usage": True}
    if compat.get("supportsStore"):
        body["store"] = False
    max_tokens = options.max_tokens if options.max_tokens is not None else spec.max_tokens
    if max_tokens:
        field = compat.get("maxTokensField")
        if field not in ("max_tokens", "max_completion_tokens"):
            field = "max_completion_tokens"
        body[field] = max_tokens
    if compat.get("supportsTemperature") is not False:
        temperature = options.temperature
        if temperature is None and isinstance(params.get("temperature"), int | float):
            temperature = params["temperature"]
        if temperature is not None:
            body["temperature"] = temperature
    top_p = params.get("top_p", params.get("topP"))
    if isinstance(top_p, int | float) and not isinstance(top_p, bool):
        body["top_p"] = top_p
    tools = build_tools(spec, context)
    if tools:
        body["tools"] = tools
    _apply_reasoning(body, spec, options)
    if kind_for(spec.provider_id, spec.provider_config) is OLLAMA and spec.provider_config.get(
        "injectNumCtxForOpenAICompat", True
    ):
        from openclaw.llm.ollama_context import num_ctx

        body["options"] = {"num_ctx": num_ctx(spec.row, spec.provider_config)}
    return body


def build_headers(spec: ModelSpec, streaming: bool) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream" if streaming else "application/json",
    }
    auth_cfg = None
    request_cfg = spec.provider_config.get("request")
    if isinstance(request_cfg, dict) and isinstance(request_cfg.get("auth"), dict):
        auth_cfg = request_cfg["auth"]
    mode = auth_cfg.get("mode") if auth_cfg else None
    if mode == "header" and auth_cfg is not None:
        name = auth_cfg.get("headerName")
        value = auth_cfg.get("value") or spec.api_key
        if isinstance(name, str) and name and isinstance(value, str) and value:
            headers[name] = f"{auth_cfg.get('prefix') or ''}{value}"
    elif mode == "authorization-bearer" and auth_cfg is not None:
        token = auth_cfg.get("token") or spec.api_key
        if isinstance(token, str) and token:
            headers["Authorization"] = f"Bearer {token}"
    elif spec.api_key:
        headers["Authorization"] = f"Bearer {spec.api_key}"
    for key, value in spec.headers.items():
        headers[key] = value
    return headers


def _input_chars(body: dict[str, Any]) -> int:
    total = 0
    for m in body.get("messages", []):
        content = m.get("content")
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(len(p.get("text", "")) for p in content if isinstance(p, dict))
        for call in m.get("tool_calls") or []:
            total += len(call["function"]["arguments"]) + len(call["function"]["name"])
    if body.get("tools"):
        total += len(json.dumps(body["tools"]))
    return total


# --- response --------------------------------------------------------------------------------


_FINISH: dict[str, StopReason] = {
    "stop": "stop",
    "end": "stop",
    "eos": "stop",
    "eos_token": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "load": "stop",
    "length": "length",
    "max_tokens": "length",
    "tool_calls": "toolUse",
    "function_call": "toolUse",
    "tool_call": "toolUse",
    "tool_use": "toolUse",
}


class _Call:
    __slots__ = ("block", "content_index", "parts", "size", "stream_index")

    def __init__(self, block: ToolCall, content_index: int, stream_index: int | None) -> None:
        self.block = block
        self.content_index = content_index
        self.stream_index = stream_index
        self.parts: list[str] = []
        self.size = 0


class StreamProcessor:
    """Chunks in, events out. Call ``feed_payload`` / ``feed_chunk`` / ``feed_response``, take
    ``drain()`` after each, and end with ``finish()`` or ``fail()`` (each returns the final
    event, after any block-closing events left in ``events``)."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        tool_names: frozenset[str] = frozenset(),
        input_chars: int | Callable[[], int] = 0,
    ) -> None:
        self.spec = spec
        self.message = AssistantMessage(provider=spec.provider_id, model=spec.model_id)
        self.events: list[Event] = [StartEvent()]
        self.tool_names = tool_names
        self.input_chars = input_chars
        self.finish_reason: str | None = None
        self.saw_done = False
        self.error: OpenClawError | None = None
        self._kind: str | None = None  # "text" | "thinking" while such a block is open
        self._parts: list[str] = []
        self._block: TextContent | ThinkingContent | None = None
        self._index = -1
        self._calls: list[_Call] = []
        self._by_index: dict[int, _Call] = {}
        self._reported: Usage | None = None
        self._timings: Usage | None = None
        self._holding = (
            bool(tool_names) and spec.compat.get("promoteTextToolCalls", True) is not False
        )
        self._held: list[str] = []
        self._held_text = ""
        self._calls_done = False
        # <think>...</think> at the start of content (llama-cpp-python, servers without a
        # reasoning parser): 0 = deciding, 1 = inside, 3 = skipping whitespace after, 2 = plain.
        self._think_state = 0 if spec.compat.get("thinkTagsInContent", True) is not False else 2
        self._think_buf = ""
        self._think_started = False
        visible = spec.compat.get("visibleReasoningDetailTypes")
        self._detail_types = (
            frozenset(t for t in visible if isinstance(t, str))
            if isinstance(visible, list)
            else frozenset({"reasoning.text", "reasoning.summary"})
        )

    # -- feeding --

    def drain(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    def feed_payload(self, data: bytes) -> bool:
        """One SSE ``data`` payload. True when the stream is over ([DONE] or an error)."""
        if data[:6] == b"[DONE]" or data.strip() == b"[DONE]":
            self.saw_done = True
            return True
        try:
            obj = json.loads(data)
        except ValueError:
            self.error = MalformedResponseError(
                f"{self.spec.provider_id} sent a stream event that is not JSON: "
                f"{data[:120].decode('utf-8', 'replace')!r}",
                hint="The server is probably not OpenAI-compatible at this URL.",
            )
            return True
        if not isinstance(obj, dict):
            self.error = MalformedResponseError(
                f"{self.spec.provider_id} sent a stream event that is not a JSON object"
            )
            return True
        return self.feed_chunk(obj)

    def feed_chunk(self, obj: dict[str, Any]) -> bool:
        err = obj.get("error")
        if err:
            self.error = stream_error(err, self.spec)
            return True
        if obj.get("object") == "error" and isinstance(obj.get("message"), str):
            self.error = stream_error(obj, self.spec)
            return True
        choices = obj.get("choices")
        if choices and isinstance(choices, list):
            choice = choices[0]
            if len(choices) > 1:
                choice = next(
                    (c for c in choices if isinstance(c, dict) and c.get("index") == 0), choice
                )
            if isinstance(choice, dict):
                delta = choice.get("delta")
                if delta is None:
                    delta = choice.get("message")
                if isinstance(delta, dict) and delta:
                    self._delta(delta)
                    if self.error is not None:
                        return True
                fr = choice.get("finish_reason")
                if fr and isinstance(fr, str):
                    self.finish_reason = fr
                cu = choice.get("usage")
                if cu:
                    self._usage(cu)
        usage = obj.get("usage")
        if usage:
            self._usage(usage)
        timings = obj.get("timings")
        if timings:
            t = usage_mod.from_timings(timings)
            if t is not None:
                self._timings = t
        return False

    def feed_response(self, obj: Any) -> None:
        """A whole non-streamed ``chat.completion`` object."""
        if not isinstance(obj, dict):
            self.error = MalformedResponseError(
                f"{self.spec.provider_id} answered with JSON that is not a chat completion"
            )
            return
        choices = obj.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            message = choices[0].get("message")
            if isinstance(message, dict) and isinstance(message.get("tool_calls"), list):
                calls = []
                for i, tc in enumerate(message["tool_calls"]):
                    if isinstance(tc, dict) and "index" not in tc:
                        tc = {**tc, "index": i}
                    calls.append(tc)
                choices = [{**choices[0], "message": {**message, "tool_calls": calls}}]
                obj = {**obj, "choices": choices}
        elif "error" not in obj and obj.get("object") != "error":
            self.error = MalformedResponseError(
                f"{self.spec.provider_id} answered without any choices: {json.dumps(obj)[:200]}"
            )
            return
        self.feed_chunk(obj)
        if self.error is None and self.finish_reason is None:
            self.finish_reason = "stop"

    def _usage(self, raw: Any) -> None:
        u = usage_mod.from_openai_usage(raw)
        if u is not None:
            self._reported = u

    def _delta(self, delta: dict[str, Any]) -> None:
        details = delta.get("reasoning_details")
        if isinstance(details, list) and details:
            for d in details:
                if isinstance(d, dict) and d.get("type") in self._detail_types:
                    text = d.get("text")
                    if not isinstance(text, str):
                        text = d.get("summary")
                    if isinstance(text, str) and text:
                        self._thinking(text)
        else:
            for key in ("reasoning_content", "reasoning", "reasoning_text"):
                value = delta.get(key)
                if value and isinstance(value, str):
                    self._thinking(value)
                    break
        content = delta.get("content")
        if content:
            if isinstance(content, str):
                self._text(content)
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, dict):
                        text = part.get("text")
                        if isinstance(text, str) and text:
                            if part.get("type") in ("reasoning", "thinking"):
                                self._thinking(text)
                            else:
                                self._text(text)
                    elif isinstance(part, str) and part:
                        self._text(part)
        calls = delta.get("tool_calls")
        if calls is None:
            fc = delta.get("function_call")
            if isinstance(fc, dict):
                calls = [{"index": 0, "function": fc}]
        if isinstance(calls, list):
            for tc in calls:
                if isinstance(tc, dict):
                    self._tool_delta(tc)
                    if self.error is not None:
                        return

    # -- blocks --

    def _close(self) -> None:
        kind = self._kind
        if kind is None:
            return
        block = self._block
        text = "".join(self._parts)
        if kind == "text" and isinstance(block, TextContent):
            block.text = text
            self.events.append(TextEndEvent(self._index, text))
        elif isinstance(block, ThinkingContent):
            block.thinking = text
            self.events.append(ThinkingEndEvent(self._index, text))
        self._kind = None
        self._block = None
        self._parts = []

    def _open(self, kind: str) -> None:
        self._close()
        block: TextContent | ThinkingContent = (
            TextContent("") if kind == "text" else ThinkingContent("")
        )
        self.message.content.append(block)
        self._index = len(self.message.content) - 1
        self._block = block
        self._kind = kind
        self.events.append(
            TextStartEvent(self._index) if kind == "text" else ThinkingStartEvent(self._index)
        )

    def _emit_text(self, s: str) -> None:
        if self._kind != "text":
            self._open("text")
        self._parts.append(s)
        self.events.append(TextDeltaEvent(self._index, s))

    def _text(self, s: str) -> None:
        state = self._think_state
        if state == 2:
            self._plain_text(s)
        elif state == 0:
            buf = self._think_buf + s
            t = buf.lstrip()
            if t.startswith("<think>"):
                self._think_state = 1
                self._think_buf = ""
                self._in_think(t[7:])
            elif not t or "<think>".startswith(t):
                self._think_buf = buf
            else:
                self._think_state = 2
                self._think_buf = ""
                self._plain_text(buf)
        elif state == 1:
            self._in_think(s)
        else:
            t = s.lstrip()
            if t:
                self._think_state = 2
                self._plain_text(t)

    def _in_think(self, s: str) -> None:
        buf = self._think_buf + s
        if not self._think_started:
            buf = buf.lstrip()
            if not buf:
                self._think_buf = ""
                return
            self._think_started = True
        end = buf.find("</think>")
        if end >= 0:
            self._think_buf = ""
            if end:
                self._thinking(buf[:end])
            self._think_state = 3
            rest = buf[end + 8 :].lstrip()
            if rest:
                self._think_state = 2
                self._plain_text(rest)
            return
        keep = 0
        for k in range(min(7, len(buf)), 0, -1):
            if "</think>".startswith(buf[-k:]):
                keep = k
                break
        if keep:
            self._think_buf = buf[-keep:]
            buf = buf[:-keep]
        else:
            self._think_buf = ""
        if buf:
            self._thinking(buf)

    def _flush_think(self) -> None:
        buf, self._think_buf = self._think_buf, ""
        state = self._think_state
        self._think_state = 2
        if buf:
            if state == 1:
                self._thinking(buf)
            elif state == 0:
                self._plain_text(buf)

    def _plain_text(self, s: str) -> None:
        if self._holding:
            self._held.append(s)
            self._held_text += s
            if not could_be_tool_call(self._held_text):
                self._flush_held()
            return
        self._emit_text(s)

    def _flush_held(self) -> None:
        self._holding = False
        held, self._held, self._held_text = self._held, [], ""
        for s in held:
            self._emit_text(s)

    def _thinking(self, s: str) -> None:
        if self._held:
            self._flush_held()
        if self._kind != "thinking":
            self._open("thinking")
        self._parts.append(s)
        self.events.append(ThinkingDeltaEvent(self._index, s))

    def _tool_delta(self, tc: dict[str, Any]) -> None:
        idx = tc.get("index")
        if not isinstance(idx, int) or isinstance(idx, bool):
            idx = None
        call_id = tc.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = None
        fn = tc.get("function")
        if not isinstance(fn, dict):
            fn = {}
        name = fn.get("name")
        args = fn.get("arguments")

        call: _Call | None = None
        if idx is not None:
            call = self._by_index.get(idx)
            if call is not None and call_id and call.block.id and call.block.id != call_id:
                call = None  # same index, new id: a new call (Ollama's index-0 bug)
        elif call_id:
            call = next((c for c in self._calls if c.block.id == call_id), None)
        elif self._calls:
            call = self._calls[-1]
        if call is None:
            if self._think_buf:
                self._flush_think()
            if self._held:
                self._flush_held()
            self._holding = False
            self._close()
            block = ToolCall(
                id=call_id or "", name=name if isinstance(name, str) else "", arguments={}
            )
            self.message.content.append(block)
            call = _Call(block, len(self.message.content) - 1, idx)
            self._calls.append(call)
            if idx is not None:
                self._by_index[idx] = call
            self.events.append(ToolCallStartEvent(call.content_index, block.id, block.name))
        elif call_id and not call.block.id:
            call.block.id = call_id
        if isinstance(name, str) and name and not call.block.name:
            call.block.name = name
        if args is not None and args != "":
            if not isinstance(args, str):
                args = json.dumps(args, ensure_ascii=False)
            call.size += len(args)
            if call.size > MAX_TOOL_ARGUMENT_BYTES:
                self.error = MalformedResponseError(
                    f"Tool call {call.block.name or '?'} from {self.spec.provider_id} exceeded "
                    f"the tool-call argument buffer limit ({MAX_TOOL_ARGUMENT_BYTES // 1024} KB)",
                    hint="The model is probably looping; lower maxTokens or try again.",
                )
                return
            call.parts.append(args)
            self.events.append(ToolCallDeltaEvent(call.content_index, args))

    def _end_tool_calls(self) -> None:
        seen: set[str] = set()
        for call in self._calls:
            block = call.block
            raw = "".join(call.parts)
            block.raw_arguments = raw
            try:
                parsed = json.loads(raw) if raw.strip() else {}
            except ValueError:
                parsed = {}
            block.arguments = parsed if isinstance(parsed, dict) else {}
            if not block.id or block.id in seen:
                block.id = block.id + f"_{len(seen)}" if block.id else new_call_id()
            seen.add(block.id)
            self.events.append(ToolCallEndEvent(call.content_index, block))
        self._calls_done = True

    # -- ending --

    def _final_usage(self) -> Usage:
        u = self._reported or self._timings
        if u is None:
            out_chars = 0
            for c in self.message.content:
                if isinstance(c, TextContent):
                    out_chars += len(c.text)
                elif isinstance(c, ThinkingContent):
                    out_chars += len(c.thinking)
                else:
                    out_chars += len(c.raw_arguments) + len(c.name)
            chars = self.input_chars
            u = usage_mod.estimated(chars() if callable(chars) else chars, out_chars)
        return usage_mod.finalize(u, self.spec.row.get("cost"))

    def finish(self) -> DoneEvent | ErrorEvent:
        """The stream ended (``[DONE]``, EOF or a whole non-streamed body)."""
        if self.error is not None:
            return self.fail(self.error)
        if not self.saw_done and self.finish_reason is None:
            return self.fail(
                MalformedResponseError(
                    f"The stream from {self.spec.provider_id} ended before the model finished "
                    "(no finish_reason and no [DONE]); the partial answer was kept",
                    hint="The server or a proxy closed the connection; check the server's log.",
                )
            )
        fr = self.finish_reason
        stop: StopReason = _FINISH.get(fr, "error") if fr else "stop"
        if stop == "error":
            return self.fail(ProviderError(f"Provider finish_reason: {fr}"))
        self._flush_think()
        if self._holding and self._held and not self._calls and stop != "length":
            # (a "tool_calls" finish with no native call is a server that left the parsing
            # to us, so it may promote too)
            promoted = parse_text_tool_calls(self._held_text, self.tool_names)
            if promoted:
                self._holding = False
                self._held, self._held_text = [], ""
                for name, arguments in promoted:
                    raw = json.dumps(arguments, ensure_ascii=False)
                    block = ToolCall(id=new_call_id(), name=name, arguments=arguments)
                    self.message.content.append(block)
                    call = _Call(block, len(self.message.content) - 1, None)
                    call.parts.append(raw)
                    self._calls.append(call)
                    self.events.append(ToolCallStartEvent(call.content_index, block.id, name))
                    self.events.append(ToolCallDeltaEvent(call.content_index, raw))
        if self._held:
            self._flush_held()
        self._close()
        self._end_tool_calls()
        if self._calls and stop == "stop":
            stop = "toolUse"
        elif not self._calls and stop == "toolUse":
            stop = "stop"
        usage = self._final_usage()
        self.message.usage = usage
        self.message.stop_reason = stop
        return DoneEvent(self.message, stop, usage)

    def fail(self, error: OpenClawError, stop_reason: str = "error") -> ErrorEvent:
        """End with an error; everything received so far stays in the partial message."""
        self._flush_think()
        if self._held:
            self._flush_held()
        self._close()
        if not self._calls_done:
            self._end_tool_calls()
        reason: Any = "aborted" if stop_reason == "aborted" else "error"
        self.message.usage = self._final_usage()
        self.message.stop_reason = reason
        self.message.error_message = error.message
        return ErrorEvent(self.message, reason, error)


# --- transport -------------------------------------------------------------------------------


def _timeout(spec: ModelSpec) -> Any:
    import httpx2

    total = spec.timeout_seconds if spec.timeout_seconds and spec.timeout_seconds > 0 else None
    t = float(total) if total else DEFAULT_TIMEOUT_SECONDS
    return httpx2.Timeout(connect=min(t, CONNECT_TIMEOUT_SECONDS), read=t, write=t, pool=t)


async def _read_capped(response: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLargeError(
                f"The answer exceeded {limit // (1024 * 1024) or 1} MB and was not read further"
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_prefix(response: Any, limit: int) -> bytes:
    """The first ``limit`` bytes of an error body; the rest is not read (a huge error page
    still classifies by its status instead of failing as "too large")."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _timeout_error(spec: ModelSpec, started: bool) -> RequestTimeoutError:
    t = spec.timeout_seconds or DEFAULT_TIMEOUT_SECONDS
    phase = "while streaming the answer" if started else "before answering"
    return RequestTimeoutError(
        f"{spec.provider_id} at {spec.base_url} timed out {phase} (timeout {t:g} s)",
        hint=f"Raise models.providers.{spec.provider_id}.timeoutSeconds for slow models.",
    )


def _cut_error(spec: ModelSpec) -> MalformedResponseError:
    return MalformedResponseError(
        f"The connection to {spec.provider_id} at {spec.base_url} closed before the answer "
        "finished; the partial answer was kept",
        hint="The server may have crashed or restarted; check its log.",
    )


def _transport_error(exc: BaseException, spec: ModelSpec, started: bool) -> OpenClawError:
    """httpx2 exceptions that escape the guarded client (mostly while reading the body)."""
    import httpx2

    if isinstance(exc, httpx2.TimeoutException):
        return _timeout_error(spec, started)
    if isinstance(exc, httpx2.ConnectError):
        return UnreachableError(
            f"Cannot connect to {spec.provider_id} at {spec.base_url}: {exc}",
            hint="Is the server running and listening on that address?",
        )
    if isinstance(exc, httpx2.RemoteProtocolError | httpx2.ReadError):
        return _cut_error(spec)
    return MalformedResponseError(
        f"Transport error talking to {spec.provider_id} at {spec.base_url}: {type(exc).__name__}"
    )


def _refine_network_error(exc: OpenClawError, spec: ModelSpec, started: bool) -> OpenClawError:
    """The guarded client's generic transport errors, reworded for a chat call."""
    if isinstance(exc, RequestTimeoutError):
        return _timeout_error(spec, started)
    if type(exc) is NetworkError and started:
        return _cut_error(spec)
    return exc


def _is_cancel(exc: BaseException) -> bool:
    if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
        return True
    try:
        import anyio

        return isinstance(exc, anyio.get_cancelled_exc_class())
    except Exception:
        return False


async def stream_chat(
    spec: ModelSpec,
    context: Context,
    options: ChatOptions,
    *,
    client: GuardedAsyncClient | None = None,
) -> AsyncIterator[Event]:
    """Stream one completion. Never raises for HTTP, stream or network failures: ends with an
    ``ErrorEvent``. Cancellation yields ``ErrorEvent(stop_reason="aborted")`` and re-raises."""
    body = build_request_body(spec, context, options)
    streaming = bool(body["stream"])
    tool_names = frozenset(t["function"]["name"] for t in body.get("tools", []))
    # the prompt size is measured only if the server reports no usage at all
    proc = StreamProcessor(spec, tool_names=tool_names, input_chars=partial(_input_chars, body))
    url = spec.base_url.rstrip("/") + "/chat/completions"
    headers = build_headers(spec, streaming)
    own = client is None
    started = False
    try:
        for event in proc.drain():
            yield event
        timeout = _timeout(spec)
        if client is None:
            from openclaw.net.client import async_client

            client = async_client(spec.policy, timeout=timeout)
        async with client.stream(
            "POST",
            url,
            json=body,
            headers=headers,
            timeout=timeout,
            max_body_bytes=MAX_STREAM_BYTES if streaming else MAX_RESPONSE_BYTES,
        ) as resp:
            status = resp.status_code
            ctype = resp.headers.get("content-type", "").lower()
            if not 200 <= status < 300:
                raw = await _read_prefix(resp, MAX_ERROR_BODY_BYTES)
                yield proc.fail(classify_http_error(status, raw, spec, ctype))
                return
            started = True
            if "text/html" in ctype:
                yield proc.fail(html_error(spec))
                return
            if streaming and "json" not in ctype:
                decoder = SSEDecoder()
                finished = False
                first = True
                async for chunk in resp.aiter_bytes():
                    if not finished:
                        if first:
                            # An HTML page served as text/event-stream (or without a type);
                            # only the start of the body can be one: a later chunk starting
                            # with "<html" is just a model writing HTML.
                            first = False
                            if looks_like_html(chunk):
                                yield proc.fail(html_error(spec))
                                return
                        for payload in decoder.feed(chunk):
                            if proc.feed_payload(payload):
                                finished = True
                                break
                    events = proc.drain()
                    for event in events:
                        yield event
                    if finished:
                        break
                if not finished:
                    for payload in decoder.flush():
                        if proc.feed_payload(payload):
                            break
            else:
                raw = await _read_capped(resp, MAX_RESPONSE_BYTES)
                if looks_like_html(raw, ctype):
                    yield proc.fail(html_error(spec))
                    return
                if raw.lstrip()[:5] == b"data:":
                    decoder = SSEDecoder()
                    for payload in decoder.feed(raw) + decoder.flush():
                        if proc.feed_payload(payload):
                            break
                else:
                    try:
                        data = json.loads(raw)
                    except ValueError:
                        proc.error = MalformedResponseError(
                            f"{spec.provider_id} answered with a body that is not JSON: "
                            f"{raw[:120].decode('utf-8', 'replace')!r}",
                            hint="Check that baseUrl points at an OpenAI-compatible /v1 endpoint.",
                        )
                    else:
                        proc.feed_response(data)
            final = proc.finish()
            for event in proc.drain():
                yield event
            yield final
    except GeneratorExit:
        raise
    except OpenClawError as exc:
        for event in proc.drain():
            yield event
        yield proc.fail(_refine_network_error(exc, spec, started))
    except SSEProtocolError as exc:
        for event in proc.drain():
            yield event
        if not proc.message.content and looks_like_html(exc.line):
            yield proc.fail(html_error(spec))
        else:
            yield proc.fail(
                MalformedResponseError(
                    f"The stream from {spec.provider_id} is malformed: {exc}",
                    hint="Check that baseUrl points at an OpenAI-compatible /v1 endpoint.",
                )
            )
    except BaseException as exc:
        if _is_cancel(exc):
            for event in proc.drain():
                yield event
            yield proc.fail(
                OpenClawError(f"The request to {spec.provider_id} was cancelled"), "aborted"
            )
            raise
        import httpx2

        if isinstance(exc, httpx2.HTTPError | httpx2.StreamError):
            for event in proc.drain():
                yield event
            yield proc.fail(_transport_error(exc, spec, started))
        elif isinstance(exc, Exception):
            for event in proc.drain():
                yield event
            yield proc.fail(
                MalformedResponseError(
                    f"Could not read the answer from {spec.provider_id}: "
                    f"{type(exc).__name__}: {exc}"
                )
            )
        else:
            raise
    finally:
        if own and client is not None:
            import anyio

            with anyio.CancelScope(shield=True):
                await client.aclose()


def parse_sse_bytes(
    spec: ModelSpec,
    chunks: list[bytes],
    *,
    tool_names: frozenset[str] = frozenset(),
    input_chars: int = 0,
) -> list[Event]:
    """Run recorded SSE bytes (split any way) through the same decoder and processor that
    ``stream_chat`` uses; returns every event, the final ``done``/``error`` last."""
    proc = StreamProcessor(spec, tool_names=tool_names, input_chars=input_chars)
    decoder = SSEDecoder()
    events = proc.drain()
    finished = False
    try:
        for chunk in chunks:
            for payload in decoder.feed(chunk):
                if proc.feed_payload(payload):
                    finished = True
                    break
            events += proc.drain()
            if finished:
                break
        if not finished:
            for payload in decoder.flush():
                if proc.feed_payload(payload):
                    break
        final: Event = proc.finish()
    except SSEProtocolError as exc:
        final = proc.fail(MalformedResponseError(f"The stream is malformed: {exc}"))
    events += proc.drain()
    events.append(final)
    return events
