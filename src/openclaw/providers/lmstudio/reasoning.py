"""Reasoning compat for LM Studio models (lmstudio.md §4).

LM Studio advertises ``capabilities.reasoning.allowed_options`` (often the binary
``["off", "on"]``), but ``/v1/chat/completions`` only accepts the OpenAI effort scale, so
everything is translated to ``none, minimal, low, medium, high, xhigh``.

Where the reference's docs and code disagree (§4.6) this follows the docs: ``max`` /
``adaptive`` (and ``ultra``) map to the highest advertised level by rank, not the first.
"""

from __future__ import annotations

from typing import Any

ENABLED_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")
ALL_EFFORTS = ("none", *ENABLED_EFFORTS)
_RANK = {name: i for i, name in enumerate(ENABLED_EFFORTS)}

_BOOL_FIELDS = (
    "supportsStore",
    "supportsPromptCacheKey",
    "supportsDeveloperRole",
    "supportsReasoningEffort",
    "supportsTemperature",
    "supportsUsageInStreaming",
    "supportsTools",
    "supportsStrictMode",
    "supportsJsonSchemaResponseFormat",
    "requiresStringContent",
    "strictMessageKeys",
    "requiresToolResultName",
    "requiresAssistantAfterToolResult",
    "requiresThinkingAsText",
    "requiresReasoningContentOnAssistantMessages",
    "requiresOpenAiAnthropicToolPayload",
)
_THINKING_FORMATS = (
    "openai",
    "openrouter",
    "deepseek",
    "together",
    "qwen",
    "qwen-chat-template",
    "zai",
)


def normalize_options(value: Any) -> list[str]:
    """Strings only, trimmed, blanks dropped, lower-cased, first occurrence kept."""
    if not isinstance(value, list):
        return []
    out: list[str] = []
    for item in value:
        if isinstance(item, str):
            text = item.strip().lower()
            if text and text not in out:
                out.append(text)
    return out


def _top_effort(efforts: list[str]) -> str | None:
    ranked = [e for e in efforts if e in _RANK]
    if ranked:
        return max(ranked, key=lambda e: _RANK[e])
    others = [e for e in efforts if e != "none"]
    return others[0] if others else None


def effort_map(efforts: list[str]) -> dict[str, str] | None:
    out: dict[str, str] = {}
    if "none" in efforts:
        out["off"] = "none"
        out["none"] = "none"
    top = _top_effort(efforts)
    if top is not None:
        out["adaptive"] = top
        out["max"] = top
    return out or None


def efforts_from_options(options: list[str]) -> list[str]:
    if "on" in options and all(o in ("on", "off") for o in options):
        return list(ALL_EFFORTS) if "off" in options else list(ENABLED_EFFORTS)
    out: list[str] = []
    for opt in options:
        if opt == "on":
            continue
        effort = "none" if opt == "off" else opt
        if effort not in out:
            out.append(effort)
    return out


def reasoning_compat(capability: Any) -> dict[str, Any] | None:
    """Compat for one model's ``capabilities.reasoning`` (None when it has no efforts)."""
    if not isinstance(capability, dict):
        return None
    efforts = efforts_from_options(normalize_options(capability.get("allowed_options")))
    if not [e for e in efforts if e != "none"]:
        return None
    compat: dict[str, Any] = {
        "supportsReasoningEffort": True,
        "supportedReasoningEfforts": efforts,
    }
    mapping = effort_map(efforts)
    if mapping:
        compat["reasoningEffortMap"] = mapping
    return compat


def reasoning_flag(capability: Any) -> bool:
    if not isinstance(capability, dict):
        return False
    options = normalize_options(capability.get("allowed_options"))
    if options:
        return any(o != "off" for o in options)
    default = capability.get("default")
    if isinstance(default, str) and default.strip():
        return default.strip().lower() != "off"
    return False


def normalize_configured_compat(compat: Any) -> dict[str, Any] | None:
    """Sanitise a saved compat object and migrate old binary on/off maps (§4.4)."""
    if not isinstance(compat, dict):
        return None
    out: dict[str, Any] = {}
    for key in _BOOL_FIELDS:
        if isinstance(compat.get(key), bool):
            out[key] = compat[key]
    if compat.get("codeMode") in ("preferred", "capable"):
        out["codeMode"] = compat["codeMode"]
    for key in ("visibleReasoningDetailTypes", "unsupportedToolSchemaKeywords"):
        value = compat.get(key)
        if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
            out[key] = list(value)
    if compat.get("maxTokensField") in ("max_completion_tokens", "max_tokens"):
        out["maxTokensField"] = compat["maxTokensField"]
    if compat.get("thinkingFormat") in _THINKING_FORMATS:
        out["thinkingFormat"] = compat["thinkingFormat"]
    for key in ("toolSchemaProfile", "toolCallArgumentsEncoding"):
        if isinstance(compat.get(key), str):
            out[key] = compat[key]
    efforts = normalize_options(compat.get("supportedReasoningEfforts"))
    if efforts:
        out["supportedReasoningEfforts"] = efforts
    raw_map = compat.get("reasoningEffortMap")
    if isinstance(raw_map, dict):
        mapping = {
            k.strip(): v.strip()
            for k, v in raw_map.items()
            if isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip()
        }
        if mapping:
            out["reasoningEffortMap"] = mapping
    if not out:
        return None
    values = list(out.get("reasoningEffortMap", {}).values())
    if "on" not in efforts and not any(v in ("on", "off") for v in values):
        return out
    disabled = any(e in ("off", "none") for e in efforts) or any(
        v in ("off", "none") for v in values
    )
    new_efforts = list(ALL_EFFORTS) if disabled else list(ENABLED_EFFORTS)
    out["supportedReasoningEfforts"] = new_efforts
    new_map = effort_map(new_efforts)
    if new_map:
        out["reasoningEffortMap"] = new_map
    else:
        out.pop("reasoningEffortMap", None)
    return out


def thinking_off_effort(compat: dict[str, Any]) -> str | None:
    """The effort that disables thinking for this model (the ``off`` map entry)."""
    mapping = compat.get("reasoningEffortMap")
    if isinstance(mapping, dict) and isinstance(mapping.get("off"), str):
        return str(mapping["off"])
    efforts = compat.get("supportedReasoningEfforts")
    if isinstance(efforts, list) and "none" in efforts:
        return "none"
    return None


def rewrite_thinking_off(payload: dict[str, Any], thinking: str | None, compat: dict) -> dict:
    """With thinking ``off``, turn an enabled ``reasoning_effort`` into the disabled one (§4.5)."""
    if thinking != "off" or "reasoning_effort" not in payload:
        return payload
    off = thinking_off_effort(compat)
    if off is None or payload.get("reasoning_effort") == off:
        return payload
    out = dict(payload)
    out["reasoning_effort"] = off
    return out
