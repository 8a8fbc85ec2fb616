"""Wire-entry mapping, canonical keys, configured entries, default choice
(lmstudio.md §3.4-3.9, §7.6; §10 items 6, 7, 12-18, 20, 21, 27, 96-99, 103)."""

from __future__ import annotations

import math

import pytest
from tests.servers.fake_lmstudio import default_models

from openclaw.providers.lmstudio import models as wire

ZERO = {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0}
SIX = ["none", "minimal", "low", "medium", "high", "xhigh"]
BINARY_MAP = {"off": "none", "none": "none", "adaptive": "xhigh", "max": "xhigh"}
BINARY = {
    "supportsReasoningEffort": True,
    "supportedReasoningEfforts": SIX,
    "reasoningEffortMap": BINARY_MAP,
}


def test_example_a_runtime_discovery_mapping() -> None:
    """§10 item 20 (Example A) and item 27 (non-object entries dropped)."""
    payload = [
        {
            "type": "llm",
            "key": "qwen3-8b-instruct",
            "display_name": "Qwen3 8B",
            "max_context_length": 262144,
            "format": "mlx",
            "capabilities": {
                "vision": True,
                "trained_for_tool_use": True,
                "reasoning": {"allowed_options": ["off", "on"], "default": "on"},
            },
            "loaded_instances": [{"id": "inst-1", "config": {"context_length": 64000}}],
        },
        {"type": "llm", "key": "deepseek-r1"},
        {"type": "embedding", "key": "text-embedding-nomic-embed-text-v1.5"},
        {"type": "llm", "key": "   "},
    ]
    assert wire.map_entries(payload, runtime=True) == [
        {
            "id": "qwen3-8b-instruct",
            "name": "Qwen3 8B (MLX, vision, tool-use, loaded)",
            "reasoning": True,
            "input": ["text", "image"],
            "cost": ZERO,
            "compat": {"supportsUsageInStreaming": True, **BINARY, "supportsTools": True},
            "contextWindow": 262144,
            "contextTokens": 64000,
            "maxTokens": 8192,
        },
        {
            "id": "deepseek-r1",
            "name": "deepseek-r1",
            "reasoning": False,
            "input": ["text"],
            "cost": ZERO,
            "compat": {"supportsUsageInStreaming": True},
            "contextWindow": 128000,
            "contextTokens": 64000,
            "maxTokens": 8192,
        },
    ]


@pytest.mark.parametrize("tools", [True, False, None])
def test_tool_flag_only_when_true(tools: bool | None) -> None:
    """§10 items 12 and 21: supportsTools only when trained_for_tool_use is True."""
    caps: dict = {"reasoning": {"allowed_options": ["off", "on"], "default": "on"}}
    if tools is not None:
        caps["trained_for_tool_use"] = tools
    entry = {"type": "llm", "key": "m", "capabilities": caps}
    expected = dict(BINARY)
    if tools is True:
        expected["supportsTools"] = True
    config_row = wire.map_entry(entry, runtime=False)
    runtime_row = wire.map_entry(entry, runtime=True)
    assert config_row is not None and runtime_row is not None
    assert config_row["compat"] == expected
    assert runtime_row["compat"] == {"supportsUsageInStreaming": True, **expected}


def test_config_mode_omits_compat_and_keeps_display_name() -> None:
    """observed §3: the saved gemma row has no compat key and no tags in its name."""
    rows = wire.map_entries(default_models(), runtime=False)
    assert [r["id"] for r in rows] == [
        "qwen/qwen3.5-9b",
        "qwen/qwen3-coder-30b",
        "google/gemma-3-1b",
    ]
    qwen, coder, gemma = rows
    assert qwen == {
        "id": "qwen/qwen3.5-9b",
        "name": "Qwen3.5 9B",
        "reasoning": True,
        "input": ["text", "image"],
        "cost": ZERO,
        "compat": {**BINARY, "supportsTools": True},
        "contextWindow": 262144,
        "contextTokens": 32768,
        "maxTokens": 8192,
    }
    assert coder == {
        "id": "qwen/qwen3-coder-30b",
        "name": "Qwen3 Coder 30B",
        "reasoning": False,
        "input": ["text"],
        "cost": ZERO,
        "compat": {"supportsTools": True},
        "contextWindow": 262144,
        "contextTokens": 64000,
        "maxTokens": 8192,
    }
    assert gemma == {
        "id": "google/gemma-3-1b",
        "name": "Gemma 3 1B",
        "reasoning": False,
        "input": ["text"],
        "cost": ZERO,
        "contextWindow": 32768,
        "contextTokens": 4096,
        "maxTokens": 4096,
    }


