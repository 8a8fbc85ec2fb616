"""Typed provider and model settings: the rules every call path reads (context, output limit,
params, api, base URL), and wrong-typed values read as unset instead of reaching a request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openclaw.config.loader import load_config
from openclaw.config.settings import ModelSettings, ProviderSettings
from openclaw.providers.runtime import resolve_model_spec


def test_row_and_provider_are_read_with_their_types() -> None:
    model = ModelSettings.read(
        {
            "id": "qwen3-8b",
            "reasoning": True,
            "input": ["text", "image"],
            "contextWindow": 40960,
            "params": {"temperature": 0.2},
        },
        {
            "baseUrl": "http://127.0.0.1:8080/v1/",
            "api": "openai-completions",
            "timeoutSeconds": 90,
            "params": {"temperature": 0.7, "top_p": 0.9},
            "request": {"allowPrivateNetwork": True},
        },
    )
    assert model.name == "qwen3-8b"  # no name: the id
    assert model.reasoning is True and model.input == ("text", "image")
    assert model.wire_api == "openai-completions" and model.api is None
    assert model.provider.base_url == "http://127.0.0.1:8080/v1"
    assert model.provider.timeout_seconds == 90.0
    assert model.provider.allow_private_network is True
    assert model.merged_params == {"temperature": 0.2, "top_p": 0.9}


@pytest.mark.parametrize(
    ("row", "provider", "expected"),
    [
        ({"contextTokens": 8192, "contextWindow": 32768}, {"contextTokens": 4096}, 8192),
        ({"contextWindow": 32768}, {"contextTokens": 4096}, 32768),  # the row decides alone
        ({}, {"contextTokens": 4096, "contextWindow": 16384}, 4096),
        ({}, {}, None),
        ({"contextWindow": True, "contextTokens": -5}, {"contextWindow": "8k"}, None),
        ({"contextWindow": 8192.5}, {"contextWindow": 16384}, 16384),
    ],
)
def test_configured_context_rule(row: dict, provider: dict, expected: int | None) -> None:
    assert ModelSettings.read({"id": "m", **row}, provider).configured_context == expected


@pytest.mark.parametrize(
    ("row", "provider", "expected"),
    [
        ({"params": {"maxTokens": 512}, "maxTokens": 1024}, {"maxTokens": 2048}, 512),
        ({"maxTokens": 1024}, {"maxTokens": 2048}, 1024),
        ({}, {"maxTokens": 2048}, 2048),
        ({"maxTokens": "lots"}, {}, None),
    ],
)
def test_output_limit_rule(row: dict, provider: dict, expected: int | None) -> None:
    assert ModelSettings.read({"id": "m", **row}, provider).output_limit == expected


def test_wrong_types_read_as_unset() -> None:
    provider = ProviderSettings.read(
        {
            "baseUrl": 42,
            "baseURL": "  http://10.0.0.5:8000/v1  ",
            "api": "",
            "timeoutSeconds": False,
            "params": ["not", "a", "map"],
            "request": {"allowPrivateNetwork": "yes", "auth": {"mode": "header", "value": {}}},
        }
    )
    assert provider.base_url == "http://10.0.0.5:8000/v1"  # the spelling that is a string
    assert provider.api is None and provider.timeout_seconds is None and provider.params == {}
    assert provider.allow_private_network is None
    assert provider.request_auth is not None and provider.request_auth.value is None
    model = ModelSettings.read({"id": "m", "input": "image", "reasoning": "false"}, provider)
    assert model.input == ("text",) and model.reasoning is False


def test_with_row_keeps_typed_fields_and_raw_in_step() -> None:
    model = ModelSettings.read({"id": "m", "contextWindow": 131072}, {"contextTokens": 4096})
    changed = model.with_row(contextTokens=32768, capabilities=["tools", 7, "thinking"])
    assert changed.configured_context == 32768
    assert changed.raw["contextTokens"] == 32768 and changed.capabilities == ("tools", "thinking")
    assert model.configured_context == 131072  # the original is unchanged
    assert changed.provider is model.provider


def test_repr_shows_no_secret() -> None:
    secret = "sk-settings-secret-123"
    model = ModelSettings.read(
        {"id": "m", "headers": {"Authorization": f"Bearer {secret}"}},
        {"apiKey": secret, "request": {"auth": {"mode": "header", "value": secret}}},
    )
    assert secret not in repr(model) and secret not in repr(model.provider)


def test_a_call_is_built_from_the_typed_settings(isolated_home: Path) -> None:
    """From the file to the call: the spec's context, limit and params are the settings'."""
    state = isolated_home / ".openclaw"
    state.mkdir(exist_ok=True)
    provider = {
        "baseUrl": "http://127.0.0.1:8000/v1",
        "apiKey": "vllm-local",
        "contextTokens": 8192,
        "maxTokens": 1024,
        "params": {"temperature": 0.3},
        "models": [{"id": "qwen", "name": "Qwen", "params": {"top_p": 0.8}}],
    }
    config = {"models": {"providers": {"vllm": provider}}}
    (state / "openclaw.json").write_text(json.dumps(config))
    spec = resolve_model_spec(load_config(), "vllm/qwen")
    assert spec.model.name == "Qwen"
    assert spec.context_tokens == 8192 and spec.max_tokens == 1024
    assert spec.merged_params == {"temperature": 0.3, "top_p": 0.8}
    assert spec.api == "openai-completions" and spec.base_url == "http://127.0.0.1:8000/v1"
