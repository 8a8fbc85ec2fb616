"""The cross-run readiness record (``~/.openclaw/cache/lmstudio-ready.json``).

One-shot `openclaw agent -m` runs are separate processes; without a shared record each would
check the server again. A process reads this file only for keys it has no memory of, so
in-process freshness (and a test clock) stay authoritative. A stale record costs nothing
extra: a "not loaded", 404 or context answer already triggers check, load, retry.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from openclaw.providers.lmstudio import models as wire
from openclaw.providers.lmstudio.load import PreloadResult

DISK_CACHE_NAME = "lmstudio-ready.json"


class ReadinessRecord:
    """Readiness checks younger than ``fresh_seconds``, shared between processes."""

    def __init__(self, fresh_seconds: float, path: Path | None = None) -> None:
        self.fresh_seconds = fresh_seconds
        self._path = path

    @property
    def path(self) -> Path:
        if self._path is None:
            from openclaw.config.paths import resolve_paths

            return resolve_paths().state_dir / "cache" / DISK_CACHE_NAME
        return self._path

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _young(self, record: Any) -> bool:
        checked_at = record.get("checkedAt") if isinstance(record, dict) else None
        if not isinstance(checked_at, int | float) or isinstance(checked_at, bool):
            return False
        return 0 <= time.time() - checked_at < self.fresh_seconds

    def lookup(self, key: str) -> tuple[PreloadResult, float] | None:
        """The recorded result for ``key`` and its age in seconds, while still fresh."""
        record = self._read().get(key)
        if not isinstance(record, dict) or not self._young(record):
            return None
        if not isinstance(record.get("modelKey"), str):
            return None
        instance = record.get("instanceId")
        result = PreloadResult(
            record["modelKey"],
            instance if isinstance(instance, str) else None,
            wire.positive_int(record.get("context")),
        )
        return result, time.time() - record["checkedAt"]

    def remember(self, key: str, result: PreloadResult) -> None:
        from openclaw.config.atomic import atomic_write, ensure_private_dir

        path = self.path
        if not path.parent.parent.is_dir():
            return  # no state dir yet (library use before onboarding): keep memory only
        cache = {k: v for k, v in self._read().items() if self._young(v)}
        cache[key] = {
            "modelKey": result.model_key,
            "instanceId": result.instance_id,
            "context": result.context,
            "checkedAt": time.time(),
        }
        try:
            ensure_private_dir(path.parent)
            atomic_write(path, json.dumps(cache).encode())
        except OSError:
            pass  # a record that cannot be written only costs the next process one check
