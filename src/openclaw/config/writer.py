"""Write ``openclaw.json`` safely (core.md §1.7).

Under a cross-process lock: re-read the authored document, apply the caller's change,
validate the result, rotate backups, then write temp + fsync + rename. If the file changes
between our read and our rename (a writer that does not take our lock, e.g. an editor),
the change is re-applied to the new content; after a few attempts we give up.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.config.atomic import (
    atomic_write,
    ensure_private_dir,
    file_lock,
    remove_stale_temp_files,
)
from openclaw.config.limits import oversized_contexts, oversized_message
from openclaw.config.loader import resolve_document
from openclaw.config.parse import MAX_NESTING, decode, parse_document, read_bytes, too_deep
from openclaw.config.paths import Paths, resolve_paths
from openclaw.config.ts_rules import apply_ts_rules
from openclaw.config.util import format_path
from openclaw.errors import ConcurrentWriteError, ConfigError

BACKUP_COUNT = 5  # openclaw.json.bak, .bak.1 ... .bak.4
MAX_ATTEMPTS = 5
LOCK_TIMEOUT_SECONDS = 30.0


@dataclass
class WriteResult:
    path: Path
    backup_path: Path | None
    warnings: list[str] = field(default_factory=list)


def backup_paths(path: Path) -> list[Path]:
    first = path.with_name(path.name + ".bak")
    return [first] + [path.with_name(f"{path.name}.bak.{n}") for n in range(1, BACKUP_COUNT)]


def serialize(document: dict) -> bytes:
    """Plain JSON, 2-space indent, trailing newline; NaN/Infinity are refused (not JSON)."""
    try:
        text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError:
        where = _non_finite_path(document, [])
        raise ConfigError(
            f"Cannot write {where or 'the config'}: NaN and Infinity are not valid JSON numbers",
            hint="Use a finite number (or a string).",
        ) from None
    return (text + "\n").encode("utf-8")


def _non_finite_path(node: Any, segments: list[str | int]) -> str | None:
    if isinstance(node, float) and not math.isfinite(node):
        return format_path(segments)
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        found = _non_finite_path(value, [*segments, key])
        if found is not None:
            return found
    return None


def _rotate_backups(path: Path, current: bytes) -> Path:
    ring = backup_paths(path)
    for older, newer in zip(reversed(ring[:-1]), reversed(ring[1:]), strict=True):
        if older.exists():
            os.replace(older, newer)
    atomic_write(ring[0], current)
    return ring[0]


def update_config(mutate: Callable[[dict], None], paths: Paths | None = None) -> WriteResult:
    """Apply ``mutate`` to the authored document and write it back atomically."""
    paths = paths or resolve_paths()
    path = paths.config_path
    try:
        ensure_private_dir(path.parent)
        if path.parent == paths.state_dir:
            os.chmod(paths.state_dir, 0o700)
        with file_lock(path, LOCK_TIMEOUT_SECONDS):
            return _write_locked(mutate, paths, path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.filename and Path(exc.filename) != path:
            reason += f": {paths.display(Path(exc.filename))}"
        raise ConfigError(f"Cannot write config file {paths.display(path)}: {reason}") from None


def _write_locked(mutate: Callable[[dict], None], paths: Paths, path: Path) -> WriteResult:
    remove_stale_temp_files(path)
    for _attempt in range(MAX_ATTEMPTS):
        before = read_bytes(path)
        warnings: list[str] = []
        if before is None:
            authored: dict = {}
        else:
            authored, was_json5 = parse_document(decode(before, path), path)
            if was_json5:
                warnings.append(
                    f"{paths.display(path)} was JSON5; it is rewritten as plain JSON "
                    "(comments are not kept)."
                )
        candidate = copy.deepcopy(authored)
        mutate(candidate)
        if too_deep(candidate):  # checked first: the steps below walk it recursively
            raise ConfigError(
                f"Refusing to write {paths.display(path)}: the change nests it more than "
                f"{MAX_NESTING} levels deep, and every reader refuses such a file",
                hint="Use a shorter config path or a flatter value.",
            )
        _refuse_new_oversized(candidate, authored)
        restore_redacted(candidate, authored)
        resolve_document(candidate, paths, path, validate=True)
        warnings += apply_ts_rules(candidate, authored)  # the file is shared with TS
        payload = serialize(candidate)
        if read_bytes(path) != before:
            continue  # changed while we worked: re-read and re-apply
        backup = _rotate_backups(path, before) if before is not None else None
        atomic_write(path, payload)
        return WriteResult(path=path, backup_path=backup, warnings=warnings)
    raise ConcurrentWriteError(
        f"{paths.display(path)} kept changing while we tried to write it",
        hint="Another program is editing the file; retry when it is done.",
    )


def _refuse_new_oversized(candidate: dict, authored: dict) -> None:
    """A context size above 2^31 that this write introduces is refused (one already in the
    file is only warned about on read: the TypeScript CLI accepts it)."""
    before = oversized_contexts(authored)
    for where, value in oversized_contexts(candidate).items():
        if before.get(where) != value:
            raise ConfigError(
                f"Refusing to write the config: {oversized_message(where, value)}",
                hint="Set the model's real context size in tokens.",
            )


def restore_redacted(candidate: Any, stored: Any, where: str = "") -> None:
    """Put stored secrets back where the candidate holds the redaction sentinel."""
    from openclaw.config.util import REDACTED

    def walk(new: Any, old: Any, loc: str) -> None:
        if isinstance(new, dict):
            for key, value in list(new.items()):
                sub = f"{loc}.{key}" if loc else str(key)
                old_value = old.get(key) if isinstance(old, dict) else None
                if value == REDACTED:
                    new[key] = _original(old_value, sub)
                else:
                    walk(value, old_value, sub)
        elif isinstance(new, list):
            for index, value in enumerate(new):
                sub = f"{loc}.{index}"
                old_value = old[index] if isinstance(old, list) and index < len(old) else None
                if value == REDACTED:
                    new[index] = _original(old_value, sub)
                else:
                    walk(value, old_value, sub)

    def _original(old_value: Any, loc: str) -> Any:
        if old_value is None or old_value == REDACTED:
            raise ConfigError(
                f"Refusing to store the redaction placeholder {REDACTED} at {loc}: "
                "there is no stored value to keep",
                hint="Set the real value instead.",
            )
        return old_value

    walk(candidate, stored, where)
