"""The sidecar lock protocol the TypeScript OpenClaw uses (interop-ts.md §b).

Both CLIs lock ``openclaw.json`` and ``auth-profiles.json`` by exclusively creating
``<file>.lock`` and writing an owner record ``{pid, createdAt, starttime}`` into it. Using
the same protocol means each CLI waits for the other, a lock left by a killed holder is
reclaimed at once (its pid is dead), and nothing is left behind after a normal exit, an
exception, SIGTERM, SIGINT or SIGHUP.

Rules that matter for safety (and why):

* An empty or unparsable lock is never stale: a TS creator writes its record a moment after
  creating the file, so a 0-byte lock may be live.
* Reclaiming goes through ``<lock>.reclaim`` (mkdir = claim) and unlinks the lock only if it
  is byte-for-byte the one judged stale; a ``.reclaim`` left by a killed reclaimer is never
  removed automatically (TS fails closed on it too).
* Release unlinks only a lock whose bytes are still exactly ours.
* Older versions of this project left 0-byte locks held with ``flock``; such a leftover is
  removed only when it is older than 30 s and nobody holds ``flock`` on it (R3).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import random
import secrets
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openclaw.errors import ConcurrentWriteError

STALE_MS = 30_000  # a lock without a pid is stale after this long (TS config lock)
MAX_LOCK_BYTES = 1024 * 1024
# Retry timing of TS's config lock (b.6): min 25 ms, x1.2 per retry, at most 250 ms, jitter.
_MIN_DELAY = 0.025
_MAX_DELAY = 0.25
_FACTOR = 1.2
DEFAULT_TIMEOUT = 30.0  # longer than TS's ~18 s budget, as R1 allows

_held: dict[Path, bytes] = {}
_held_guard = threading.RLock()  # re-entered by the signal handler
_handlers_installed = False


def lock_path_for(target: Path) -> Path:
    """``realpath(dirname(target)) / (basename(target) + ".lock")`` — the leaf is not followed."""
    target = Path(target)
    parent = Path(os.path.realpath(target.parent if str(target.parent) else "."))
    return parent / f"{target.name}.lock"


# -- owner record -----------------------------------------------------------------------


def process_starttime(pid: int) -> int | None:
    """The start time TS records for ``pid`` (Linux: /proc/<pid>/stat field 22), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    # fields[0] is field 3 (state), so field 22 is index 19.
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _ownership_token() -> str:
    bits = "".join(format(byte, "08b") for byte in secrets.token_bytes(16))
    return "\t" * 8 + "".join("\t" if bit == "1" else " " for bit in bits)


def _iso_now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def owner_record(pid: int | None = None) -> bytes:
    """Pretty JSON owner record + a random whitespace token (unique bytes for release)."""
    pid = os.getpid() if pid is None else pid
    record: dict[str, Any] = {"pid": pid, "createdAt": _iso_now()}
    start = process_starttime(pid)
    if start is not None:
        record["starttime"] = start
    return (json.dumps(record, indent=2) + "\n" + _ownership_token() + "\n").encode("ascii")


# -- stale rule (b.5) ---------------------------------------------------------------------


def _pid_dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.ESRCH  # EPERM: alive, owned by someone else
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    state = threads = None
    for line in status.splitlines():
        if line.startswith("State:"):
            state = line.split()[1:2]
        elif line.startswith("Threads:"):
            threads = line.split()[1:2]
    return state == ["Z"] and threads == ["1"]


