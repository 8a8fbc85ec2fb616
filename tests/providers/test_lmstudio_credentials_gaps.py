"""Credentials, headers and the catalog-discovery hook through the LM Studio paths
(lmstudio.md §3.1, §7.5, §8.2, §9.1-9.2; §10 items 23, 29, 55-69, 88-91, 127-142, 193).

The reference's catalog hook (§7.5) runs on every catalog load; this project deliberately
keeps `models list` offline (openclaw-observed.md §4), so the hook's discovery items map onto
`openclaw models list --refresh` / ``PLUGIN.discover`` and its "explicit models short-circuit"
items onto the offline `models list`. The hook's returned provider patch (persisted
``apiKey``/``auth``) has no counterpart: listing never rewrites the config here; only
onboarding writes it (tested in test_onboard_cli.py and below for item 142).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.conftest import run_cli
from tests.servers.fake_lmstudio import FakeLMStudio

from openclaw.auth.profiles import AuthProfileStore
from openclaw.config.loader import load_config
from openclaw.errors import ConfigError
from openclaw.llm.types import ChatOptions, Context, UserMessage
from openclaw.providers.lmstudio import discovery, preload
from openclaw.providers.lmstudio.plugin import PLUGIN
from openclaw.providers.runtime import resolve_model_spec, stream_model

PROXY_REF = {"source": "env", "provider": "default", "id": "LMSTUDIO_PROXY_TOKEN"}
KEY_REF = {"source": "env", "provider": "default", "id": "LMSTUDIO_DISCOVERY_TOKEN"}
AUTHZ = {"Authorization": "Bearer proxy-token"}


def write_config(home: Path, provider: dict[str, Any]) -> None:
    path = home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"models": {"providers": {"lmstudio": provider}}}))


def store_profile(key: str) -> None:
    store = AuthProfileStore(load_config().paths.auth_profiles_path())
    store.upsert_api_key("lmstudio:default", "lmstudio", key)


def discover() -> list:
    return anyio.run(PLUGIN.discover, load_config(), "lmstudio")


def sent(fake: FakeLMStudio) -> list[tuple[str | None, str | None]]:
    return [(r.header("authorization"), r.header("x-proxy-auth")) for r in fake.requests]


# ---- §3.1 guarded catalog fetch ------------------------------------------------------------


def test_guarded_catalog_fetch_status_and_timeout_clamp(fake_lmstudio: FakeLMStudio) -> None:
    """§10 items 23 and 29: every fetch here goes through the network guard; a 503 through it
    is {reachable, status 503, no models} (body not parsed); a huge timeout is clamped to the
    reference's 2_147_000_000 ms and the fetch still succeeds."""
    policy = discovery.provider_policy(fake_lmstudio.base_url)
    fake_lmstudio.override("/api/v1/models", 503, {"models": [{"type": "llm", "key": "x"}]})
    result = anyio.run(lambda: discovery.fetch_models(fake_lmstudio.base_url, policy=policy))
    assert (result.reachable, result.status, result.models, result.error) == (True, 503, [], None)
    assert discovery.clamp_timeout(float(2**53 - 1), 5.0) == 2_147_000.0
    ok = anyio.run(
        lambda: discovery.fetch_models(
            fake_lmstudio.base_url, policy=policy, timeout=float(2**53 - 1)
        )
    )
    assert (ok.reachable, ok.status) == (True, 200) and len(ok.models) == 4


# ---- §9.1 runtime key / §7.5 discovery credentials --------------------------------------------


