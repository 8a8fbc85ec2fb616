"""Embeddings (lmstudio.md §8; §10 items 175-181, 192, 196-198, 199-204) and
`openclaw embed`."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from tests.conftest import run_cli
from tests.providers.lmstudio_helpers import inst
from tests.servers.fake_lmstudio import FakeLMStudio

from openclaw.config.loader import load_config
from openclaw.config.settings import ModelSettings
from openclaw.providers.lmstudio.embeddings import embed_texts, embedding_context, strip_model

NOMIC = "text-embedding-nomic-embed-text-v1.5"


def write_config(home: Path, provider: dict) -> None:
    path = home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"models": {"providers": {"lmstudio": provider}}}))


@pytest.mark.parametrize(
    ("model", "provider", "expected"),
    [
        (
            {"contextTokens": 4096, "contextWindow": 8192},
            {"contextTokens": 2048, "contextWindow": 16384},
            4096,
        ),
        ({"contextWindow": 8192}, {"contextTokens": 4096, "contextWindow": 16384}, 4096),
        ({"contextWindow": 8192}, {"contextTokens": 16384, "contextWindow": 32768}, 8192),
        ({}, {"contextTokens": 4096, "contextWindow": 16384}, 4096),
        ({"contextWindow": 8192}, {"contextWindow": 16384}, 8192),
        ({}, {"contextWindow": 16384}, 16384),
        ({}, {}, None),
    ],
)
def test_embedding_context_precedence(model: dict, provider: dict, expected: int | None) -> None:
    """§8.4 / §10 items 175-181."""
    assert embedding_context(ModelSettings.read(model, provider)) == expected


def test_model_prefix_and_default() -> None:
    """§8.2 step 5."""
    assert strip_model(None, "lmstudio") == NOMIC
    assert strip_model(" lmstudio/x ", "lmstudio") == "x"
    assert strip_model("lmstudio-spark/y", "lmstudio-spark") == "y"


def test_embed_preloads_at_default_not_maximum_and_batches(
    isolated_home: Path, fake_lmstudio: FakeLMStudio
) -> None:
    """Issue #97016 fix: an unloaded embedding model is loaded at the default 2048 (clamped),
    never its advertised maximum; inputs are batched and order is kept."""
    fake_lmstudio.model(NOMIC)["max_context_length"] = 8192
    write_config(isolated_home, {"baseUrl": fake_lmstudio.base_url, "models": []})
    cfg = load_config()
    texts = [f"text {i}" for i in range(5)]
    result = anyio.run(lambda: embed_texts(cfg, texts, batch_size=2))
    assert result.model == NOMIC and result.dimensions == 8 and len(result.vectors) == 5
    loads = [r.json for r in fake_lmstudio.requests if r.path == "/api/v1/models/load"]
    assert loads == [{"model": NOMIC, "context_length": 2048}]
    bodies = [r.json for r in fake_lmstudio.requests if r.path == "/v1/embeddings"]
    assert [b["input"] for b in bodies] == [texts[0:2], texts[2:4], texts[4:5]]
    # Same text -> same vector (deterministic fake), different texts differ.
    again = anyio.run(lambda: embed_texts(cfg, ["text 3"]))
    assert again.vectors[0] == result.vectors[3]


def test_embed_uses_running_instance_and_configured_context(
    isolated_home: Path, fake_lmstudio: FakeLMStudio
) -> None:
    """Any running instance is used when nothing is configured (no reload); a configured
    contextTokens larger than the instance triggers a load at exactly that context."""
    fake_lmstudio.model(NOMIC)["loaded_instances"] = [inst(NOMIC, 1024)]
    write_config(isolated_home, {"baseUrl": fake_lmstudio.base_url, "models": []})
    anyio.run(lambda: embed_texts(load_config(), ["a"]))
    assert fake_lmstudio.count("POST", "/api/v1/models/load") == 0
    write_config(
        isolated_home,
        {"baseUrl": fake_lmstudio.base_url, "models": [{"id": NOMIC, "contextTokens": 2048}]},
    )
    anyio.run(lambda: embed_texts(load_config(), ["a"]))
    loads = [r.json for r in fake_lmstudio.requests if r.path == "/api/v1/models/load"]
    assert loads == [{"model": NOMIC, "context_length": 2048}]
    last = [r for r in fake_lmstudio.requests if r.path == "/v1/embeddings"][-1]
    assert last.json["model"] == f"{NOMIC}:2"  # routed to the new instance


def test_embed_preload_false_and_query_and_auth(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§8.1/§8.3: preload off -> only /v1/embeddings; the configured query string is kept;
    Bearer from LM_API_TOKEN; empty input -> no request."""
    with FakeLMStudio(api_key="sk-embed-key") as lms:
        write_config(
            isolated_home,
            {
                "baseUrl": lms.base_url + "?tenant=remote",
                "apiKey": "${LM_API_TOKEN}",
                "params": {"preload": False},
                "models": [],
            },
        )
        monkeypatch.setenv("LM_API_TOKEN", "sk-embed-key")
        cfg = load_config()
        assert anyio.run(lambda: embed_texts(cfg, [])).vectors == []
        assert lms.requests == []
        anyio.run(lambda: embed_texts(cfg, ["hello"]))
        assert [(r.path, r.query) for r in lms.requests] == [("/v1/embeddings", "tenant=remote")]
        assert lms.requests[0].header("authorization") == "Bearer sk-embed-key"


