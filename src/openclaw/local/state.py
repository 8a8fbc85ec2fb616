"""What is known about a running engine, on disk: its state file, its log, its start lock.

Everything lives under ``<stateDir>/local/``: ``<provider>.json`` (0600, written by the engine
launcher when it starts and removed when it exits) and ``<provider>.log`` (the engine's output).
The start lock is an ``flock`` on that directory itself, so taking it creates no file: two
commands that want the same engine serialise there and the second one finds the first one's
engine running.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from openclaw.config.atomic import atomic_write, ensure_private_dir
from openclaw.config.paths import Paths
from openclaw.errors import EngineError
from openclaw.local.spec import safe_text

ENGINE_DIR = "local"
#: A log larger than this is emptied when the next engine starts.
LOG_LIMIT_BYTES = 4 * 1024 * 1024
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class EngineState:
    """One engine process, as its launcher recorded it."""

    provider: str
    pid: int
    port: int
    model: str  # the model file it serves
    context: int
    started_at: float  # seconds since the epoch
    backend: str  # "xllamacpp" or the llama-server binary's path

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> EngineState | None:
        """The state in ``data``, or None when it is not a well-formed state record."""
        if not isinstance(data, dict):
            return None
        ints = ("pid", "port", "context")
        strs = ("provider", "model", "backend")
        if not all(isinstance(data.get(k), int) and not isinstance(data[k], bool) for k in ints):
            return None
        if not all(isinstance(data.get(k), str) for k in strs):
            return None
        started = data.get("started_at")
        if not isinstance(started, int | float) or isinstance(started, bool):
            return None
        if data["pid"] <= 0 or not 0 < data["port"] < 65536:
            return None
        return cls(
            provider=data["provider"],
            pid=data["pid"],
            port=data["port"],
            model=data["model"],
            context=data["context"],
            started_at=float(started),
            backend=data["backend"],
        )

    def uptime(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.started_at)


def engine_dir(paths: Paths) -> Path:
    return paths.state_dir / ENGINE_DIR


def _file_stem(provider_id: str) -> str:
    return _UNSAFE_NAME.sub("_", provider_id) or "engine"


def state_path(paths: Paths, provider_id: str) -> Path:
    return engine_dir(paths) / f"{_file_stem(provider_id)}.json"


def log_path(paths: Paths, provider_id: str) -> Path:
    return engine_dir(paths) / f"{_file_stem(provider_id)}.log"


def read_state(paths: Paths, provider_id: str) -> EngineState | None:
    """The recorded state, or None (missing, unreadable or malformed)."""
    try:
        raw = state_path(paths, provider_id).read_bytes()
    except OSError:
        return None
    if len(raw) > 64 * 1024:
        return None
    try:
        return EngineState.from_json(json.loads(raw))
    except ValueError:
        return None


def write_state(paths: Paths, state: EngineState) -> None:
    ensure_private_dir(engine_dir(paths))
    data = json.dumps(state.to_json(), indent=2).encode() + b"\n"
    atomic_write(state_path(paths, state.provider), data, mode=0o600)


def remove_state(paths: Paths, provider_id: str, *, pid: int | None = None) -> None:
    """Delete the state file; with ``pid``, only when it still records that process."""
    if pid is not None:
        current = read_state(paths, provider_id)
        if current is not None and current.pid != pid:
            return
    with contextlib.suppress(OSError):
        state_path(paths, provider_id).unlink()


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie waiting to be reaped counts as gone)."""
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        # Our own child that has exited: reap it so it stops looking alive.
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and not ours to judge
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs (macOS): kill(0) is all we have
    # Field 3, after the parenthesised command name (which may itself contain spaces).
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def looks_like_engine(pid: int) -> bool:
    """Whether ``pid`` runs the engine launcher (where the system can tell; else True)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"openclaw.local.serve" in cmdline


def _windows_process_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    synchronize = 0x00100000
    handle = ctypes.windll.kernel32.OpenProcess(synchronize, False, pid)  # type: ignore[attr-defined]
    if not handle:
        return False
    try:
        timeout_status = 0x102
        return bool(ctypes.windll.kernel32.WaitForSingleObject(handle, 0) == timeout_status)  # type: ignore[attr-defined]
    finally:
        ctypes.windll.kernel32.CloseHandle(handle)  # type: ignore[attr-defined]


def live_state(paths: Paths, provider_id: str) -> EngineState | None:
    """The recorded engine when its process still runs; a stale record is deleted."""
    state = read_state(paths, provider_id)
    if state is None:
        if state_path(paths, provider_id).exists():
            remove_state(paths, provider_id)  # malformed: nobody can use it
        return None
    if not process_alive(state.pid):
        remove_state(paths, provider_id, pid=state.pid)
        return None
    return state


def open_log(paths: Paths, provider_id: str) -> Any:
    """The engine log, opened for appending (0600); emptied first when it has grown large."""
    ensure_private_dir(engine_dir(paths))
    path = log_path(paths, provider_id)
    with contextlib.suppress(OSError):
        if path.stat().st_size > LOG_LIMIT_BYTES:
            path.write_bytes(b"")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    return os.fdopen(fd, "ab")


def log_tail(paths: Paths, provider_id: str, lines: int = 15) -> list[str]:
    """The last ``lines`` lines of the engine log, made printable."""
    path = log_path(paths, provider_id)
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return [safe_text(line, 300) for line in text.splitlines()[-lines:]]


@contextlib.contextmanager
def start_lock(paths: Paths, timeout: float) -> Iterator[None]:
    """Hold the engine start lock (one starter at a time); waits up to ``timeout`` seconds.

    POSIX: ``flock`` on the ``local`` directory itself, so no lock file is created and a
    holder that dies releases it. Windows has no ``flock``; a byte-range lock on a file in the
    temporary directory (outside ``~/.openclaw``) stands in.
    """
    directory = engine_dir(paths)
    ensure_private_dir(directory)
    if sys.platform == "win32":  # pragma: no cover - Windows only
        with _windows_lock(directory, timeout):
            yield
        return
    import fcntl

    fd = os.open(directory, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise EngineError(
                        f"Another openclaw command is still starting the engine "
                        f"(waited {timeout:.0f} s)",
                        hint="Retry when it is done, or see `openclaw local status`.",
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def _windows_lock(directory: Path, timeout: float) -> Iterator[None]:  # pragma: no cover
    import hashlib
    import msvcrt
    import tempfile

    digest = hashlib.sha256(str(directory).encode()).hexdigest()[:16]
    lock_file = Path(tempfile.gettempdir()) / f"openclaw-engine-{digest}.lock"
    with open(lock_file, "a+b") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise EngineError(
                        "Another openclaw command is still starting the engine",
                        hint="Retry when it is done.",
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
