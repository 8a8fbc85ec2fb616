"""Every public SSRF vector, decided by `openclaw net check --json` and by the real client.

The CLI runs in-process (click's CliRunner) for every case, through the same command code;
a sample also runs as a real subprocess. The client runs with a stub resolver and a
recording backend (no socket is opened), and the loopback cases again against real servers
on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import anyio
import httpx2
import pytest
from click.testing import CliRunner

from openclaw.cli.main import cli
from openclaw.errors import OpenClawError
from openclaw.net.client import async_client
from openclaw.net.policy import STRICT_POLICY, NetPolicy, provider_policy
from tests.conftest import run_cli
from tests.net.helpers import (
    LoopbackServer,
    RecordingAsyncBackend,
    load_vectors,
    scripted_redirects,
    serving,
    table_resolver,
)

VECTORS = load_vectors()


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['expect']}-{case['url'][:60]}"


CASES = [pytest.param(c, id=_case_id(c)) for c in VECTORS]


def check_args(case: dict[str, Any]) -> list[str]:
    args = ["net", "check", case["url"], "--json", "--no-dns"]
    policy = case["policy"]
    if policy.get("baseUrl"):
        args += ["--base-url", policy["baseUrl"]]
    if policy.get("allowPrivateNetwork") is not None:
        args += ["--allow-private-network", str(policy["allowPrivateNetwork"]).lower()]
    for host, ips in (case.get("dns") or {}).items():
        args += ["--resolve", f"{host}={','.join(ips)}"]
    for location in case.get("redirects") or []:
        args += ["--redirect", location]
    return args


def policy_of(case: dict[str, Any]) -> NetPolicy:
    policy = case["policy"]
    if policy.get("baseUrl"):
        return provider_policy("test", policy["baseUrl"], policy.get("allowPrivateNetwork"))
    return STRICT_POLICY


def _assert_report(out: dict[str, Any], expect: str) -> None:
    assert set(out) == {"allowed", "reason", "hops"}
    assert out["allowed"] is (expect == "allow"), out
    assert isinstance(out["reason"], str) and out["reason"]
    assert out["hops"], out
    for hop in out["hops"]:
        assert set(hop) == {"url", "allowed", "reason", "addresses"}
    if expect == "allow":
        assert all(h["allowed"] and h["addresses"] for h in out["hops"])
    else:
        assert out["hops"][-1]["allowed"] is False


@pytest.mark.parametrize("case", CASES)
def test_vector_through_net_check(case: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli, check_args(case))
    out = json.loads(result.stdout)
    _assert_report(out, case["expect"])
    assert result.exit_code == (0 if case["expect"] == "allow" else 1)


# A sample as real subprocesses: the installed command, its exit status and its JSON.
SUBPROCESS_SAMPLE = [c for i, c in enumerate(VECTORS) if i % 12 == 0]


@pytest.mark.parametrize("case", [pytest.param(c, id=_case_id(c)) for c in SUBPROCESS_SAMPLE])
def test_vector_through_subprocess(case: dict[str, Any]) -> None:
    result = run_cli(*check_args(case))
    out = json.loads(result.stdout)
    _assert_report(out, case["expect"])
    assert result.returncode == (0 if case["expect"] == "allow" else 1)
    assert "Traceback" not in result.stderr


def _canon(text: str) -> str:
    return str(ipaddress.ip_address(text))


def _client_outcome(case: dict[str, Any], backend: RecordingAsyncBackend) -> str:
    resolver = table_resolver(case.get("dns") or {})

    async def go() -> str:
        async with async_client(policy_of(case), resolver=resolver, network_backend=backend) as c:
            try:
                response = await c.request("GET", case["url"])
            except OpenClawError:
                return "block"
            assert response.status_code == 200
            return "allow"

    return anyio.run(go)


def _assert_dials(case: dict[str, Any], got: str, dials: list[tuple[str, int]]) -> None:
    """Only IP literals the case allows for are dialled (DNS answers or literal hosts), one
    per hop when allowed, and the refused hop is never dialled."""
    expected = {_canon(ip) for ips in (case.get("dns") or {}).values() for ip in ips}
    for url in [case["url"], *(case.get("redirects") or [])]:
        try:
            expected.add(_canon(httpx2.URL(url).host))
        except Exception:
            pass
    for address, _port in dials:
        assert address in expected
    hops = 1 + len(case.get("redirects") or [])
    if got == "allow":
        assert len(dials) == hops
    else:
        assert len(dials) < hops


@pytest.mark.parametrize("case", CASES)
def test_vector_through_async_client_with_stub_backend(case: dict[str, Any]) -> None:
    backend = RecordingAsyncBackend(scripted_redirects(list(case.get("redirects") or [])))
    got = _client_outcome(case, backend)
    assert got == case["expect"]
    _assert_dials(case, got, backend.dials)


# --- the loopback cases against real servers on 127.0.0.1 --------------------------------------


def _is_loopback_case(case: dict[str, Any]) -> bool:
    if case.get("redirects"):
        return False
    try:
        url = httpx2.URL(case["url"])
    except Exception:
        return False
    if url.scheme != "http" or "\\" in case["url"] or "%" in case["url"]:
        return False
    answers = (case.get("dns") or {}).get(url.host)
    if answers is not None:
        return bool(answers) and answers[0] == "127.0.0.1"
    return url.host == "127.0.0.1"


LOOPBACK_CASES = [pytest.param(c, id=_case_id(c)) for c in VECTORS if _is_loopback_case(c)]


def _with_port(url: str, port_map: dict[int, int]) -> str:
    parsed = httpx2.URL(url)
    return str(parsed.copy_with(port=port_map[parsed.port or 80]))


@pytest.mark.parametrize("case", LOOPBACK_CASES or [pytest.param(None, id="none")])
def test_loopback_vector_against_real_servers(case: dict[str, Any] | None) -> None:
    if case is None:
        pytest.skip("no loopback vectors")
    base = case["policy"].get("baseUrl")
    ports = {httpx2.URL(case["url"]).port or 80}
    if base:
        ports.add(httpx2.URL(base).port or 80)
    servers: list[LoopbackServer] = []
    gens = []
    for _ in ports:
        gen = serving()
        servers.append(next(gen))
        gens.append(gen)
    try:
        port_map = {orig: srv.port for orig, srv in zip(sorted(ports), servers, strict=True)}
        url = _with_port(case["url"], port_map)
        policy = (
            provider_policy(
                "test", _with_port(base, port_map), case["policy"].get("allowPrivateNetwork")
            )
            if base
            else STRICT_POLICY
        )
        resolver = table_resolver(case.get("dns") or {})

        async def go(policy: NetPolicy = policy, resolver: Any = resolver) -> str:
            async with async_client(policy, resolver=resolver, timeout=5) as client:
                try:
                    response = await client.request("GET", url)
                except OpenClawError:
                    return "block"
                return "allow" if response.status_code == 200 else "error"

        got = anyio.run(go)
        assert got == case["expect"]
        served = sum(len(s.requests) for s in servers)
        assert served == (1 if got == "allow" else 0)
    finally:
        for gen in gens:
            gen.close()