def parse_record(data: bytes) -> dict | None:
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _parse_iso_ms(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() * 1000


def is_stale(record: dict | None, *, stale_ms: int = STALE_MS, now_ms: float | None = None) -> bool:
    """TS's stale rule: dead or reused pid; without a pid, a createdAt older than ``stale_ms``
    (or unparsable); nothing to go by (empty, garbage, ``{}``) → never stale."""
    if record is None:
        return False
    pid = record.get("pid")
    if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0:
        recorded = record.get("starttime")
        if isinstance(recorded, int) and not isinstance(recorded, bool):
            current = process_starttime(pid)
            if current is not None and current != recorded:
                return True
        return _pid_dead(pid)
    created = record.get("createdAt")
    if isinstance(created, str):
        created_ms = _parse_iso_ms(created)
        if created_ms is None:
            return True
        now = time.time() * 1000 if now_ms is None else now_ms
        return now - created_ms > stale_ms
    return False


# -- snapshots and reclaim (b.3, b.4) -----------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    identity: tuple[int, int]
    data: bytes
    mtime: float


def _snapshot(lock: Path) -> Snapshot | None:
    """The lock's bytes, if its identity did not change while we read it (else None)."""
    try:
        before = os.lstat(lock)
        if not stat.S_ISREG(before.st_mode):
            return None
        fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        opened = os.fstat(fd)
        data = os.read(fd, MAX_LOCK_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        after = os.lstat(lock)
    except OSError:
        return None
    ids = {(s.st_dev, s.st_ino) for s in (before, opened, after)}
    if len(ids) != 1:
        return None
    return Snapshot((before.st_dev, before.st_ino), data, before.st_mtime)


def _reclaim(lock: Path, judged: Snapshot, stale_ms: int) -> None:
    """Remove ``lock`` if it is still exactly the stale one; claim the removal via mkdir."""
    claim = Path(f"{lock}.reclaim")
    try:
        os.mkdir(claim, 0o700)
    except FileExistsError:
        return  # someone else is reclaiming: wait and retry
    try:
        again = _snapshot(lock)
        if (
            again is not None
            and again.identity == judged.identity
            and again.data == judged.data
            and _judge_stale(again, stale_ms)
        ):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(claim)


def _judge_stale(snap: Snapshot, stale_ms: int) -> bool:
    return is_stale(parse_record(snap.data), stale_ms=stale_ms)


def remove_legacy_leftover(lock: Path, *, min_age: float = STALE_MS / 1000) -> bool:
    """Unlink a 0-byte lock left by an older version of this project (R3).

    Only when it is older than ``min_age`` seconds (a TS creator is never that slow between
    create and write) and ``flock`` on it succeeds (old versions held flock while inside
    their critical section, so a live holder keeps it).
    """
    try:
        fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != 0:
            return False
        if time.time() - info.st_mtime < min_age:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live holder of the old flock-based lock
        try:
            current = os.lstat(lock)
        except OSError:
            return False
        if (current.st_dev, current.st_ino) != (info.st_dev, info.st_ino) or current.st_size:
            return False
        os.unlink(lock)
        return True
    finally:
        os.close(fd)


# -- acquire / release --------------------------------------------------------------------


def _delay(attempt: int) -> float:
    base = min(max(_MIN_DELAY * _FACTOR**attempt, _MIN_DELAY), _MAX_DELAY)
    return min(base * random.uniform(1.0, 2.0), _MAX_DELAY)


def _try_create(lock: Path, record: bytes) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return False
    try:
        os.write(fd, record)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(lock)
        raise
    os.close(fd)
    return True


def acquire(target: Path, *, timeout: float = DEFAULT_TIMEOUT, stale_ms: int = STALE_MS) -> Path:
    """Take the sidecar lock of ``target``; returns the lock path. Raises ConcurrentWriteError
    after ``timeout`` seconds of a live holder."""
    lock = lock_path_for(target)
    lock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _install_exit_handlers()
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        if not os.path.lexists(f"{lock}.reclaim"):
            record = owner_record()
            with _held_guard:
                # Registered before the create so a signal in between still cleans up
                # (release only ever unlinks a lock holding exactly these bytes).
                _held[lock] = record
                created = False
                try:
                    created = _try_create(lock, record)
                finally:
                    if not created:
                        _held.pop(lock, None)
                if created:
                    return lock
            snap = _snapshot(lock)
            if snap is not None:
                if _judge_stale(snap, stale_ms):
                    _reclaim(lock, snap, stale_ms)
                    continue
                if not snap.data and remove_legacy_leftover(lock):
                    continue
        if time.monotonic() >= deadline:
            raise ConcurrentWriteError(
                f"{target} is locked by another process ({_holder(lock)}; file lock timeout)",
                hint=f"Another openclaw process is writing it; retry when it is done "
                f"(lock file: {lock}).",
            )
        time.sleep(_delay(attempt))
        attempt += 1


def _holder(lock: Path) -> str:
    if os.path.lexists(f"{lock}.reclaim"):
        return f"a leftover {lock.name}.reclaim directory; remove it if no openclaw is running"
    snap = _snapshot(lock)
    record = parse_record(snap.data) if snap else None
    if record and isinstance(record.get("pid"), int):
        return f"pid {record['pid']}"
    return "an unknown process"


def release(lock: Path) -> None:
    """Unlink ``lock`` if it still holds exactly the bytes we wrote."""
    with _held_guard:
        ours = _held.pop(lock, None)
    if ours is None:
        return
    snap = _snapshot(lock)
    if snap is not None and snap.data == ours:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)


@contextlib.contextmanager
def sidecar_lock(target: Path, timeout: float = DEFAULT_TIMEOUT) -> Iterator[Path]:
    lock = acquire(target, timeout=timeout)
    try:
        yield lock
    finally:
        release(lock)


def release_all() -> None:
    for lock in list(_held):
        release(lock)


# -- cleanup on exit and on signals -------------------------------------------------------


def _install_exit_handlers() -> None:
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    import atexit

    atexit.register(release_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            previous = signal.getsignal(signum)
            signal.signal(signum, _make_handler(previous))


def _make_handler(previous: Any) -> Any:
    def handler(signum: int, frame: Any) -> None:
        release_all()
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_IGN:
            return
        else:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    return handler


# -- inspection for `openclaw doctor` -----------------------------------------------------


@dataclass(frozen=True)
class LockState:
    path: Path
    kind: str  # "legacy-empty" | "stale" | "held" | "unreadable" | "reclaim-dir"
    detail: str


def inspect_lock(lock: Path) -> LockState:
    if lock.name.endswith(".reclaim"):
        return LockState(lock, "reclaim-dir", "left by a process killed while reclaiming a lock")
    snap = _snapshot(lock)
    if snap is None:
        return LockState(lock, "unreadable", "not a regular file, or changing")
    if not snap.data:
        return LockState(lock, "legacy-empty", "empty (left by an older openclaw)")
    record = parse_record(snap.data)
    if _judge_stale(snap, STALE_MS):
        owner = f"pid {record['pid']}" if record and "pid" in record else "no owner"
        return LockState(lock, "stale", f"stale ({owner} is gone)")
    if record is None:
        return LockState(lock, "unreadable", "not an owner record")
    return LockState(lock, "held", f"held by pid {record.get('pid', '?')}")


def clear_stale(lock: Path) -> bool:
    """Remove ``lock`` if it is stale (via the reclaim protocol) or an old free 0-byte
    leftover; returns whether it is gone."""
    snap = _snapshot(lock)
    if snap is None:
        return not os.path.lexists(lock)
    if not snap.data:
        return remove_legacy_leftover(lock)
    if _judge_stale(snap, STALE_MS):
        _reclaim(lock, snap, STALE_MS)
    return not os.path.lexists(lock)
