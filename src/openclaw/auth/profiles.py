"""The per-agent auth-profile store: ``agents/<agentId>/agent/auth-profiles.json`` (core.md §4.1).

Locked across processes, replaced atomically, mode 0600. Unknown fields are kept.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from openclaw.config.atomic import (
    atomic_write,
    ensure_private_dir,
    file_lock,
    remove_stale_temp_files,
)
from openclaw.errors import AuthError, ConfigError

MAX_STORE_BYTES = 4 * 1024 * 1024


def empty_store() -> dict:
    return {"version": 1, "profiles": {}, "order": {}, "lastGood": {}, "usageStats": {}}


def _normalise(document: Any, path: Path) -> dict:
    if not isinstance(document, dict):
        raise ConfigError(f"Auth profile store {path} is not a JSON object")
    store = empty_store()
    store.update(document)
    for key in ("profiles", "order", "lastGood", "usageStats"):
        if not isinstance(store.get(key), dict):
            store[key] = {}
    return store


class AuthProfileStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> dict:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return empty_store()
        except OSError as exc:
            raise ConfigError(f"Cannot read {self.path}: {exc.strerror or exc}") from None
        if len(data) > MAX_STORE_BYTES:
            raise ConfigError(f"Auth profile store {self.path} is too large")
        try:
            document = json.loads(data.decode("utf-8")) if data.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise ConfigError(
                f"Auth profile store {self.path} is not valid JSON",
                hint="Restore it from a backup or delete it and re-run `openclaw onboard`.",
            ) from None
        return _normalise(document, self.path)

    def update(self, mutate: Callable[[dict], None]) -> dict:
        """Lock, re-read, apply ``mutate``, write atomically (0600)."""
        try:
            ensure_private_dir(self.path.parent)
            with file_lock(self.path):
                remove_stale_temp_files(self.path)
                store = self.load()
                candidate = copy.deepcopy(store)
                mutate(candidate)
                payload = (json.dumps(candidate, indent=2, ensure_ascii=False) + "\n").encode()
                atomic_write(self.path, payload)
                return candidate
        except OSError as exc:
            raise ConfigError(f"Cannot write {self.path}: {exc.strerror or exc}") from None

    def upsert_api_key(self, profile_id: str, provider: str, key: str) -> None:
        if not key or not key.strip():
            raise AuthError("Refusing to store an empty API key")
        check_profile_id(profile_id, provider)

        def apply(store: dict) -> None:
            existing = store["profiles"].get(profile_id)
            entry = dict(existing) if isinstance(existing, dict) else {}
            entry.pop("keyRef", None)  # an inline key replaces a previous reference
            entry.update({"type": "api_key", "provider": provider, "key": key.strip()})
            store["profiles"][profile_id] = entry

        self.update(apply)

    def remove(self, profile_id: str) -> bool:
        removed = False

        def apply(store: dict) -> None:
            nonlocal removed
            removed = store["profiles"].pop(profile_id, None) is not None
            store["usageStats"].pop(profile_id, None)
            for provider, ids in list(store["order"].items()):
                if isinstance(ids, list) and profile_id in ids:
                    store["order"][provider] = [i for i in ids if i != profile_id]
            for provider, good in list(store["lastGood"].items()):
                if good == profile_id:
                    del store["lastGood"][provider]

        self.update(apply)
        return removed

    def get(self, profile_id: str) -> dict | None:
        profile = self.load()["profiles"].get(profile_id)
        return profile if isinstance(profile, dict) else None

    def for_provider(
        self,
        provider: str,
        config_order: list[str] | None = None,
        now: float | None = None,
        *,
        skip_cooldown: bool = False,
    ) -> list[tuple[str, dict]]:
        """Profiles of ``provider`` in rotation order (core.md §3.5), cooling-down ones last
        (or left out with ``skip_cooldown``). One read of the store.

        Order: explicit ``order`` (store, then config), then OAuth before token before API
        key, then least recently used first.
        """
        store = self.load()
        profiles = {
            pid: p
            for pid, p in store["profiles"].items()
            if isinstance(p, dict) and p.get("provider") == provider
        }
        stored_order = store["order"].get(provider)
        explicit = (stored_order if isinstance(stored_order, list) else None) or config_order or []
        stats = store["usageStats"]
        moment = time.time() * 1000 if now is None else now
        kind_rank = {"oauth": 0, "token": 1, "api_key": 2}

        def usage(pid: str) -> dict:
            entry = stats.get(pid)
            return entry if isinstance(entry, dict) else {}

        cooling = {pid for pid in profiles if _cooldown_until(usage(pid)) > moment}
        if skip_cooldown:
            profiles = {pid: p for pid, p in profiles.items() if pid not in cooling}

        def sort_key(pid: str) -> tuple:
            position = explicit.index(pid) if pid in explicit else len(explicit)
            return (
                pid in cooling,
                position,
                kind_rank.get(str(profiles[pid].get("type")), 3),
                _number(usage(pid).get("lastUsed")),
                pid,
            )

        return [(pid, profiles[pid]) for pid in sorted(profiles, key=sort_key)]


def _cooldown_until(entry: dict) -> float:
    return max(_number(entry.get("cooldownUntil")), _number(entry.get("disabledUntil")))


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def check_profile_id(profile_id: str, provider: str) -> None:
    prefix, _, label = profile_id.partition(":")
    if not label or prefix != provider:
        raise AuthError(
            f'Invalid auth profile id "{profile_id}"',
            hint=f'Profile ids look like "{provider}:<label>", e.g. "{provider}:default".',
        )


def profile_secret(profile: dict, env: Mapping[str, str] | None = None) -> str | None:
    """The secret a profile holds (api_key ``key``, token ``token``, oauth ``access``)."""
    kind = profile.get("type")
    field_name = {"api_key": "key", "token": "token", "oauth": "access"}.get(str(kind), "key")
    value = profile.get(field_name)
    if isinstance(value, str) and value.strip():
        return value.strip()
    ref = profile.get("keyRef") or profile.get("tokenRef")
    if isinstance(ref, dict) and ref.get("source") == "env" and env is not None:
        resolved = env.get(str(ref.get("id")))
        if resolved:
            return resolved
    return None