CASES: list[tuple[str, dict[str, Any], dict[str, str], str | None, tuple]] = [
    # (items, provider config, env, stored profile key, expected (authorization, x-proxy-auth))
    ("56,66", {"apiKey": "${LM_API_TOKEN}"}, {"LM_API_TOKEN": "template-lmstudio-key"}, None,
     ("Bearer template-lmstudio-key", None)),
    ("67", {"apiKey": "${LMSTUDIO_API_KEY}"}, {"LMSTUDIO_API_KEY": "any-name-key"}, None,
     ("Bearer any-name-key", None)),
    ("65,132", {"apiKey": KEY_REF, "headers": {"X-Proxy-Auth": PROXY_REF}},
     {"LMSTUDIO_DISCOVERY_TOKEN": "secretref-lmstudio-key",
      "LMSTUDIO_PROXY_TOKEN": "proxy-token-from-env"}, None,
     ("Bearer secretref-lmstudio-key", "proxy-token-from-env")),
    ("57", {"apiKey": "lmstudio-local"}, {}, None, (None, None)),
    ("58", {"apiKey": "lmstudio-local", "auth": "api-key"}, {}, None, (None, None)),
    ("59", {"apiKey": "custom-local"}, {}, None, (None, None)),
    ("60,90", {"headers": AUTHZ}, {}, None, ("Bearer proxy-token", None)),
    ("61", {"headers": AUTHZ}, {}, "stale-profile-key", ("Bearer proxy-token", None)),
    ("62,63", {"headers": AUTHZ}, {"LM_API_TOKEN": "stale-env-key"}, None,
     ("Bearer proxy-token", None)),
    ("135", {"apiKey": "configured-direct-key"}, {}, None, ("Bearer configured-direct-key", None)),
    ("136", {"apiKey": "configured-direct-key"}, {}, "resolved-discovery-key",
     ("Bearer resolved-discovery-key", None)),
    ("137", {"apiKey": "${LMSTUDIO_API_KEY}"}, {}, "resolved-discovery-key",
     ("Bearer resolved-discovery-key", None)),
    ("138,140", {"apiKey": "stale-legacy-key", "headers": {"Authorization": "Bearer custom-token"}},
     {"LM_API_TOKEN": "stale-env-key"}, "stale-profile-key", ("Bearer custom-token", None)),
    ("139", {"auth": "api-key"}, {"LM_API_TOKEN": "env-lmstudio-key"}, None,
     ("Bearer env-lmstudio-key", None)),
    ("55,64,89", {"auth": "api-key"}, {}, None, (None, None)),
    ("88", {"headers": {"X-Proxy-Auth": "proxy-token"}}, {}, None, (None, "proxy-token")),
    ("91", {"apiKey": "lmstudio-local"}, {"LM_API_TOKEN": "real-env-key"}, None,
     ("Bearer real-env-key", None)),
    ("91", {"apiKey": "custom-local"}, {}, "real-profile-key", ("Bearer real-profile-key", None)),
    ("91", {"apiKey": "lmstudio-real-key"}, {}, None, ("Bearer lmstudio-real-key", None)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("items", "provider", "env", "profile_key", "expected"),
    CASES,
    ids=[f"items-{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_discovery_credentials(
    isolated_home: Path,
    fake_lmstudio: FakeLMStudio,
    monkeypatch: pytest.MonkeyPatch,
    items: str,
    provider: dict[str, Any],
    env: dict[str, str],
    profile_key: str | None,
    expected: tuple,
) -> None:
    """§10 items 55-67, 88-91, 132, 135-140 (see ids): which key and headers runtime discovery
    (`models list --refresh`) sends. Markers (lmstudio-local, custom-local, the synthetic
    keyless case) are never sent and let a real profile/env key win; a configured Authorization
    header wins over stale profile/env/config keys; SecretRefs and ${VAR} resolve from the env.
    Items 55/64 deliberately differ: with `auth: "api-key"` but no key anywhere the reference
    throws "LM Studio API key is required"; here the local server is asked without a key (a
    keyless local server is the common case, and a server that needs one answers 401, which
    `--refresh` reports as rejected credentials)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    write_config(isolated_home, {"baseUrl": fake_lmstudio.base_url, "models": [], **provider})
    if profile_key:
        store_profile(profile_key)
    entries = discover()
    assert [e.model_id for e in entries][:1] == ["qwen/qwen3.5-9b"]
    assert sent(fake_lmstudio) == [expected]


def test_blank_profile_key_is_not_sent(isolated_home: Path, fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 55: a stored profile whose key is blank ("   ") counts as no key: nothing blank
    goes out as `Bearer    `; the keyless request is made (deliberate, see above)."""
    write_config(
        isolated_home, {"baseUrl": fake_lmstudio.base_url, "models": [], "auth": "api-key"}
    )
    path = load_config().paths.auth_profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "profiles": {
                    "lmstudio:default": {"type": "api_key", "provider": "lmstudio", "key": "   "}
                },
            }
        )
    )
    discover()
    assert sent(fake_lmstudio) == [(None, None)]


