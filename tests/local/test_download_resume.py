"""Resume and retry: cut bodies, stalls, 5xx/429, servers that ignore Range, a killed process,
and bytes that do not match their sha256. The fake CDN's log shows what was asked for."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import run_cli
from tests.local.download_helpers import payload, sha256, tree_files
from tests.servers.fake_hub import FakeHub

MB = 1_000_000
REPO = "acme/Resume-GGUF"
FILE = "Resume-Q4_K_M.gguf"


def _add(fake_hub: FakeHub, size: int = 3 * MB) -> bytes:
    data = payload(size, "resume")
    fake_hub.add_repo(REPO, {FILE: data})
    return data


def _cdn(fake_hub: FakeHub) -> list[tuple[str | None, int]]:
    return [(s.headers.get("range"), s.status) for s in fake_hub.requests("cdn")]


def _pulled_bytes(stdout: str) -> bytes:
    return Path(json.loads(stdout)["path"]).read_bytes()


def test_cut_connection_resumes_with_range(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    data = _add(fake_hub)
    fake_hub.faults.cut_after = 1_000_000

    result = run_cli("models", "pull", REPO, "--json", env=hub_env)

    assert result.returncode == 0, result.stderr
    assert _pulled_bytes(result.stdout) == data
    assert _cdn(fake_hub) == [(None, 200), ("bytes=1000000-", 206)]
    assert "retrying" in result.stderr


def test_stall_is_detected_and_resumed(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    data = _add(fake_hub)
    fake_hub.faults.stall_after = 700_000

    env = {**hub_env, "OPENCLAW_DOWNLOAD_STALL_SECONDS": "1"}
    result = run_cli("models", "pull", REPO, "--json", env=env)

    assert result.returncode == 0, result.stderr
    assert _pulled_bytes(result.stdout) == data
    assert _cdn(fake_hub) == [(None, 200), ("bytes=700000-", 206)]
    assert "timed out" in result.stderr


def test_429_retry_after_is_honoured(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    data = _add(fake_hub, 200_000)
    fake_hub.faults.statuses = [(429, {"Retry-After": "1"}), (503, {})]

    result = run_cli("models", "pull", REPO, "--json", env=hub_env)

    assert result.returncode == 0, result.stderr
    assert _pulled_bytes(result.stdout) == data
    cdn = fake_hub.requests("cdn")
    assert [s.status for s in cdn] == [429, 503, 200]
    # The client waited as long as the server asked before asking again.
    assert cdn[1].at - cdn[0].at >= 0.95
    assert "HTTP 429" in result.stderr and "HTTP 503" in result.stderr


def test_persistent_5xx_gives_up_with_one_line(
    fake_hub: FakeHub, hub_env: dict[str, str], cache_dir: Path
) -> None:
    _add(fake_hub, 200_000)
    fake_hub.faults.statuses = [(500, {})] * 10

    env = {**hub_env, "OPENCLAW_DOWNLOAD_RETRIES": "2"}
    result = run_cli("models", "pull", REPO, env=env)

    assert result.returncode == 1
    assert "failed after 2 retries: the server answered HTTP 500" in result.stderr
    assert "Traceback" not in result.output
    assert len(fake_hub.requests("cdn")) == 3
    assert not [p for p in tree_files(cache_dir) if "/snapshots/" in p]


def test_server_ignoring_range_restarts_cleanly(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    data = _add(fake_hub)
    fake_hub.faults.cut_after = 1_500_000
    fake_hub.faults.ignore_range = True

    result = run_cli("models", "pull", REPO, "--json", env=hub_env)

    assert result.returncode == 0, result.stderr
    assert _pulled_bytes(result.stdout) == data
    assert _cdn(fake_hub) == [(None, 200), ("bytes=1500000-", 200)]
    assert "ignored the resume request" in result.stderr


def test_wrong_bytes_fail_the_hash_and_leave_nothing(
    fake_hub: FakeHub, hub_env: dict[str, str], cache_dir: Path
) -> None:
    data = _add(fake_hub, 500_000)
    fake_hub.faults.corrupt = True

    result = run_cli("models", "pull", REPO, env=hub_env)

    assert result.returncode == 1
    line = next(line for line in result.stderr.splitlines() if line.startswith("Error:"))
    assert line.startswith(f"Error: sha256 mismatch for {FILE}: expected {sha256(data)}, got ")
    assert "the partial download was deleted" in line
    root = cache_dir / "models--acme--Resume-GGUF"
    assert [p for p in tree_files(root / "blobs")] == []
    assert not (root / "snapshots").exists()

    fake_hub.faults.corrupt = False
    again = run_cli("models", "pull", REPO, "--json", env=hub_env)
    assert again.returncode == 0 and _pulled_bytes(again.stdout) == data


def test_killed_pull_resumes_in_the_next_run(
    fake_hub: FakeHub, hub_env: dict[str, str], cache_dir: Path
) -> None:
    data = _add(fake_hub)
    fake_hub.faults.stall_after = 1_200_000
    part = cache_dir / "models--acme--Resume-GGUF" / "blobs" / f"{sha256(data)}.part"
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "models", "pull", REPO],
        env={**os.environ, **hub_env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (part.exists() and part.stat().st_size >= 1_200_000):
            assert proc.poll() is None, "the pull ended before it was killed"
            assert time.monotonic() < deadline, "the part file never reached the stall point"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert part.stat().st_size == 1_200_000
    assert not (cache_dir / "models--acme--Resume-GGUF" / "snapshots").exists()
    fake_hub.faults.stall_after = None
    fake_hub.release_stall()

    result = run_cli("models", "pull", REPO, "--json", env=hub_env)

    assert result.returncode == 0, result.stderr
    assert _pulled_bytes(result.stdout) == data
    assert _cdn(fake_hub) == [(None, 200), ("bytes=1200000-", 206)]
    assert "resuming at 1.2 MB" in result.stderr
    assert not part.exists()


def test_part_longer_than_the_file_starts_over(
    fake_hub: FakeHub, hub_env: dict[str, str], cache_dir: Path
) -> None:
    data = _add(fake_hub, 100_000)
    blobs = cache_dir / "models--acme--Resume-GGUF" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / f"{sha256(data)}.part").write_bytes(b"\0" * 150_000)

    result = run_cli("models", "pull", REPO, "--json", env=hub_env)

    assert result.returncode == 0, result.stderr
    assert _pulled_bytes(result.stdout) == data
    assert _cdn(fake_hub) == [(None, 200)]


def test_part_with_foreign_bytes_is_caught_by_the_hash(
    fake_hub: FakeHub, hub_env: dict[str, str], cache_dir: Path
) -> None:
    # A part whose first bytes are wrong (disk corruption, another tool) resumes, then fails
    # the hash: the whole file is hashed, not just what this run received.
    data = _add(fake_hub, 100_000)
    blobs = cache_dir / "models--acme--Resume-GGUF" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / f"{sha256(data)}.part").write_bytes(b"\0" * 40_000)

    result = run_cli("models", "pull", REPO, env=hub_env)

    assert result.returncode == 1
    assert "sha256 mismatch" in result.stderr
    assert _cdn(fake_hub) == [("bytes=40000-", 206)]
    assert tree_files(blobs) == []
