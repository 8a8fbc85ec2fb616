"""Whole-request deadlines (issue 14 point 4) against a real server that drips one byte a
second: a request that reads the whole body ends at its deadline, a chat stream keeps
per-read timeouts, and `models list --refresh` gives up after discovery's 5 s."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from openclaw.errors import RequestTimeoutError
from openclaw.net.client import async_client
from openclaw.net.policy import provider_policy
from tests.conftest import run_cli
from tests.servers.fault_server import Fault, FaultServer, catalog_body

#: A bound against hangs, not a measurement: the old per-read timeout let a drip run for
#: as many seconds as the body has bytes (a 200-byte catalog: over three minutes).
HANG_GUARD = 30.0


@pytest.fixture
def drip() -> Iterator[FaultServer]:
    with FaultServer(Fault.DRIP, drip_interval=0.2) as server:
        yield server


def _policy(server: FaultServer):  # type: ignore[no-untyped-def]
    return provider_policy("lmstudio", server.base_url, None)


def test_request_timeout_bounds_the_whole_body(drip: FaultServer) -> None:
    # Every read gets a byte within 0.2 s, far inside the 1 s timeout; only a deadline for
    # the whole request can stop it.
    async def go() -> None:
        with anyio.fail_after(HANG_GUARD):
            async with async_client(_policy(drip), timeout=1.0) as client:
                await client.request("GET", drip.server_url + "/api/v1/models")

    with pytest.raises(RequestTimeoutError, match=r"did not complete within 1 s"):
        anyio.run(go)


def test_stream_keeps_per_read_timeouts(drip: FaultServer) -> None:
    # A chat stream may take longer than its timeout in total, as long as data keeps coming.
    drip.drip_interval = 0.02
    body = catalog_body()

    async def go() -> bytes:
        async with (
            async_client(_policy(drip), timeout=1.0) as client,
            client.stream("GET", drip.server_url + "/api/v1/models") as response,
        ):
            return b"".join([chunk async for chunk in response.aiter_bytes()])

    assert len(body) * drip.drip_interval > 1.0  # the whole read outlasts the timeout
    assert anyio.run(go) == body


def test_stream_deadline_bounds_the_body_too(drip: FaultServer) -> None:
    async def go() -> None:
        with anyio.fail_after(HANG_GUARD):
            async with (
                async_client(_policy(drip), timeout=1.0) as client,
                client.stream("GET", drip.server_url + "/api/v1/models", deadline=1.0) as response,
            ):
                async for _ in response.aiter_bytes():
                    pass

    with pytest.raises(RequestTimeoutError, match=r"did not complete within 1 s"):
        anyio.run(go)


def _configure_lmstudio(home: Path, server: FaultServer, **provider: object) -> None:
    path = home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = {"baseUrl": server.base_url, "api": "openai-completions", "models": [], **provider}
    path.write_text(json.dumps({"models": {"providers": {"lmstudio": cfg}}}))


def test_models_list_refresh_against_a_one_byte_a_second_server(isolated_home: Path) -> None:
    with FaultServer(Fault.DRIP, drip_interval=1.0) as server:
        _configure_lmstudio(isolated_home, server)
        # run_cli raises TimeoutExpired past the bound (5 s discovery deadline + start-up)
        result = run_cli("models", "list", "--refresh", timeout=15)
    assert result.returncode == 1
    assert "did not complete within 5 s" in result.stderr
    assert "unreachable" not in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_embeddings_request_has_a_deadline(isolated_home: Path) -> None:
    with FaultServer(Fault.DRIP, drip_interval=1.0) as server:
        _configure_lmstudio(isolated_home, server, timeoutSeconds=2, params={"preload": False})
        result = run_cli("embed", "hello", timeout=20)
    assert result.returncode == 1
    assert "did not complete within 2 s" in result.stderr
    assert "Traceback" not in result.stderr


def test_lmstudio_load_has_a_deadline() -> None:
    # The load request streams its answer; the deadline covers the trickle of its body too.
    from openclaw.providers.lmstudio.preload import LmstudioLoadError, prepare_model

    with FaultServer(Fault.DRIP, drip_interval=0.2, paths=("/api/v1/models/load",)) as server:

        async def go() -> None:
            with anyio.fail_after(HANG_GUARD):
                await prepare_model(
                    server.base_url,
                    "other/model",  # not loaded: prepare_model sends a load request
                    timeout=1.0,
                    check_timeout=5.0,
                    policy=_policy(server),
                )

        with pytest.raises(LmstudioLoadError, match=r"did not complete within 1 s"):
            anyio.run(go)
    assert ("POST", "/api/v1/models/load") in server.requests
