"""How provider config becomes a policy (exact-origin trust, opt-in, never-trusted bases)."""

from __future__ import annotations

import pytest

from openclaw.errors import SsrfBlockedError
from openclaw.net.guard import check_answers, check_target
from openclaw.net.policy import STRICT_POLICY, policy_for_provider_config, provider_policy


@pytest.mark.parametrize(
    ("base", "origin"),
    [
        ("http://127.0.0.1:1234/v1", ("http", "127.0.0.1", 1234)),
        ("http://LOCALHOST.:11434", ("http", "localhost", 11434)),
        ("http://[::1]:8080/v1", ("http", "::1", 8080)),
        ("http://192.168.1.10/v1", ("http", "192.168.1.10", 80)),
        ("https://100.64.0.10/v1", ("https", "100.64.0.10", 443)),
        ("http://[fd00::1]:11434", ("http", "fd00::1", 11434)),
        ("http://user:pw@llm.lan:8080/v1?x=1", ("http", "llm.lan", 8080)),
        ("http://studio.local:1234/v1", ("http", "studio.local", 1234)),
        ("http://host.docker.internal:1234/v1", ("http", "host.docker.internal", 1234)),
        ("https://llm.example.com/v1", ("https", "llm.example.com", 443)),
    ],
)
def test_configured_origin_is_trusted_exactly(base: str, origin: tuple[str, str, int]) -> None:
    policy = provider_policy("p", base, None)
    assert policy.trusted_origin == origin
    assert policy.allow_private_network is False
    assert policy.same_host_redirects_only is True


@pytest.mark.parametrize(
    "base",
    [
        "http://169.254.169.254/v1",
        "http://[fe80::1]:8000/v1",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/v1",
        "http://[2002:a9fe:a9fe::]/v1",
        "http://100.100.100.200/v1",
        "http://[fd00:ec2::254]/",
        "http://[64:ff9b:1::a00:5]/v1",
        "http://2852039166/v1",
        "http://0xa9fea9fe/v1",
        "http://metadata.google.internal/",
        "http://metadata/",
        "http://metadata-server.example/v1",
        "http://instance-data.ec2.internal/v1",
        "not a url",
        "ftp://10.0.0.5/",
        "",
    ],
)
def test_never_trusted_bases(base: str) -> None:
    policy = provider_policy("p", base, None)
    assert policy.trusted_origin is None
    assert policy.trust_refused


def test_false_removes_trust_and_true_opens_private() -> None:
    denied = provider_policy("p", "http://10.0.0.5:1234/v1", False)
    assert denied.trusted_origin is None and denied.private_network_denied
    opened = provider_policy("p", "http://10.0.0.5:1234/v1", True)
    assert opened.trusted_origin == ("http", "10.0.0.5", 1234)
    assert opened.allow_private_network is True


def test_provider_config_reads_only_real_booleans() -> None:
    cfg = {"baseUrl": "http://10.0.0.5:1234/v1", "request": {"allowPrivateNetwork": "true"}}
    policy = policy_for_provider_config("vllm", cfg)
    assert policy.allow_private_network is False
    assert policy.trusted_origin == ("http", "10.0.0.5", 1234)
    assert policy.config_key == "models.providers.vllm.request.allowPrivateNetwork"
    assert policy_for_provider_config("x", {}).trusted_origin is None
    assert STRICT_POLICY.config_key is None


def test_default_port_and_case_normalised_when_comparing_origins() -> None:
    policy = provider_policy("p", "http://LLM.lan/v1", None)
    target = check_target("http://llm.lan:80/v1/chat", policy)
    assert target.mode == "trusted"
    assert check_answers(target, ["192.168.1.50"], policy) == ("192.168.1.50",)


def test_trusted_name_may_not_resolve_to_loopback_unless_it_is_a_loopback_name() -> None:
    lan = provider_policy("p", "http://llm.lan:8080", None)
    target = check_target("http://llm.lan:8080/", lan)
    with pytest.raises(SsrfBlockedError) as info:
        check_answers(target, ["127.0.0.1"], lan)
    assert "not a loopback name" in (info.value.hint or "")
    local = provider_policy("p", "http://api.localhost:8080", None)
    target = check_target("http://api.localhost:8080/", local)
    assert check_answers(target, ["::1", "127.0.0.1"], local) == ("127.0.0.1", "::1")


@pytest.mark.parametrize("answer", ["0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255"])
def test_not_a_destination_even_for_trusted_or_opted_in(answer: str) -> None:
    for flag in (None, True):
        policy = provider_policy("p", "http://llm.lan:8080", flag)
        target = check_target("http://llm.lan:8080/", policy)
        with pytest.raises(SsrfBlockedError):
            check_answers(target, [answer], policy)


def test_opt_in_keeps_metadata_names_blocked_without_dns() -> None:
    policy = provider_policy("p", "http://10.0.0.5:1234", True)
    with pytest.raises(SsrfBlockedError) as info:
        check_target("http://metadata.google.internal/computeMetadata/v1/", policy)
    assert "never reachable" in (info.value.hint or "")
    assert check_target("http://db.corp.internal/", policy).mode == "opt_in"
