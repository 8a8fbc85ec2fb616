"""R1–R3: the sidecar lock protocol shared with the TypeScript OpenClaw (interop-ts.md §b).

Holders are real subprocesses; "at once" is bounded by a short acquire timeout rather than
a wall-clock assertion.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openclaw.config import locks
from openclaw.config.paths import resolve_paths
from openclaw.errors import ConcurrentWriteError
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[2]


def _spawn(*args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.interop.lock_holder", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "held", proc.stderr.read() if proc.stderr else line
    return proc


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _locks_under(root: Path) -> list[Path]:
    return sorted(root.rglob("*.lock"))


@pytest.fixture
def target(isolated_home: Path) -> Path:
    path = isolated_home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True)
    path.write_text("{}\n")
    return path


def test_lock_file_is_ts_owner_record_and_release_removes_it(target: Path) -> None:
    with locks.sidecar_lock(target) as lock:
        assert lock == target.with_name("openclaw.json.lock")
        data = lock.read_bytes()
        record = json.loads(data)
        assert record["pid"] == os.getpid()
        assert record["createdAt"].endswith("Z")
        if sys.platform.startswith("linux"):
            assert record["starttime"] == locks.process_starttime(os.getpid())
        assert data.startswith(json.dumps(record, indent=2).encode())
        token = data.decode().split("\n}\n", 1)[1]
        assert token.startswith("\t" * 8) and len(token.rstrip("\n")) == 136
        assert oct(lock.stat().st_mode & 0o777) == "0o600"
    assert not lock.exists()


def test_release_leaves_a_lock_that_is_no_longer_ours(target: Path) -> None:
    lock = locks.acquire(target)
    foreign = json.dumps({"pid": os.getppid(), "createdAt": "2026-01-01T00:00:00.000Z"})
    lock.write_text(foreign)
    locks.release(lock)
    assert lock.read_text() == foreign


def test_sigkilled_holder_is_reclaimed_at_once(target: Path) -> None:
    holder = _spawn("hold", str(target), "60")
    lock = target.with_name("openclaw.json.lock")
    assert json.loads(lock.read_text())["pid"] == holder.pid
    holder.kill()
    holder.wait()
    assert lock.exists()  # SIGKILL skips every handler
    with locks.sidecar_lock(target, timeout=2):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()
    assert not Path(f"{lock}.reclaim").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signals_remove_held_lock(target: Path, signum: int) -> None:
    holder = _spawn("hold", str(target), "60")
    holder.send_signal(signum)
    holder.wait(timeout=30)
    assert _locks_under(target.parent) == []


def test_live_holder_makes_us_wait_and_both_writes_land(target: Path) -> None:
    first = _spawn("write", str(target), "FIRST", "1", "1.5")
    # Our write must wait for the subprocess's lock (it sleeps inside its critical section).
    from openclaw.config.writer import update_config

    update_config(lambda doc: doc.setdefault("env", {}).setdefault("vars", {}).update(SECOND="2"))
    assert first.wait(timeout=30) == 0, first.stderr.read() if first.stderr else ""
    written = json.loads(target.read_text())
    assert written["env"]["vars"] == {"FIRST": "1", "SECOND": "2"}
    assert _locks_under(target.parent) == []


def test_two_cli_writers_wait_for_each_other(target: Path) -> None:
    holder = _spawn("write", str(target), "HELD", "x", "1")
    result = run_cli("config", "set", "agents.defaults.model.primary", "lmstudio/a")
    assert result.returncode == 0, result.output
    assert holder.wait(timeout=30) == 0
    written = json.loads(target.read_text())
    assert written["env"]["vars"]["HELD"] == "x"
    assert written["agents"]["defaults"]["model"]["primary"] == "lmstudio/a"
    assert _locks_under(target.parent) == []


def test_timeout_names_the_holder(target: Path) -> None:
    holder = _spawn("hold", str(target), "60")
    try:
        with pytest.raises(ConcurrentWriteError, match=f"pid {holder.pid}"):
            locks.acquire(target, timeout=0.3)
    finally:
        holder.kill()
        holder.wait()


def _iso(seconds_ago: float) -> str:
    moment = time.time() - seconds_ago
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(moment))


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


# The b.5 table: (lock bytes, reclaimed?)
def _b5_cases() -> list[tuple[str, bytes, bool]]:
    live = os.getppid()  # the pytest runner's parent: alive for the whole test
    start = locks.process_starttime(live)
    cases = [
        ("zero-byte, 2 h old", b"", False),
        ("dead pid", json.dumps({"pid": _dead_pid(), "createdAt": _iso(0)}).encode(), True),
        (
            "live pid, created 2020",
            json.dumps({"pid": live, "createdAt": "2020-01-01T00:00:00.000Z"}).encode(),
            False,
        ),
        (
            "no pid, created 2020",
            json.dumps({"createdAt": "2020-01-01T00:00:00.000Z"}).encode(),
            True,
        ),
        ("no pid, created now", json.dumps({"createdAt": _iso(0)}).encode(), False),
        ("not json, 2 h old", b"not json", False),
    ]
    if start is not None:
        cases += [
            ("live pid, wrong starttime", json.dumps({"pid": live, "starttime": 1}).encode(), True),
            (
                "live pid, right starttime",
                json.dumps({"pid": live, "starttime": start}).encode(),
                False,
            ),
        ]
    return cases


@pytest.mark.parametrize("case", range(8))
def test_stale_rule_matches_ts_table(target: Path, case: int) -> None:
    cases = _b5_cases()
    if case >= len(cases):
        pytest.fail("process start times are only readable on Linux; this case needs them")
    name, data, reclaimed = cases[case]
    lock = target.with_name("openclaw.json.lock")
    lock.write_bytes(data)
    _age(lock, 2 * 3600)
    if data == b"":
        # A 0-byte file is the old-version leftover shape; hold flock on it so R3's cleanup
        # does not apply and only the stale rule is tested.
        holder = _spawn("flock", str(lock), "60")
    try:
        if reclaimed:
            with locks.sidecar_lock(target, timeout=2):
                pass
            assert not lock.exists(), name
        else:
            with pytest.raises(ConcurrentWriteError):
                locks.acquire(target, timeout=0.3)
            assert lock.read_bytes() == data, name
    finally:
        if data == b"":
            holder.kill()
            holder.wait()


def test_fresh_empty_lock_is_not_taken(target: Path) -> None:
    # A TS creator may sit between create and write: never reclaim a young 0-byte lock.
    lock = target.with_name("openclaw.json.lock")
    lock.write_bytes(b"")
    with pytest.raises(ConcurrentWriteError):
        locks.acquire(target, timeout=0.3)
    assert lock.exists()


def test_reclaim_directory_is_never_removed(target: Path) -> None:
    lock = target.with_name("openclaw.json.lock")
    lock.write_text(json.dumps({"pid": _dead_pid()}))
    claim = Path(f"{lock}.reclaim")
    claim.mkdir()
    with pytest.raises(ConcurrentWriteError, match="reclaim"):
        locks.acquire(target, timeout=0.3)
    assert claim.is_dir() and lock.exists()


def test_old_free_leftover_is_removed(target: Path) -> None:
    lock = target.with_name("openclaw.json.lock")
    lock.write_bytes(b"")
    _age(lock, 120)
    result = run_cli("config", "set", "agents.defaults.model.primary", "lmstudio/b")
    assert result.returncode == 0, result.output
    assert _locks_under(target.parent) == []


def test_old_leftover_held_by_live_flock_holder_is_kept(target: Path) -> None:
    lock = target.with_name("openclaw.json.lock")
    holder = _spawn("flock", str(lock), "60")
    try:
        _age(lock, 120)
        assert locks.remove_legacy_leftover(lock) is False
        assert lock.exists()
    finally:
        holder.kill()
        holder.wait()
    assert locks.remove_legacy_leftover(lock) is True


def test_no_lock_left_after_commands(isolated_home: Path) -> None:
    state = resolve_paths().state_dir
    for args in (
        ("config", "set", "agents.defaults.model.primary", "lmstudio/a"),
        ("config", "get", "agents"),
        ("models", "list"),
    ):
        result = run_cli(*args)
        assert result.returncode == 0, result.output
        assert _locks_under(state) == [], args