def test_unresolved_header_secret_fails_before_any_request(
    isolated_home: Path, fake_lmstudio: FakeLMStudio
) -> None:
    """§10 items 69, 133: a header SecretRef whose variable is unset stops discovery before any
    request, naming the config path (the reference's catalog hook skips the provider
    silently; an explicit `--refresh` here says why instead of showing nothing)."""
    provider = {"headers": {"X-Proxy-Auth": PROXY_REF}}
    write_config(isolated_home, {"baseUrl": fake_lmstudio.base_url, "models": [], **provider})
    with pytest.raises(ConfigError, match=r"models\.providers\.lmstudio\.headers\.X-Proxy-Auth"):
        discover()
    assert fake_lmstudio.requests == []


@pytest.mark.parametrize(
    ("items", "provider"),
    [("68", {"apiKey": "${LMSTUDIO_API_KEY}"}), ("134", {"apiKey": KEY_REF})],
)
def test_unresolved_api_key_counts_as_missing(
    isolated_home: Path, fake_lmstudio: FakeLMStudio, items: str, provider: dict[str, Any]
) -> None:
    """§10 items 68, 134, deliberately changed: the reference refuses to discover when the
    apiKey's variable is unset. Here, as on the chat path (issue #2: an unresolved credential
    counts as missing and is never sent), discovery goes out keyless after the loader's
    warning: a keyless LM Studio answers, one that needs a token answers 401."""
    write_config(isolated_home, {"baseUrl": fake_lmstudio.base_url, "models": [], **provider})
    discover()
    assert sent(fake_lmstudio) == [(None, None)]


def test_refresh_cli_with_secret_refs(isolated_home: Path, fake_lmstudio: FakeLMStudio) -> None:
    """§10 items 132/134 through `openclaw models list --refresh`: resolved SecretRefs go out as
    Bearer and X-Proxy-Auth; with the proxy header's variable unset the command exits 1
    naming models.providers.lmstudio.headers.X-Proxy-Auth and makes no request."""
    write_config(
        isolated_home,
        {
            "baseUrl": fake_lmstudio.base_url,
            "models": [],
            "apiKey": KEY_REF,
            "headers": {"X-Proxy-Auth": PROXY_REF},
        },
    )
    env = {
        "LMSTUDIO_DISCOVERY_TOKEN": "secretref-lmstudio-key",
        "LMSTUDIO_PROXY_TOKEN": "proxy-token-from-env",
    }
    ok = run_cli("models", "list", "--refresh", "--plain", env=env)
    assert ok.returncode == 0, ok.stderr
    assert "lmstudio/qwen/qwen3.5-9b" in ok.stdout.splitlines()
    assert sent(fake_lmstudio) == [("Bearer secretref-lmstudio-key", "proxy-token-from-env")]
    fake_lmstudio.clear_requests()
    bad = run_cli(
        "models", "list", "--refresh", env={"LMSTUDIO_DISCOVERY_TOKEN": "secretref-lmstudio-key"}
    )
    assert bad.returncode == 1
    assert "models.providers.lmstudio.headers.X-Proxy-Auth" in bad.stderr
    assert "LMSTUDIO_PROXY_TOKEN" in bad.stderr
    assert "secretref-lmstudio-key" not in bad.output
    assert fake_lmstudio.requests == []


