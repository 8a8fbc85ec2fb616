from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw.auth.markers import is_marker, marker_env_var
from openclaw.auth.redact import REDACTED, mask_secret, redact_config, redact_text


@pytest.mark.parametrize(
    "value",
    ["lmstudio-local", "ollama-local", "custom-local", "secretref-managed",
     "secretref-env:MY_KEY", "oauth:openai", "LM_API_TOKEN", "OLLAMA_API_KEY"],
)  # fmt: skip
def test_markers(value: str) -> None:
    assert is_marker(value)


@pytest.mark.parametrize("value", ["sk-lm-fake-TOKEN-0001", "lmstudio", "abc", "ABCDEF123"])
def test_real_keys_are_not_markers(value: str) -> None:
    assert not is_marker(value)


def test_marker_env_var() -> None:
    assert marker_env_var("LM_API_TOKEN") == "LM_API_TOKEN"
    assert marker_env_var("secretref-env:X_Y") == "X_Y"
    assert marker_env_var("lmstudio-local") is None


def test_mask() -> None:
    assert mask_secret("sk-lm-fake-TOKEN-0001") == "sk-l…0001"
    assert mask_secret("short") == "****"


@given(st.text(min_size=12, max_size=80))
def test_mask_never_reveals_the_middle(secret: str) -> None:
    masked = mask_secret(secret)
    assert len(masked) == 9 and masked[4] == "…"


def test_redact_text_and_config() -> None:
    assert redact_text("key=sk-lm-fake-TOKEN-0001!", ["sk-lm-fake-TOKEN-0001"]) == "key=sk-l…0001!"
    data = {
        "models": {"providers": {"a": {"apiKey": "sk-real-0000000001", "maxTokens": 5,
                                         "headers": {"X-Api-Key": "hdr-secret-1", "X-Trace": "t"}},
                                   "b": {"apiKey": "lmstudio-local"}, "c": {"apiKey": "${LM_API_TOKEN}"}}},
        "gateway": {"auth": {"mode": "token", "token": "abcdef0123456789"}},
    }  # fmt: skip
    out = redact_config(data)
    providers = out["models"]["providers"]
    assert providers["a"]["apiKey"] == REDACTED
    assert providers["a"]["headers"] == {"X-Api-Key": REDACTED, "X-Trace": "t"}
    assert providers["a"]["maxTokens"] == 5
    assert providers["b"]["apiKey"] == "lmstudio-local"
    assert providers["c"]["apiKey"] == "${LM_API_TOKEN}"
    assert out["gateway"]["auth"] == {"mode": "token", "token": REDACTED}


def test_redact_request_auth_value_and_url_passwords() -> None:
    provider = {
        "baseUrl": "http://user:pw-secret-0001@host:1234/v1",
        "request": {
            "auth": {"mode": "header", "headerName": "X-Api-Key", "value": "sk-auth-value-0001"},
            "proxy": {"mode": "explicit-proxy", "url": "http://proxy:8080"},
        },
        "models": [{"id": "m", "baseUrl": "https://u:${PROXY_PASS}@h/v1"}],
    }
    out = redact_config({"models": {"providers": {"x": provider}}})["models"]["providers"]["x"]
    assert out["baseUrl"] == REDACTED
    assert out["request"]["auth"] == {
        "mode": "header",
        "headerName": "X-Api-Key",
        "value": REDACTED,
    }
    assert out["request"]["proxy"]["url"] == "http://proxy:8080"  # no credentials: shown
    assert out["models"][0]["baseUrl"] == "https://u:${PROXY_PASS}@h/v1"  # a reference only
