"""URL normalisation and setup validation (lmstudio.md §2; §10 items 1-5, 87, 144)."""

from __future__ import annotations

import pytest

from openclaw.providers.lmstudio import urls
from openclaw.providers.lmstudio.plugin import PLUGIN

TABLE = [
    ("", "http://localhost:1234", "http://localhost:1234/v1"),
    ("http://localhost:1234/api/v1", "http://localhost:1234", "http://localhost:1234/v1"),
    ("http://localhost:1234/api/v1/", "http://localhost:1234", "http://localhost:1234/v1"),
    ("localhost:1234/api/v1", "http://localhost:1234", "http://localhost:1234/v1"),
    ("localhost:1234/api/v1/", "http://localhost:1234", "http://localhost:1234/v1"),
    ("http://192.168.1.10:1234", "http://192.168.1.10:1234", "http://192.168.1.10:1234/v1"),
    ("http://gpu-box.local:1234/v1", "http://gpu-box.local:1234", "http://gpu-box.local:1234/v1"),
    ("gpu-box.local:1234", "http://gpu-box.local:1234", "http://gpu-box.local:1234/v1"),
    (
        "https://models.example.com/v1",
        "https://models.example.com",
        "https://models.example.com/v1",
    ),
    (
        "http://host.docker.internal:1234",
        "http://host.docker.internal:1234",
        "http://host.docker.internal:1234/v1",
    ),
    (
        "http://lmstudio.internal:1234/api/v1/",
        "http://lmstudio.internal:1234",
        "http://lmstudio.internal:1234/v1",
    ),
    ("http://h:1234/V1?x=1#f", "http://h:1234", "http://h:1234/v1"),
    ("http://h:1234/prefix/v1", "http://h:1234/prefix", "http://h:1234/prefix/v1"),
    ("spark.local:1234/api/v1", "http://spark.local:1234", "http://spark.local:1234/v1"),
    ("127.0.0.1:41234", "http://127.0.0.1:41234", "http://127.0.0.1:41234/v1"),
    ("HTTP://LOCALHOST:1234/", "http://localhost:1234", "http://localhost:1234/v1"),
    ("http://localhost:80/v1", "http://localhost", "http://localhost/v1"),
]


@pytest.mark.parametrize(("raw", "server", "inference"), TABLE)
def test_server_and_inference_base_table(raw: str, server: str, inference: str) -> None:
    """§10 items 1-3 and the whole §2.2 table."""
    assert urls.server_base(raw) == server
    assert urls.inference_base(raw) == inference


def test_absent_value_uses_default_and_docker_variant() -> None:
    """§10 item 1; OPENCLAW_DOCKER_SETUP switches the default host (§1.1)."""
    assert urls.server_base(None) == "http://localhost:1234"
    assert urls.inference_base(None) == "http://localhost:1234/v1"
    for truthy in ("1", " TRUE ", "yes", "on"):
        env = {"OPENCLAW_DOCKER_SETUP": truthy}
        assert urls.inference_base("", env=env) == "http://host.docker.internal:1234/v1"
    assert (
        urls.inference_base("", env={"OPENCLAW_DOCKER_SETUP": "0"}) == urls.DEFAULT_INFERENCE_BASE
    )


def test_junk_passes_through_as_string() -> None:
    """§2.1 step 4: unparseable input is kept (suffixes stripped)."""
    assert urls.server_base("not a valid URL/v1") == "not a valid URL"
    assert urls.server_base("/v1") == "http://localhost:1234"


@pytest.mark.parametrize(
    "bad", ["http://", "https://", "/v1", "not a valid URL", "ftp://localhost:1234"]
)
def test_setup_validation_rejects(bad: str) -> None:
    """§10 item 144: invalid URLs get the HTTP/HTTPS message."""
    assert urls.validate_setup_url(bad) == (
        "Enter a valid HTTP or HTTPS URL (e.g. http://localhost:1234)."
    )


@pytest.mark.parametrize("good", ["localhost:1234/api/v1/", "https://models.example.com/v1"])
def test_setup_validation_accepts(good: str) -> None:
    """§10 item 144."""
    assert urls.validate_setup_url(good) is None


def test_setup_validation_blank_is_required() -> None:
    assert urls.validate_setup_url("   ") == "Required"


def test_normalize_config_canonicalises_base_without_private_network_flag() -> None:
    """§10 items 4, 87 - deliberately changed: no request.allowPrivateNetwork is added, the
    network guard already trusts the exact configured origin (issue #5 item 1)."""
    cfg = {"baseUrl": "http://192.168.1.10:1234", "models": []}
    assert PLUGIN.normalize_config(cfg) == {"baseUrl": "http://192.168.1.10:1234/v1", "models": []}
    cfg2 = {"api": "openai-completions", "baseUrl": "http://localhost:1234/api/v1/", "models": []}
    out = PLUGIN.normalize_config(cfg2)
    assert out == {"api": "openai-completions", "baseUrl": "http://localhost:1234/v1", "models": []}
    assert cfg2["baseUrl"] == "http://localhost:1234/api/v1/"  # caller's object untouched


def test_normalize_config_keeps_explicit_opt_out_and_same_object() -> None:
    """§10 item 5: an explicit allowPrivateNetwork false is returned unchanged."""
    cfg = {
        "baseUrl": "http://gpu-box.local:1234/v1",
        "request": {"allowPrivateNetwork": False, "headers": {"X-Proxy-Auth": "token"}},
        "models": [],
    }
    assert PLUGIN.normalize_config(cfg) is cfg
    assert PLUGIN.normalize_config({"models": []}) == {"models": []}


def test_normalisation_is_idempotent_property() -> None:
    """Property: the inference base is a fixed point, and /v1, /api/v1 and trailing slashes
    never change the result."""
    from hypothesis import given
    from hypothesis import strategies as st

    hosts = st.sampled_from(["localhost", "127.0.0.1", "gpu-box.local", "models.example.com"])
    ports = st.one_of(st.none(), st.integers(min_value=1, max_value=65535))
    prefixes = st.sampled_from(["", "/prefix", "/a/b"])
    suffixes = st.sampled_from(["", "/", "/v1", "/v1/", "/api/v1", "/api/v1/", "/V1"])

    @given(st.sampled_from(["http", "https"]), hosts, ports, prefixes, suffixes)
    def check(scheme: str, host: str, port: int | None, prefix: str, suffix: str) -> None:
        netloc = host if port is None else f"{host}:{port}"
        url = f"{scheme}://{netloc}{prefix}{suffix}"
        base = urls.inference_base(url)
        assert base.endswith("/v1")
        assert urls.inference_base(base) == base
        assert urls.inference_base(f"{scheme}://{netloc}{prefix}") == base

    check()
