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
