"""Edge cases of the guard, each through the sync and the async client (which must agree):
ports out of range, unicode hosts, resolvers that fail or answer oddly, mixed DNS answers,
the metadata table, redirects carrying a body, request logs, and that bench/policy.py
measures every case.

Dials go to a recording backend (no socket is opened), except the redirect and log tests,
which use real servers on 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner

from openclaw.cli.main import cli
from openclaw.errors import NetworkError, OpenClawError, SsrfBlockedError, UnreachableError
from openclaw.net.addresses import METADATA_ADDRESSES, NEVER, canonical_ip, classify, inspect_ip
from openclaw.net.client import async_client
from openclaw.net.guard import BAD_PORT, check_target
from openclaw.net.policy import STRICT_POLICY, NetPolicy, provider_policy
from tests.net.helpers import (
    LoopbackServer,
    RecordingAsyncBackend,
    table_resolver,
)

Resolver = Callable[[str, int], list[str]]
Outcome = tuple[str, list[tuple[str, int]]]  # ("200" or the error class name, dials)


def outcome(policy: NetPolicy, url: str, resolver: Resolver) -> Outcome:
    """The client's outcome: the status or the error class, and every address it dialled."""
    backend = RecordingAsyncBackend()

    async def go() -> str:
        async with async_client(policy, resolver=resolver, network_backend=backend) as client:
            return str((await client.request("GET", url)).status_code)

    try:
        got = anyio.run(go)
    except OpenClawError as exc:
        got = type(exc).__name__
    return got, backend.dials


PUBLIC = {"public.example": ["93.184.216.34"]}


# --- ports -----------------------------------------------------------------------------------


@pytest.mark.parametrize("port", [0, -1, 65536, 99999])
def test_ports_outside_1_to_65535_are_refused_before_dns(port: int) -> None:
    # httpx2 accepts these; :0 would be dialled as the default port and :99999 wraps in C.
    url = f"http://public.example:{port}/"
    with pytest.raises(SsrfBlockedError) as info:
        check_target(url, STRICT_POLICY)
    assert info.value.reason == BAD_PORT
    resolver = table_resolver(PUBLIC)
    assert outcome(STRICT_POLICY, url, resolver) == ("SsrfBlockedError", [])
    assert resolver.calls == []  # type: ignore[attr-defined]
    opt_in = provider_policy("p", f"http://10.0.0.5:{port}/", True)
    assert opt_in.trusted_origin is None and opt_in.trust_refused
    assert outcome(opt_in, f"http://10.0.0.5:{port}/", resolver) == ("SsrfBlockedError", [])
    result = CliRunner().invoke(cli, ["net", "check", url, "--json", "--no-dns"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["reason"] == BAD_PORT


@pytest.mark.parametrize("port", [1, 65535])
def test_ports_at_the_edges_of_the_range_are_dialled_as_given(port: int) -> None:
    url = f"http://public.example:{port}/"
    assert outcome(STRICT_POLICY, url, table_resolver(PUBLIC)) == ("200", [("93.184.216.34", port)])


# --- unicode and IDNA hosts: the guard checks the host httpx2 dials ---------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://ｌocalhost/",  # fullwidth l: httpx2 refuses the IDNA label
        "http://Ｌocalhost/",
        "http://ⓛocalhost/",  # circled l
        "http://１２７.０.０.１/",  # fullwidth digits
        "http://127。0。0。1/",  # ideographic full stops: httpx2 maps them to 127.0.0.1
        "http://[::ffff:127.0.0.1]/",
        "http://localhost./",
        "http://LOCALHOST/",
    ],
)
def test_unicode_and_spelled_loopback_hosts_are_refused(url: str) -> None:
    resolver = table_resolver({"localhost": ["127.0.0.1"]})
    assert outcome(STRICT_POLICY, url, resolver) == ("SsrfBlockedError", [])
    assert resolver.calls == []  # type: ignore[attr-defined]


def test_ideographic_dots_reach_a_trusted_loopback_origin_at_the_same_address() -> None:
    policy = provider_policy("lms", "http://127.0.0.1:1234/v1", None)
    assert outcome(policy, "http://127。0。0。1:1234/v1", table_resolver({})) == (
        "200",
        [("127.0.0.1", 1234)],
    )
    # ...and the same spelling on another port is refused like any other port.
    assert outcome(policy, "http://127。0。0。1:1235/v1", table_resolver({})) == (
        "SsrfBlockedError",
        [],
    )


def test_idna_names_are_resolved_in_their_ascii_form() -> None:
    resolver = table_resolver({"xn--bcher-kva.example": ["93.184.216.34"]})
    assert outcome(STRICT_POLICY, "http://bücher.example/", resolver) == (
        "200",
        [("93.184.216.34", 80)],
    )
    assert set(resolver.calls) == {"xn--bcher-kva.example"}  # type: ignore[attr-defined]


# --- resolvers that fail or answer oddly -------------------------------------------------------


def _raises(host: str, port: int) -> list[str]:
    raise RuntimeError("resolver bug")


def _returns_none(host: str, port: int) -> Any:
    return None


@pytest.mark.parametrize("resolver", [_raises, _returns_none], ids=["raises", "returns-none"])
def test_a_failing_resolver_is_unreachable_and_nothing_is_dialled(resolver: Resolver) -> None:
    got, dials = outcome(STRICT_POLICY, "http://public.example/", resolver)
    assert (got, dials) == ("UnreachableError", [])


def test_unresolvable_message_names_the_host() -> None:
    async def go() -> None:
        async with async_client(STRICT_POLICY, resolver=_raises) as client:
            await client.get("http://public.example/")

    with pytest.raises(UnreachableError, match=r"Unable to resolve hostname: public\.example"):
        anyio.run(go)


