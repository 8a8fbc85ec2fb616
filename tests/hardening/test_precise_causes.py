"""Precise causes (issue 14 point 6): LM Studio discovery says a body was too large, the
server was too slow, or the connection closed mid-response - not "unreachable" with a hint to
start a server that is running - and embedding errors carry a hint for their status and the
server's own message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from openclaw.errors import (
    ConnectionClosedError,
    RequestTimeoutError,
    ResponseTooLargeError,
    UnreachableError,
)
from openclaw.providers.lmstudio import discovery
from tests.conftest import run_cli
from tests.servers.fault_server import Fault, FaultServer


def _catalog_error(server: FaultServer, timeout: float = 5.0) -> Exception:
    async def go() -> discovery.CatalogFetch:
        with anyio.fail_after(60):
            return await discovery.fetch_models(server.base_url, timeout=timeout)

    result = anyio.run(go)
    assert not result.reachable
    return discovery.catalog_error(result, server.base_url)


@pytest.mark.parametrize(
    ("fault", "error_type", "words"),
    [
        (Fault.OVERSIZED, ResponseTooLargeError, "larger than the 16777216-byte limit"),
        (Fault.CUT, ConnectionClosedError, "closed in the middle of the response"),
        (Fault.HANG, RequestTimeoutError, "did not complete within 1 s"),
        (Fault.DRIP, RequestTimeoutError, "did not complete within 1 s"),
    ],
)
def test_discovery_names_the_failure(fault: Fault, error_type: type, words: str) -> None:
    with FaultServer(fault, drip_interval=0.2) as server:
        err = _catalog_error(server, timeout=1.0)
    assert type(err) is error_type
    assert words in str(err)
    assert "unreachable" not in str(err).lower()
    assert "start" not in (getattr(err, "hint", "") or "").lower()


def test_discovery_still_says_unreachable_for_a_closed_port() -> None:
    with FaultServer() as server:
        base = server.base_url
    err = discovery.catalog_error(
        anyio.run(lambda: discovery.fetch_models(base, timeout=5.0)), base
    )
    assert isinstance(err, UnreachableError)
    assert "unreachable" in str(err)


@pytest.fixture
def embed_server(isolated_home: Path) -> Iterator[FaultServer]:
    with FaultServer(paths=("/v1/embeddings",)) as server:
        path = isolated_home / ".openclaw" / "openclaw.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        provider = {
            "baseUrl": server.base_url,
            "api": "openai-completions",
            "models": [],
            "params": {"preload": False},
        }
        path.write_text(json.dumps({"models": {"providers": {"lmstudio": provider}}}))
        yield server


def _embed_error(server: FaultServer, fault: Fault, status: int = 500) -> str:
    server.fault = fault
    server.error_status = status
    result = run_cli("embed", "hello", timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    return result.stderr


def test_embeddings_work_against_the_normal_server(embed_server: FaultServer) -> None:
    result = run_cli("embed", "hello", "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["dimensions"] == 3


def test_embeddings_401_points_at_the_key(embed_server: FaultServer) -> None:
    embed_server.error_message = "Invalid or missing API token"
    err = _embed_error(embed_server, Fault.ERROR_STATUS, 401)
    assert "HTTP 401" in err and "Invalid or missing API token" in err
    assert "LM_API_TOKEN" in err


def test_embeddings_429_says_wait(embed_server: FaultServer) -> None:
    err = _embed_error(embed_server, Fault.ERROR_STATUS, 429)
    assert "HTTP 429" in err and "wait" in err.lower()


def test_embeddings_5xx_shows_the_servers_message(embed_server: FaultServer) -> None:
    embed_server.error_message = "CUDA out of memory"
    err = _embed_error(embed_server, Fault.ERROR_STATUS, 503)
    assert "HTTP 503" in err and "CUDA out of memory" in err
    assert "embedding model available" not in err  # not the 4xx "wrong model" hint


def test_embeddings_error_object_in_a_200_shows_the_servers_message(
    embed_server: FaultServer,
) -> None:
    embed_server.error_message = "model crashed while embedding"
    err = _embed_error(embed_server, Fault.ERROR_IN_200)
    assert "model crashed while embedding" in err
    assert "unexpected response shape" not in err


def test_embeddings_cut_mid_body_says_so(embed_server: FaultServer) -> None:
    err = _embed_error(embed_server, Fault.CUT)
    assert "closed in the middle of the response" in err
