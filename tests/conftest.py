"""Fixtures shared by every test package.

Every test runs with HOME pointed at a fresh temporary directory and with the OpenClaw and
proxy environment variables cleared, so no test can read or write the developer's real files
or be steered by their shell.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = ["tests.conftest_llama"]

_CLEARED_PREFIXES = (
    "OPENCLAW_",
    "LM_API_TOKEN",
    "CUSTOM_API_KEY",
    "VLLM_API_KEY",
    "SGLANG_API_KEY",
)
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name.upper() in _PROXY_VARS:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    cwd = home / "cwd"
    cwd.mkdir()
    # A `.env` in the working directory is part of config loading; keep tests out of the repo's.
    monkeypatch.chdir(cwd)
    return home


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = 60,
    cwd: str | os.PathLike[str] | None = None,
) -> CliResult:
    """Run `python -m openclaw ARGS` as a real subprocess with the test's environment."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "openclaw", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
        cwd=cwd,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> Iterator[type[CliRunnerLike]]:
    yield CliRunnerLike


class CliRunnerLike:
    """`cli.run("models", "list")` in tests: a subprocess run of the real command."""

    run = staticmethod(run_cli)
