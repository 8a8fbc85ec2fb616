"""Crash-safe file replacement shared by the config writer and the auth-profile store."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def ensure_private_dir(directory: Path) -> None:
    """Create ``directory`` (and parents) with mode 0700 for the new levels."""
    if directory.is_dir():
        return
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        os.chmod(directory, 0o700)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_target(path: Path) -> Path:
    """Where a write of ``path`` lands: a symlink's target (so the link stays a link and the
    two never diverge), else ``path`` itself."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write a temp file beside ``path``, fsync it, rename it over ``path``, fsync the dir.

    A crash at any instant leaves either the old file or the new one, never a mix. A
    symlinked ``path`` keeps its link: the target is replaced.
    """
    path = write_target(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_dir(path.parent)


def remove_stale_temp_files(path: Path) -> None:
    """Remove temp files a killed writer left beside ``path`` (or its symlink target).

    Call it holding ``path``'s lock: only the lock holder writes temp files, so any present
    then belong to a writer that died mid-write; they were never renamed over ``path`` and
    may hold old secrets. (atomic_write names them ``.<name>.<pid>.<random>.tmp``.)
    """
    for target in dict.fromkeys([path, write_target(path)]):
        prefix = f".{target.name}."
        try:
            names = list(target.parent.iterdir())
        except OSError:
            continue
        for stale in names:
            if stale.name.startswith(prefix) and stale.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    stale.unlink()


@contextlib.contextmanager
def file_lock(path: Path, timeout: float = 30.0) -> Iterator[None]:
    """A cross-process lock on ``<path>.lock`` in the TypeScript OpenClaw's sidecar format
    (config/locks.py), so both CLIs exclude each other and no lock file is left behind.

    Waiting longer than ``timeout`` raises ConcurrentWriteError.
    """
    from openclaw.config.locks import sidecar_lock

    with sidecar_lock(path, timeout=timeout):
        yield