@pytest.mark.parametrize(
    ("entry_extra", "window", "tokens", "max_tokens", "loaded"),
    [
        # item 13 / Example E, changed by issue 14 point 11: an impossible maximum is unknown
        # (and warned about by discovery), never the 128000 default
        (
            {
                "max_context_length": 32768.5,
                "loaded_instances": [{"id": "loaded", "config": {"context_length": math.inf}}],
            },
            None,
            None,
            8192,
            False,
        ),
        # item 14 / Example B
        (
            {
                "max_context_length": 262144,
                "loaded_instances": [{"id": "loaded", "config": {"context_length": 8192}}],
            },
            262144,
            8192,
            8192,
            True,
        ),
        # item 15 / Example C
        (
            {
                "max_context_length": 262144,
                "loaded_instances": [{"id": "loaded", "config": {"context_length": 98304}}],
            },
            262144,
            98304,
            8192,
            True,
        ),
        # item 16 / Example D
        (
            {"max_context_length": 262144, "loaded_context_length": 262144},
            262144,
            262144,
            8192,
            True,
        ),
        # malformed instances are skipped; the largest valid one wins
        (
            {
                "loaded_instances": [
                    None,
                    {},
                    {"id": "a"},
                    {"id": "b", "config": {"context_length": 2048}},
                    {"id": "c", "config": {"context_length": 4096.0}},
                ]
            },
            128000,
            4096,
            4096,
            True,
        ),
    ],
)
def test_context_rules(
    entry_extra: dict, window: int | None, tokens: int | None, max_tokens: int, loaded: bool
) -> None:
    """§10 items 13-16: loaded instances win; invalid numbers count as unknown."""
    entry = {"type": "llm", "key": "k", **entry_extra}
    row = wire.map_entry(entry, runtime=False)
    assert row is not None
    assert (row.get("contextWindow"), row.get("contextTokens"), row["maxTokens"]) == (
        window,
        tokens,
        max_tokens,
    )
    assert wire.entry_flags(entry)["loaded"] is loaded


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (8192, 8192),
        (8192.0, 8192),
        (32768.5, None),
        (math.inf, None),
        (math.nan, None),
        (0, None),
        (-1, None),
        ("300", None),
        (True, None),
        (2**53, None),
        (2**53 - 1, 2**53 - 1),
    ],
)
def test_positive_safe_integer(value: object, expected: int | None) -> None:
    """§11: JS Number.isSafeInteger(x) && x > 0."""
    assert wire.positive_int(value) == expected


def test_canonical_key_from_variants() -> None:
    """§3.6 and §10 items 37, 38."""
    canon = "gemma-4-e4b-it-ultra-uncensored-heretic"
    variant = canon + "@q4_k_m"
    entries = [{"key": canon, "variants": [None, 42, "", f" {variant} ", variant]}]
    assert wire.canonical_key(variant, entries) == canon
    assert wire.canonical_key(variant.upper(), entries) == canon
    special = [{"key": "local/special-model@q4_k_m", "variants": ["local/special-model@q8_0"]}]
    assert wire.canonical_key("local/special-model@q4_k_m", special) == "local/special-model@q4_k_m"
    assert wire.canonical_key("unknown", entries) == "unknown"
    selected = [{"key": "q", "selected_variant": "q@q8_0"}]
    assert wire.canonical_key("q@q8_0", selected) == "q"
    assert wire.canonical_key("qwen/qwen3.5-9b@q8_0", default_models()) == "qwen/qwen3.5-9b"


def test_configured_entries() -> None:
    """§3.9 and §10 items 6, 7."""
    assert wire.normalize_configured_entry(
        {"id": "bad-window", "contextWindow": math.inf, "contextTokens": 4096.5}
    ) == {
        "id": "bad-window",
        "name": "bad-window",
        "contextWindow": None,
        "contextTokens": None,
        "reasoning": None,
        "input": None,
        "compat": None,
    }
    bad = wire.normalize_configured_entry(
        {"id": "bad-tokens", "contextWindow": -1, "contextTokens": 0}
    )
    assert bad is not None and bad["contextWindow"] is None and bad["contextTokens"] is None
    assert wire.normalize_configured_entry({"id": " "}) is None
    assert wire.normalize_configured_entry("x") is None
    named = wire.normalize_configured_entry(
        {"id": " m ", "name": " Name ", "input": ["text", "audio", "image"], "reasoning": "yes"}
    )
    assert named == {
        "id": "m",
        "name": " Name ",
        "contextWindow": None,
        "contextTokens": None,
        "reasoning": None,
        "input": ["text", "image"],
        "compat": None,
    }


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (["phi-4", "qwen3-8b-instruct"], "qwen3-8b-instruct"),
        (
            ["llama3.3-70b-instruct", "qwen3.5-4b-instruct", "nomic-embed-text"],
            "qwen3.5-4b-instruct",
        ),
        (["google/gemma-3-1b", "qwen/qwen3.5-9b"], "qwen/qwen3.5-9b"),
        (["qwen3-coder-30b", "llama3.3-70b-instruct"], "llama3.3-70b-instruct"),
        (["nomic-embed-text", "my-model"], "my-model"),
        (["a", "b"], "a"),
        ([], None),
    ],
)
def test_default_model_choice(ids: list[str], expected: str | None) -> None:
    """§7.6 and §10 items 97, 103."""
    assert wire.choose_default_model(ids) == expected
