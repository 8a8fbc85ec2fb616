"""Pytest fixtures for tests against a real llama.cpp server.

Loaded from ``tests/conftest.py`` with ``pytest_plugins = ["tests.conftest_llama"]``.

* ``tiny_model_path``   - the scripted GGUF (tests/fixtures/tiny_model.py), written
  once per session.
* ``llama_server``      - the engine with ``--ctx 4096``.
* ``llama_server_16k``  - the engine with ``--ctx 16384`` (long system prompts).
* ``llama_server_auth`` - the engine with the API key :data:`LLAMA_API_KEY`.
* ``llama_binary``      - the ``llama-server`` binary ``$OPENCLAW_LLAMA_SERVER`` names.

The servers run through the project's own launcher (``python -m openclaw.local.serve``) on
xllamacpp (the ``local`` extra), session-scoped, bound to 127.0.0.1 on a free port; use
``server.base_url`` (``http://127.0.0.1:PORT/v1``).  Send ``"cache_prompt": false`` if a
test asserts on cached-token counts, because a shared server keeps the previous test's prompt
in its slot.

Without xllamacpp (or with ``OPENCLAW_SKIP_LLAMA=1``) the tests that need a server are
skipped - except when ``$CI`` is set, where they fail, so a CI job cannot pass by silently
skipping them.  Only the binary route (``llama_binary``) is skipped with its reason when no
binary is given, in CI too: a fresh clone has none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.llama_server import (
    LLAMA_SERVER_ENV,
    LlamaServer,
    embedded_engine_problem,
    find_llama_server,
    start_llama_server,
)

LLAMA_API_KEY = "sk-test-llama-key"

# Resolved in pytest_configure, before any test's environment isolation
# (tests/conftest.py clears OPENCLAW_* variables per test) can hide the
# variables that steer it.
_engine_problem_key = pytest.StashKey[str | None]()
_binary_key = pytest.StashKey[str | None]()
_binary_hint_key = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "llama: needs a real llama.cpp server (xllamacpp, the `local` extra)"
    )
    problem = embedded_engine_problem()
    if os.environ.get("OPENCLAW_SKIP_LLAMA") == "1":
        problem = "OPENCLAW_SKIP_LLAMA=1"
    config.stash[_engine_problem_key] = problem
    configured = os.environ.get(LLAMA_SERVER_ENV)
    config.stash[_binary_key] = find_llama_server()
    if configured and config.stash[_binary_key] is None:
        hint = f"${LLAMA_SERVER_ENV}={configured!r} is not an executable file"
    else:
        hint = f"the llama-server binary route needs ${LLAMA_SERVER_ENV} (none given)"
    config.stash[_binary_hint_key] = hint


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where a missing engine is a setup bug."""
    if running_in_ci():
        pytest.fail(f"{reason} (failing instead of skipping because $CI is set)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def llama_engine_available(pytestconfig: pytest.Config) -> None:
    """Skip (fail in CI) when the xllamacpp engine cannot run here."""
    problem = pytestconfig.stash[_engine_problem_key]
    if problem is not None:
        _unavailable(problem)


@pytest.fixture(scope="session")
def llama_binary(pytestconfig: pytest.Config) -> str:
    """The ``$OPENCLAW_LLAMA_SERVER`` binary; skipped with the reason when none is given."""
    binary = pytestconfig.stash[_binary_key]
    if binary is None:
        pytest.skip(pytestconfig.stash[_binary_hint_key])
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
    model: Path,
    logs: pytest.TempPathFactory,
    name: str,
    *,
    ctx: int,
    api_key: str | None = None,
) -> Iterator[LlamaServer]:
    log_path = logs.mktemp("llama-logs") / f"{name}.log"  # kept for post-mortems
    server = start_llama_server(model, log_path=log_path, ctx=ctx, api_key=api_key)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def llama_server(
    llama_engine_available: None, tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    yield from _serve(tiny_model_path, tmp_path_factory, "ctx4k", ctx=4096)


@pytest.fixture(scope="session")
def llama_server_16k(
    llama_engine_available: None, tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    yield from _serve(tiny_model_path, tmp_path_factory, "ctx16k", ctx=16384)


@pytest.fixture(scope="session")
def llama_server_auth(
    llama_engine_available: None, tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    yield from _serve(tiny_model_path, tmp_path_factory, "auth", ctx=4096, api_key=LLAMA_API_KEY)