@pytest.mark.parametrize(
    "answers",
    [
        [2130706433],  # not a string: judged as the text "2130706433" (non-canonical, blocked)
        ["93.184.216.34", "127.1"],  # a legacy spelling among good answers
        ["93.184.216.34", ""],
        ["93.184.216.34", "::ffff:10.0.0.1"],  # IPv4-mapped private answer
        ["2606:4700:4700::1111", "64:ff9b::a9fe:a9fe"],  # NAT64 of the IMDS address
        ["93.184.216.34", "fe80::1%eth0"],  # link-local with a zone id
        ["0.0.0.0"],
        ["::"],
    ],
)
def test_one_odd_answer_refuses_the_whole_set(answers: list[Any]) -> None:
    resolver: Resolver = lambda host, port: list(answers)  # noqa: E731
    assert outcome(STRICT_POLICY, "http://public.example/", resolver) == ("SsrfBlockedError", [])


def test_mixed_families_are_deduplicated_and_ipv4_is_dialled_first() -> None:
    answers = ["2606:4700:4700::1111", "93.184.216.34", "2606:4700:4700:0::1111", "93.184.216.34"]
    resolver = table_resolver({"public.example": answers})
    assert outcome(STRICT_POLICY, "http://public.example/", resolver) == (
        "200",
        [("93.184.216.34", 80)],
    )


# --- the metadata table ------------------------------------------------------------------------


@pytest.mark.parametrize("address", METADATA_ADDRESSES)
def test_metadata_addresses_are_never_reachable(address: str) -> None:
    assert classify(address) & NEVER
    host = f"[{address}]" if ":" in address else address
    policy = provider_policy("p", f"http://{host}/v1", True)
    assert policy.trusted_origin is None and policy.trust_refused
    assert outcome(policy, f"http://{host}/v1", table_resolver({})) == ("SsrfBlockedError", [])


def test_inspect_ip_gives_flags_and_canonical_spelling_in_one_parse() -> None:
    assert inspect_ip("127.0.0.1") == (classify("127.0.0.1"), "127.0.0.1")
    assert inspect_ip("[0:0:0:0:0:ffff:7f00:1]")[1] == "::ffff:7f00:1"
    assert inspect_ip("127.1")[1] is None
    assert canonical_ip("2606:4700:4700:0::1111") == "2606:4700:4700::1111"
    with pytest.raises(ValueError):
        canonical_ip("0x7f000001")


# --- cost: bench/policy.py ---------------------------------------------------------------------


def test_policy_bench_measures_every_case() -> None:
    """bench/policy.py reports a figure per case; its 50 µs budget is checked by running the
    bench (exit 1 over budget), not here: a loaded CI machine says nothing about the code."""
    path = Path(__file__).resolve().parents[2] / "bench" / "policy.py"
    spec = importlib.util.spec_from_file_location("bench_policy", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = bench.run(rounds=200, repeats=1)
    assert set(results) == {label for label, *_ in bench.CASES}
    for row in results.values():
        assert set(row) == {"check", "parse", "cold"}
        assert all(0 < value < float("inf") for value in row.values()), row


# --- redirects with a body, and what the logs say (real servers on 127.0.0.1) ------------------


@pytest.mark.parametrize("status", [307, 308])
def test_cross_origin_307_308_with_a_body_is_refused_and_the_target_gets_nothing(
    status: int, server_a: LoopbackServer, server_b: LoopbackServer
) -> None:
    server_a.routes["/v1/post"] = (status, {"Location": server_b.url("/v1/post")}, b"")
    policy = provider_policy("lms", server_a.url("/v1"), True)  # server_b is reachable too
    with pytest.raises(NetworkError, match="Refusing to resend a POST body"):
        _async_post(policy, server_a.url("/v1/post"), b'{"secret": 1}')
    assert [(r.method, r.body) for r in server_a.requests] == [("POST", b'{"secret": 1}')]
    assert server_b.requests == []


def test_cross_origin_302_post_becomes_a_get_without_body_headers(
    server_a: LoopbackServer, server_b: LoopbackServer
) -> None:
    server_a.routes["/v1/post"] = (302, {"Location": server_b.url("/done")}, b"")
    policy = provider_policy("lms", server_a.url("/v1"), True)
    assert _async_post(policy, server_a.url("/v1/post"), b"xyz").status_code == 200
    assert [(r.method, r.body) for r in server_b.requests] == [("GET", b"")]
    for seen in server_b.requests:
        assert "content-type" not in seen.headers and "content-length" not in seen.headers


def _async_post(policy: NetPolicy, url: str, body: bytes) -> Any:
    async def go() -> Any:
        async with async_client(policy, timeout=5) as client:
            return await client.request(
                "POST", url, content=body, headers={"Content-Type": "application/json"}
            )

    return anyio.run(go)


def test_http_library_request_logs_carry_the_origin_only(
    server_a: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    server_a.routes["/v1/old"] = (302, {"Location": "/v1/new?token=def"}, b"")
    url = f"http://user:hunter2@127.0.0.1:{server_a.port}/v1/old?token=abc"
    policy = provider_policy("lms", server_a.url("/v1"), None)
    # INFO: httpx2 logs every request line there. (httpcore2's DEBUG traces show raw response
    # headers by design; that level is an explicit opt-in to wire details.)
    with caplog.at_level(logging.INFO):
        assert _async_post(policy, url, b"").status_code == 200
    assert f"http://127.0.0.1:{server_a.port}" in caplog.text  # the request lines are there
    for secret in ("hunter2", "token", "abc", "def", "/v1/old", "/v1/new"):
        assert secret not in caplog.text, secret
