"""Resolve the openai-completions ``compat`` flags for one model (core.md §2.4, §7.3).

Precedence: the model row's ``compat`` > the provider's ``compat`` > the provider kind's compat
(``config.kinds``) > local-server defaults (a local kind or a loopback host) > generic defaults.
"""

from __future__ import annotations

from typing import Any

from openclaw.config.kinds import kind_for
from openclaw.config.settings import ModelSettings
from openclaw.config.urls import is_loopback_base_url

GENERIC_DEFAULTS: dict[str, Any] = {
    "supportsStore": False,
    "supportsPromptCacheKey": False,
    "supportsDeveloperRole": False,
    "supportsReasoningEffort": True,
    "supportsUsageInStreaming": False,
    "supportsTools": True,
    "supportsStrictMode": False,
    "maxTokensField": "max_completion_tokens",
    "thinkingFormat": "openai",
    "requiresStringContent": False,
    "strictMessageKeys": False,
    "requiresToolResultName": False,
    "requiresAssistantAfterToolResult": False,
    "requiresThinkingAsText": False,
    "requiresReasoningContentOnAssistantMessages": False,
    "requiresMistralToolIds": False,
    "unsupportedToolSchemaKeywords": [],
    "promoteTextToolCalls": True,
}


def is_local_endpoint(provider_id: str, provider_cfg: dict[str, Any], base_url: str) -> bool:
    return kind_for(provider_id, provider_cfg).local_server or is_loopback_base_url(base_url)


def _base_url(provider_cfg: dict[str, Any], row: dict[str, Any]) -> str:
    return ModelSettings.read(row, provider_cfg).configured_base_url or ""


def resolve_compat(provider_id: str, provider_cfg: dict[str, Any], row: dict[str, Any]) -> dict:
    """The effective compat dict: every key of :data:`GENERIC_DEFAULTS` is present."""
    compat: dict[str, Any] = dict(GENERIC_DEFAULTS)
    base_url = _base_url(provider_cfg, row)
    if is_local_endpoint(provider_id, provider_cfg, base_url):
        compat["supportsUsageInStreaming"] = True
        # Older llama.cpp / vLLM builds and Ollama /v1 only honour max_tokens.
        compat["maxTokensField"] = "max_tokens"
    kind_compat = kind_for(provider_id, provider_cfg).compat
    for layer in (kind_compat, provider_cfg.get("compat"), row.get("compat")):
        if isinstance(layer, dict):
            for key, value in layer.items():
                if value is not None:
                    compat[key] = value
    keywords = compat.get("unsupportedToolSchemaKeywords")
    if not isinstance(keywords, list):
        keywords = []
    seen: list[str] = []
    for word in keywords:
        if isinstance(word, str) and word not in seen:
            seen.append(word)
    if compat.get("toolSchemaProfile") == "llamacpp" and "pattern" not in seen:
        seen.append("pattern")
    compat["unsupportedToolSchemaKeywords"] = seen
    return compat
