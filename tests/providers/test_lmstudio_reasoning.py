"""Reasoning compat (lmstudio.md §4; §10 items 8-11, 17, 18, 92, 160)."""

from __future__ import annotations

import pytest

from openclaw.providers.lmstudio import reasoning
from openclaw.providers.lmstudio.plugin import PLUGIN

SIX = ["none", "minimal", "low", "medium", "high", "xhigh"]
BINARY_MAP = {"off": "none", "none": "none", "adaptive": "xhigh", "max": "xhigh"}


@pytest.mark.parametrize(
    ("options", "efforts", "mapping"),
    [
        (["off", "on"], SIX, BINARY_MAP),
        (["on"], SIX[1:], {"adaptive": "xhigh", "max": "xhigh"}),
        (["low", "medium", "high"], ["low", "medium", "high"], {"adaptive": "high", "max": "high"}),
        ([" ON ", "off"], SIX, BINARY_MAP),
        (["on", "low"], ["low"], {"adaptive": "low", "max": "low"}),
        # §4.6 docs rule (deliberate): the highest advertised level by rank, not the first.
        (
            ["off", "low", "medium"],
            ["none", "low", "medium"],
            {"off": "none", "none": "none", "adaptive": "medium", "max": "medium"},
        ),
        (["high", "low"], ["high", "low"], {"adaptive": "high", "max": "high"}),
    ],
)
def test_allowed_options_to_compat(options: list, efforts: list, mapping: dict) -> None:
    """§10 item 18 (+ §4.1 table)."""
    assert reasoning.reasoning_compat({"allowed_options": options, "default": "on"}) == {
        "supportsReasoningEffort": True,
        "supportedReasoningEfforts": efforts,
        "reasoningEffortMap": mapping,
    }


@pytest.mark.parametrize("options", [["off"], [], None, "on", [1, None, " "]])
def test_no_compat_without_enabled_effort(options: object) -> None:
    """§10 item 18: ["off"] -> undefined."""
    assert reasoning.reasoning_compat({"allowed_options": options}) is None
    assert reasoning.reasoning_compat(None) is None


def test_reasoning_flag() -> None:
    """§10 item 17."""
    assert reasoning.reasoning_flag(None) is False
    assert reasoning.reasoning_flag(
        {"allowed_options": ["low", "medium", "high"], "default": "low"}
    )
    assert not reasoning.reasoning_flag({"allowed_options": ["off"], "default": "off"})
    assert reasoning.reasoning_flag({"default": "on"})
    assert not reasoning.reasoning_flag({"default": " OFF "})


def test_malformed_compat_is_dropped() -> None:
    """§10 item 8."""
    compat = {
        "supportsStore": "false",
        "supportsPromptCacheKey": 1,
        "visibleReasoningDetailTypes": ["reasoning.summary", 1],
        "maxTokensField": "max_output_tokens",
        "codeMode": "unsupported",
        "thinkingFormat": "unsupported",
        "toolSchemaProfile": 1,
        "unsupportedToolSchemaKeywords": ["additionalProperties", ""],
        "toolCallArgumentsEncoding": False,
        "requiresOpenAiAnthropicToolPayload": "true",
        "unapprovedCompatField": True,
    }
    assert reasoning.normalize_configured_compat(compat) is None
    assert reasoning.normalize_configured_compat([1]) is None


@pytest.mark.parametrize("tools", [True, False, None])
def test_old_binary_map_is_migrated(tools: bool | None) -> None:
    """§10 item 9: saved on/off maps become the standard scale; supportsTools as given."""
    compat: dict = {
        "supportsReasoningEffort": True,
        "supportedReasoningEfforts": ["off", "on"],
        "reasoningEffortMap": {"off": "off", "high": "on"},
    }
    if tools is not None:
        compat["supportsTools"] = tools
    expected: dict = {
        "supportsReasoningEffort": True,
        "supportedReasoningEfforts": SIX,
        "reasoningEffortMap": BINARY_MAP,
    }
    if tools is not None:
        expected["supportsTools"] = tools
    assert reasoning.normalize_configured_compat(compat) == expected


def test_every_approved_field_round_trips() -> None:
    """§10 item 10: no on/off -> graded saved config stays as written."""
    compat = {name: True for name in reasoning._BOOL_FIELDS}
    compat.update(
        {
            "codeMode": "preferred",
            "visibleReasoningDetailTypes": ["reasoning.summary"],
            "supportedReasoningEfforts": ["low", "high"],
            "reasoningEffortMap": {"off": "none", "high": "high"},
            "maxTokensField": "max_tokens",
            "thinkingFormat": "qwen",
            "toolSchemaProfile": "lmstudio",
            "unsupportedToolSchemaKeywords": ["additionalProperties"],
            "toolCallArgumentsEncoding": "string",
        }
    )
    assert len(reasoning._BOOL_FIELDS) == 16
    assert reasoning.normalize_configured_compat(compat) == compat


@pytest.mark.parametrize(
    "fmt", ["openai", "openrouter", "deepseek", "together", "qwen", "qwen-chat-template", "zai"]
)
def test_thinking_formats(fmt: str) -> None:
    """§10 item 11."""
    assert reasoning.normalize_configured_compat({"thinkingFormat": fmt}) == {"thinkingFormat": fmt}


def test_catalog_load_normalises_old_saved_rows() -> None:
    """§10 item 92 (catalog side): PLUGIN.normalize_model_row migrates binary maps and keeps
    codeMode; rows without compat stay without."""
    row = {
        "id": "qwen3-8b-instruct",
        "contextWindow": 32768,
        "contextTokens": 8192,
        "compat": {
            "codeMode": "preferred",
            "supportsReasoningEffort": True,
            "supportedReasoningEfforts": ["off", "on"],
            "reasoningEffortMap": {"off": "off", "high": "on"},
        },
    }
    out = PLUGIN.normalize_model_row(row, {})
    assert out["compat"] == {
        "codeMode": "preferred",
        "supportsReasoningEffort": True,
        "supportedReasoningEfforts": SIX,
        "reasoningEffortMap": BINARY_MAP,
    }
    assert row["compat"]["reasoningEffortMap"] == {"off": "off", "high": "on"}  # not mutated
    assert PLUGIN.normalize_model_row({"id": "phi-4"}, {}) == {"id": "phi-4"}
    bad = PLUGIN.normalize_model_row({"id": "x", "contextWindow": -1, "contextTokens": 4096.5}, {})
    assert "contextWindow" not in bad and "contextTokens" not in bad


def test_thinking_off_rewrite() -> None:
    """§10 item 160: thinking off + binary compat turns reasoning_effort high into none."""
    compat = reasoning.reasoning_compat({"allowed_options": ["off", "on"]}) or {}
    payload = {"model": "qwen3-8b-instruct", "reasoning_effort": "high"}
    assert reasoning.rewrite_thinking_off(payload, "off", compat)["reasoning_effort"] == "none"
    assert reasoning.rewrite_thinking_off(payload, "high", compat) is payload
    assert payload["reasoning_effort"] == "high"
