from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw.config.loader import load_config
from openclaw.errors import ModelRefError
from openclaw.models.refs import ModelRef, model_key, parse_model_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lmstudio/qwen/qwen3.5-9b", ModelRef("lmstudio", "qwen/qwen3.5-9b")),
        ("  LMStudio/qwen/qwen3.5-9b ", ModelRef("lmstudio", "qwen/qwen3.5-9b")),
        ("openrouter/meta-llama/llama-3-70b", ModelRef("openrouter", "meta-llama/llama-3-70b")),
        ("lmstudio/qwen/qwen3.5-9b@work", ModelRef("lmstudio", "qwen/qwen3.5-9b", "work")),
        ("anthropic/claude-sonnet-4@20250514", ModelRef("anthropic", "claude-sonnet-4@20250514")),
        ("lmstudio/qwen/qwen3-8b@q4_k_m", ModelRef("lmstudio", "qwen/qwen3-8b@q4_k_m")),
        ("lmstudio/mlx/model@8bit", ModelRef("lmstudio", "mlx/model@8bit")),
        ("lmstudio/x/model@fp16", ModelRef("lmstudio", "x/model@fp16")),
        ("ollama/gemma4:latest", ModelRef("ollama", "gemma4:latest")),
        ("z.ai/glm-4.6", ModelRef("zai", "glm-4.6")),
        ("bedrock/claude", ModelRef("amazon-bedrock", "claude")),
    ],
)
def test_parse(text: str, expected: ModelRef) -> None:
    assert parse_model_ref(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "/model", "lmstudio/", "bad provider/x", "@work", "lmstudio/m@", "lmstudio/m@@"],
)
def test_invalid(text: str) -> None:
    with pytest.raises(ModelRefError):
        parse_model_ref(text)


def test_key_does_not_double_prefix() -> None:
    assert model_key("lmstudio", "qwen/qwen3.5-9b") == "lmstudio/qwen/qwen3.5-9b"
    assert model_key("openrouter", "openrouter/auto") == "openrouter/auto"


def test_bare_names_use_aliases_then_unique_configured_model(isolated_home: Path) -> None:
    path = isolated_home / ".openclaw" / "openclaw.json"
    path.parent.mkdir()
    path.write_text(json.dumps({
        "models": {"providers": {
            "lmstudio": {"baseUrl": "http://localhost:1234/v1", "models": [{"id": "gemma"}, {"id": "dup"}]},
            "vllm": {"baseUrl": "http://localhost:8000/v1", "models": [{"id": "dup"}]}}},
        "agents": {"defaults": {"models": {"lmstudio/qwen/qwen3.5-9b": {"alias": "Fast"}}}},
    }))  # fmt: skip
    cfg = load_config()
    assert parse_model_ref("fast", cfg) == ModelRef("lmstudio", "qwen/qwen3.5-9b")
    assert parse_model_ref("fast@work", cfg).profile == "work"
    assert parse_model_ref("gemma", cfg) == ModelRef("lmstudio", "gemma")
    with pytest.raises(ModelRefError, match="several providers"):
        parse_model_ref("dup", cfg)
    with pytest.raises(ModelRefError, match="without provider"):
        parse_model_ref("unknown", cfg)


_segment = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,10}", fullmatch=True)


@given(_segment, st.lists(_segment, min_size=1, max_size=3))
def test_round_trip(provider: str, parts: list[str]) -> None:
    model = "/".join(parts)
    if model.startswith(provider + "/"):
        return
    ref = parse_model_ref(f"{provider}/{model}")
    assert ref.key == f"{ref.provider}/{model}"
    assert parse_model_ref(ref.key) == ref