def test_embed_command_prints_dimensions_and_json(
    isolated_home: Path, fake_lmstudio: FakeLMStudio
) -> None:
    """`openclaw embed TEXT... [--model REF] [--json]`."""
    write_config(isolated_home, {"baseUrl": fake_lmstudio.base_url, "models": []})
    result = run_cli("embed", "hello world", "second")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Model: lmstudio/{NOMIC} (8 dimensions)"
    assert lines[1].startswith("[0] 'hello world': [") and lines[2].startswith("[1] 'second': [")
    result = run_cli("embed", "x", "--model", f"lmstudio/{NOMIC}", "--json")
    payload = json.loads(result.stdout)
    assert payload["model"] == NOMIC and payload["dimensions"] == 8
    assert len(payload["embeddings"][0]["embedding"]) == 8


def test_embed_command_errors_clearly(isolated_home: Path, fake_lmstudio: FakeLMStudio) -> None:
    """A chat model is not an embedding model: one clear error line, exit 1."""
    write_config(isolated_home, {"baseUrl": fake_lmstudio.base_url, "models": []})
    result = run_cli("embed", "x", "--model", "google/gemma-3-1b")
    assert result.returncode == 1
    assert "lmstudio embeddings failed (HTTP 400)" in result.stderr


def test_embed_api_v1_base_headers_and_profile_key(isolated_home: Path) -> None:
    """§10 item 199: baseUrl .../api/v1/ + provider headers + a profile key -> POST
    /v1/embeddings with Content-Type, Bearer and the provider header; the preload check
    carries the same auth."""
    key = "profile-lmstudio-key"
    with FakeLMStudio(api_key=key) as lms:
        write_config(
            isolated_home,
            {"baseUrl": lms.server_url + "/api/v1/", "headers": {"X-Provider": "p"}, "models": []},
        )
        store = isolated_home / ".openclaw" / "agents" / "main" / "agent" / "auth-profiles.json"
        store.parent.mkdir(parents=True)
        store.write_text(
            json.dumps(
                {
                    "version": 1,
                    "profiles": {
                        "lmstudio:default": {"type": "api_key", "provider": "lmstudio", "key": key}
                    },
                }
            )
        )
        result = anyio.run(lambda: embed_texts(load_config(), ["q"]))
        assert result.dimensions == 8
        emb = next(r for r in lms.requests if r.path == "/v1/embeddings")
        assert emb.header("authorization") == f"Bearer {key}"
        assert emb.header("content-type") == "application/json"
        assert emb.header("x-provider") == "p"
        assert all(r.header("authorization") == f"Bearer {key}" for r in lms.requests)


def test_embed_configured_authorization_header_wins(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§8.2 step 7 / §9.1: with an Authorization header configured, neither LM_API_TOKEN nor
    a stored profile replaces it, on the preload check and on /v1/embeddings alike."""
    token = "sk-proxy-header-token"
    with FakeLMStudio(api_key=token) as lms:
        write_config(
            isolated_home,
            {
                "baseUrl": lms.base_url,
                "headers": {"Authorization": f"Bearer {token}"},
                "models": [],
            },
        )
        monkeypatch.setenv("LM_API_TOKEN", "sk-stale-env-key")
        result = anyio.run(lambda: embed_texts(load_config(), ["q"]))
        assert result.dimensions == 8
        assert "/v1/embeddings" in [r.path for r in lms.requests]
        assert {r.header("authorization") for r in lms.requests} == {f"Bearer {token}"}


def test_embed_continues_when_the_preload_fails(
    isolated_home: Path, fake_lmstudio: FakeLMStudio, caplog: pytest.LogCaptureFixture
) -> None:
    """§8.3: a failed load (even the "required context" kind: the running instance is
    smaller than configured) is a warning; the request goes to the canonical model."""
    fake_lmstudio.model(NOMIC)["max_context_length"] = 8192
    fake_lmstudio.model(NOMIC)["loaded_instances"] = [inst(NOMIC, 1024)]
    fake_lmstudio.override("/api/v1/models/load", 500, {"error": "out of memory"})
    write_config(
        isolated_home,
        {"baseUrl": fake_lmstudio.base_url, "models": [{"id": NOMIC, "contextTokens": 4096}]},
    )
    with caplog.at_level("WARNING", logger="openclaw.providers.lmstudio"):
        result = anyio.run(lambda: embed_texts(load_config(), ["a"]))
    assert result.model == NOMIC and result.dimensions == 8
    assert fake_lmstudio.paths() == [
        "GET /api/v1/models",
        "POST /api/v1/models/load",
        "POST /v1/embeddings",
    ]
    assert fake_lmstudio.requests[-1].json["model"] == NOMIC
    assert "embedding preload failed" in caplog.text
    assert "with 4096 context tokens" in caplog.text


def test_embed_without_config_goes_to_lm_studios_default_server(isolated_home: Path) -> None:
    """A fresh HOME: `openclaw embed` asks LM Studio where it usually listens (nothing listens
    there in tests), rather than refusing for want of a config."""
    from openclaw.config.kinds import LMSTUDIO
    from openclaw.errors import ConfigError
    from openclaw.providers.endpoint import resolve_endpoint

    cfg = load_config()
    assert resolve_endpoint(cfg, "lmstudio").base_url == LMSTUDIO.default_base_url
    with pytest.raises(ConfigError, match='"my-box" is not configured'):
        resolve_endpoint(cfg, "my-box")  # no default server to fall back to

    result = run_cli("embed", "hello")
    assert result.returncode == 1
    origin = str(LMSTUDIO.default_base_url).removesuffix("/v1")
    assert f"Cannot connect to {origin}" in result.stderr
    assert "not configured" not in result.stderr
    assert "Traceback" not in result.stderr
