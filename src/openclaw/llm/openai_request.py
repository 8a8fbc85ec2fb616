"""``openai-completions`` requests: the JSON body and headers of ``POST {baseUrl}/chat/completions``.

``build_request_body`` turns a :class:`Context` into the body following the model's compat
flags (core.md §2.4, §6.1, §6.2); ``build_headers`` adds auth and configured headers. Pure
functions: no network, no state.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from openclaw.config.kinds import OLLAMA, kind_for
from openclaw.llm.types import (
    AssistantMessage,
    ChatOptions,
    Context,
    ImageContent,
    ModelSpec,
    TextContent,
    ThinkingContent,
    ToolCall,
    ToolResultMessage,
    UserMessage,
)

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


def _params(spec: ModelSpec) -> dict[str, Any]:
    return spec.model.params


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
    history = _History(spec)
    if context.system_prompt:
        history.system(context.system_prompt)
    for message in context.messages:
        if isinstance(message, ToolResultMessage):
            history.tool_result(message)
            continue
        history.close_tool_round()
        if isinstance(message, UserMessage):
            history.user(message)
        else:
            history.assistant(message)
    history.close_tool_round()
    out = history.messages
    if spec.compat.get("strictMessageKeys"):
        allowed = {"role", "content", "tool_calls", "tool_call_id", "name"}
        out = [{k: v for k, v in m.items() if k in allowed} for m in out]
    return out


class _History:
    """The messages being written, and the open tool round: the calls of the last assistant
    message, which of them have results, and tool images waiting for the round to close."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.compat = spec.compat
        self.string_only = bool(self.compat.get("requiresStringContent"))
        self.images_ok = "image" in spec.input_kinds and not self.string_only
        self.messages: list[dict[str, Any]] = []
        self.pending: list[ToolCall] = []
        self.answered: set[str] = set()
        self.deferred_images: list[ImageContent] = []

    def system(self, prompt: str) -> None:
        developer = self.compat.get("supportsDeveloperRole") and self.spec.reasoning
        self.messages.append({"role": "developer" if developer else "system", "content": prompt})

    def _tool_message(self, call_id: str, name: str, content: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "role": "tool",
            "tool_call_id": _tool_id(self.spec, call_id),
            "content": content,
        }
        if self.compat.get("requiresToolResultName"):
            msg["name"] = name
        return msg

    def tool_result(self, message: ToolResultMessage) -> None:
        if message.tool_call_id not in {c.id for c in self.pending}:
            return  # a result for a call that is not in the history: drop it
        self.answered.add(message.tool_call_id)
        text = "\n".join(p.text for p in message.content if isinstance(p, TextContent))
        images = [p for p in message.content if isinstance(p, ImageContent)]
        if images and self.images_ok:
            self.deferred_images.extend(images)
        elif images and not text:
            text = "(the tool returned an image this model cannot read)"
        self.messages.append(self._tool_message(message.tool_call_id, message.tool_name, text))

    def close_tool_round(self) -> None:
        """Every call of the round gets a result (an error for one that never completed),
        then the round's images follow as one user message."""
        for call in self.pending:
            if call.id not in self.answered:
                missing = "Error: this tool call did not complete (no result was recorded)."
                self.messages.append(self._tool_message(call.id, call.name, missing))
        self.pending.clear()
        self.answered.clear()
        if self.deferred_images:
            parts: list[dict[str, Any]] = [
                {"type": "text", "text": "Images returned by the tool call above:"}
            ]
            parts += [_image_part(img) for img in self.deferred_images]
            self.messages.append({"role": "user", "content": parts})
            self.deferred_images.clear()

    def user(self, message: UserMessage) -> None:
        out = self.messages
        if (
            self.compat.get("requiresAssistantAfterToolResult")
            and out
            and out[-1]["role"] == "tool"
        ):
            out.append({"role": "assistant", "content": "I have processed the tool results."})
        content = _user_content(message, self.images_ok, self.string_only)
        out.append({"role": "user", "content": content})

    def assistant(self, message: AssistantMessage) -> None:
        compat = self.compat
        text = "".join(c.text for c in message.content if isinstance(c, TextContent))
        thinking = "".join(c.thinking for c in message.content if isinstance(c, ThinkingContent))
        calls = [c for c in message.content if isinstance(c, ToolCall)]
        if message.stop_reason in ("error", "aborted"):
            calls = []  # never executed; replaying them would need invented results
        as_text = bool(compat.get("requiresThinkingAsText"))
        if as_text and thinking:
            text = f"{thinking}\n\n{text}" if text else thinking
        if not text and not calls:
            return
        msg: dict[str, Any] = {"role": "assistant", "content": text}
        if compat.get("requiresReasoningContentOnAssistantMessages") and thinking and not as_text:
            msg["reasoning_content"] = thinking
        if calls:
            msg["tool_calls"] = [self._call(c) for c in calls]
            self.pending.extend(calls)
        self.messages.append(msg)

    def _call(self, call: ToolCall) -> dict[str, Any]:
        return {
            "id": _tool_id(self.spec, call.id),
            "type": "function",
            "function": {
                "name": call.name,
                "arguments": json.dumps(call.arguments, ensure_ascii=False),
            },
        }


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
    inject = spec.model.provider.inject_num_ctx is not False
    if inject and kind_for(spec.provider_id, spec.provider_config) is OLLAMA:
        from openclaw.llm.ollama_context import num_ctx

        body["options"] = {"num_ctx": num_ctx(spec.model)}
    return body


def build_headers(spec: ModelSpec, streaming: bool) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream" if streaming else "application/json",
    }
    auth = spec.model.provider.request_auth
    mode = auth.mode if auth else None
    if mode == "header" and auth is not None:
        value = auth.value or spec.api_key
        if auth.header_name and value:
            headers[auth.header_name] = f"{auth.prefix}{value}"
    elif mode == "authorization-bearer" and auth is not None:
        token = auth.token or spec.api_key
        if token:
            headers["Authorization"] = f"Bearer {token}"
    elif spec.api_key:
        headers["Authorization"] = f"Bearer {spec.api_key}"
    for key, value in spec.headers.items():
        headers[key] = value
    return headers


def input_chars(body: dict[str, Any]) -> int:
    """Characters of the prompt as sent (for an estimated usage when the server reports none)."""
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


def requested_max_tokens(body: dict[str, Any]) -> int | None:
    """The output limit the request asks for (``max_tokens`` or ``max_completion_tokens``)."""
    for field in ("max_completion_tokens", "max_tokens"):
        value = body.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