def test_chat_path_resolves_header_secret_refs(
    isolated_home: Path, fake_lmstudio: FakeLMStudio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Header SecretRefs are resolved on the chat path too (they used to be dropped there),
    and an unset one is refused before any request with its config path."""
    write_config(
        isolated_home,
        {
            "baseUrl": fake_lmstudio.base_url,
            "models": [{"id": "qwen/qwen3.5-9b", "contextTokens": 32768}],
            "headers": {"X-Proxy-Auth": PROXY_REF},
        },
    )
    with pytest.raises(ConfigError, match=r"models\.providers\.lmstudio\.headers\.X-Proxy-Auth"):
        resolve_model_spec(load_config(), "lmstudio/qwen/qwen3.5-9b")
    monkeypatch.setenv("LMSTUDIO_PROXY_TOKEN", "proxy-token-from-env")
    spec = resolve_model_spec(load_config(), "lmstudio/qwen/qwen3.5-9b")

    async def main() -> list:
        ctx = Context(messages=[UserMessage("hi")])
        return [ev async for ev in stream_model(spec, ctx, ChatOptions())]

    assert anyio.run(main)[-1].type == "done"
    assert {r.header("x-proxy-auth") for r in fake_lmstudio.requests} == {"proxy-token-from-env"}


def test_chat_path_resolves_secretref_and_template_keys(
    isolated_home: Path, fake_lmstudio: FakeLMStudio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§10 items 65-67 on the chat path: an env SecretRef apiKey and a `${VAR}` template with
    any variable name both go out as Bearer on the check and the chat."""
    for provider, var, value in (
        ({"apiKey": KEY_REF}, "LMSTUDIO_DISCOVERY_TOKEN", "secretref-lmstudio-key"),
        ({"apiKey": "${LMSTUDIO_API_KEY}"}, "LMSTUDIO_API_KEY", "template-key"),
    ):
        fake_lmstudio.clear_requests()
        monkeypatch.setenv(var, value)
        write_config(
            isolated_home,
            {
                "baseUrl": fake_lmstudio.base_url,
                "models": [{"id": "qwen/qwen3.5-9b", "contextTokens": 32768}],
                **provider,
            },
        )
        spec = resolve_model_spec(load_config(), "lmstudio/qwen/qwen3.5-9b")

        async def main(spec: Any = spec) -> list:
            ctx = Context(messages=[UserMessage("hi")])
            return [ev async for ev in stream_model(spec, ctx, ChatOptions())]

        assert anyio.run(main)[-1].type == "done"
        assert {r.header("authorization") for r in fake_lmstudio.requests} == {f"Bearer {value}"}
        preload.reset_state()


# ---- §7.5 explicit models: `models list` stays offline ------------------------------------


@pytest.mark.parametrize(
    ("item", "provider"),
    [
        ("127", {}),
        ("128", {"auth": "api-key"}),
        (
            "129",
            {"apiKey": "stale-legacy-key", "headers": {"Authorization": "Bearer custom-token"}},
        ),
        ("130", {"apiKey": "${LMSTUDIO_API_KEY}", "headers": {"Authorization": "Bearer t"}}),
        ("131", {"headers": {"X-Proxy-Auth": "proxy-token"}}),
    ],
)
def test_explicit_models_list_without_any_request(
    isolated_home: Path, fake_lmstudio: FakeLMStudio, item: str, provider: dict[str, Any]
) -> None:
    """§10 items 127-131: with explicit models configured, listing the catalog makes no request
    (here `models list` never does; openclaw-observed.md §4) and shows exactly the configured
    models at the canonical base, whatever the auth shape."""
    write_config(
        isolated_home,
        {
            "baseUrl": fake_lmstudio.server_url + "/api/v1/",
            "models": [{"id": "qwen3-8b-instruct", "contextWindow": 8192}],
            **provider,
        },
    )
    result = run_cli("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["models"]
    assert [r["key"] for r in rows] == ["lmstudio/qwen3-8b-instruct"]
    assert rows[0]["local"] is True
    assert fake_lmstudio.requests == []


def test_refresh_with_no_config_asks_nobody(isolated_home: Path) -> None:
    """§10 item 141, changed: with no config the reference probes http://localhost:1234/v1
    quietly and returns nothing for an empty answer; here `--refresh` only asks configured
    providers, so nothing is contacted and the usual onboarding hint is shown."""
    result = run_cli("models", "list", "--refresh")
    assert result.returncode == 0, result.stderr
    assert "openclaw onboard" in result.stderr


def test_onboard_over_custom_local_marker_writes_env_marker(
    isolated_home: Path, fake_lmstudio: FakeLMStudio
) -> None:
    """§10 item 142: non-interactive setup with a real key over a config whose apiKey is the
    "custom-local" marker -> auth api-key, apiKey LM_API_TOKEN; the key is in the profile."""
    write_config(
        isolated_home,
        {"baseUrl": fake_lmstudio.base_url, "apiKey": "custom-local", "models": []},
    )
    result = run_cli(
        "onboard",
        "--non-interactive",
        "--accept-risk",
        "--auth-choice",
        "lmstudio",
        "--custom-base-url",
        fake_lmstudio.base_url,
        "--lmstudio-api-key",
        "fresh-cli-key",
    )
    assert result.returncode == 0, result.stderr
    cfg = json.loads((isolated_home / ".openclaw" / "openclaw.json").read_text())
    provider = cfg["models"]["providers"]["lmstudio"]
    assert (provider["auth"], provider["apiKey"]) == ("api-key", "LM_API_TOKEN")
    store = json.loads(load_config().paths.auth_profiles_path().read_text())
    assert store["profiles"]["lmstudio:default"]["key"] == "fresh-cli-key"
    assert sent(fake_lmstudio) == [("Bearer fresh-cli-key", None)]


# ---- §8.2 embedding header values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "env"),
    [
        ({"source": "env", "provider": "default", "id": "EMBED_AUTH"}, {}),
        (None, {}),
    ],
    ids=["unresolved-secretref", "null"],
)
def test_embedding_header_values_fail_before_any_request(
    isolated_home: Path, fake_lmstudio: FakeLMStudio, value: Any, env: dict[str, str]
) -> None:
    """§10 item 193: a provider header X-Embedding-Auth that is an unresolved SecretRef or null
    makes `openclaw embed` fail with models.providers.lmstudio.headers.X-Embedding-Auth in the
    message and no network call. (A number such as 42 is already refused by config validation;
    memory-search `remote` headers do not exist in this project.)"""
    write_config(
        isolated_home,
        {
            "baseUrl": fake_lmstudio.base_url,
            "models": [],
            "headers": {"X-Embedding-Auth": value},
        },
    )
    result = run_cli("embed", "hello", env=env)
    assert result.returncode == 1
    assert "models.providers.lmstudio.headers.X-Embedding-Auth" in result.stderr
    assert fake_lmstudio.requests == []
    number = isolated_home / ".openclaw" / "openclaw.json"
    number.write_text(
        json.dumps(
            {
                "models": {
                    "providers": {
                        "lmstudio": {
                            "baseUrl": fake_lmstudio.base_url,
                            "models": [],
                            "headers": {"X-Embedding-Auth": 42},
                        }
                    }
                }
            }
        )
    )
    refused = run_cli("embed", "hello")
    assert refused.returncode != 0
    assert "X-Embedding-Auth" in refused.stderr
    assert fake_lmstudio.requests == []


def test_embedding_secretref_header_is_resolved(
    isolated_home: Path, fake_lmstudio: FakeLMStudio
) -> None:
    """§10 items 65/193 (positive case): a resolvable header SecretRef is sent on the preload
    check and on /v1/embeddings."""
    write_config(
        isolated_home,
        {
            "baseUrl": fake_lmstudio.base_url,
            "models": [],
            "headers": {"X-Embedding-Auth": {"source": "env", "id": "EMBED_AUTH"}},
        },
    )
    result = run_cli("embed", "hello", env={"EMBED_AUTH": "embed-secret"})
    assert result.returncode == 0, result.stderr
    assert fake_lmstudio.requests
    assert {r.header("x-embedding-auth") for r in fake_lmstudio.requests} == {"embed-secret"}
