"""Credentials where the TypeScript OpenClaw keeps them: its SQLite state (interop-ts.md §c).

TS 2026.9.6 never reads ``auth-profiles.json``; it keeps profiles in
``state/openclaw.sqlite`` (rows ``authProfiles.store`` / ``authProfiles.state`` of
``config_machine_state``, when ``auth.sharedStore`` says ``state-db``) or, in the older layout,
in the main agent's ``openclaw-agent.sqlite`` (``auth_profile_store`` / ``auth_profile_state``,
key ``'primary'``). This module reads and writes those rows with the stdlib ``sqlite3``:

* the database is opened by URI (``mode=ro`` / ``mode=rw``) so it is never created;
* writes are one ``BEGIN IMMEDIATE`` transaction that re-reads, merges and upserts, so SQLite
  serialises them with TS's own writers;
* no DDL, no VACUUM, no checkpoint, no pragma other than ``busy_timeout``; a schema version
  newer than the one this code knows is read only if the table layout matches, never written.

``open_auth_store`` picks the store the way TS does and returns an object with the
``AuthProfileStore`` interface, so callers need not know where the keys live.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openclaw.auth.profiles import AuthProfileStore, empty_store
from openclaw.config.paths import DEFAULT_AGENT_ID, Paths
from openclaw.errors import ConfigError

KNOWN_STATE_VERSION = 18  # openclaw@2026.9.6: package.json schemaVersions.state
FIRST_SHARED_STORE_VERSION = 13  # config_machine_state holds the shared store from here on
KNOWN_AGENT_VERSION = 23
MIN_SQLITE = (3, 37, 0)  # STRICT tables
BUSY_TIMEOUT_MS = 5000
SHARED_STORE_KEY = "auth.sharedStore"
STORE_ROW = "authProfiles.store"
STATE_ROW = "authProfiles.state"
_MACHINE_STATE_COLUMNS = ["state_key", "value_json", "updated_at_ms"]
_STATE_SECTIONS = ("order", "lastGood", "usageStats")


def _busy(path: Path) -> ConfigError:
    return ConfigError(
        f"OpenClaw state database busy: {path}",
        hint="Another OpenClaw process holds it (e.g. a TypeScript `openclaw doctor`); retry.",
    )


@contextlib.contextmanager
def _connect(path: Path, *, write: bool) -> Iterator[sqlite3.Connection]:
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise ConfigError(
            f"Cannot use {path}: SQLite {sqlite3.sqlite_version} is older than 3.37 "
            "(the TypeScript OpenClaw's tables need STRICT support)",
            hint="Use a Python build linked against a newer SQLite.",
        )
    uri = f"file:{path}?mode={'rw' if write else 'ro'}"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.OperationalError as exc:
        raise ConfigError(f"Cannot open {path}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        yield conn
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise _busy(path) from None
        raise ConfigError(f"Cannot use {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"Cannot use {path}: {exc}") from None
    finally:
        conn.close()


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _check_state_schema(conn: sqlite3.Connection, path: Path, *, write: bool) -> None:
    version = _user_version(conn)
    if version > KNOWN_STATE_VERSION and write:
        raise ConfigError(
            f"Refusing to write credentials to {path}: its schema version {version} is newer "
            f"than the {KNOWN_STATE_VERSION} this openclaw knows",
            hint="Set the key with the TypeScript OpenClaw, or update this openclaw.",
        )
    if _columns(conn, "config_machine_state") != _MACHINE_STATE_COLUMNS:
        raise ConfigError(
            f"Cannot use {path}: its config_machine_state table has an unknown layout "
            f"(schema version {version})",
            hint="Set the key with the TypeScript OpenClaw, or update this openclaw.",
        )


def _json_object(text: Any) -> dict:
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _compact(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _normalise_profile(entry: Any) -> Any:
    """TS accepts ``mode`` for ``type`` and ``apiKey`` for ``key``/``api_key``."""
    if not isinstance(entry, dict):
        return entry
    profile = dict(entry)
    if "type" not in profile and isinstance(profile.get("mode"), str):
        profile["type"] = profile["mode"]
    if profile.get("type") == "apiKey":
        profile["type"] = "api_key"
    if "key" not in profile and isinstance(profile.get("apiKey"), str):
        profile["key"] = profile["apiKey"]
    return profile


def _merge_rows(store_row: dict, state_row: dict) -> dict:
    """The two TS rows as the Python store shape (profiles + order/lastGood/usageStats)."""
    store = empty_store()
    profiles = store_row.get("profiles")
    if isinstance(profiles, dict):
        store["profiles"] = {pid: _normalise_profile(p) for pid, p in profiles.items()}
    for section in _STATE_SECTIONS:
        value = state_row.get(section)
        if isinstance(value, dict):
            store[section] = value
    return store


def _split_rows(store: dict, store_row: dict, state_row: dict) -> tuple[dict, dict]:
    """Back into the two TS rows, keeping unknown top-level fields; empty sections omitted."""
    new_store = {**store_row, "version": store_row.get("version", 1), "profiles": store["profiles"]}
    new_state = {k: v for k, v in state_row.items() if k not in _STATE_SECTIONS}
    new_state.setdefault("version", 1)
    for section in _STATE_SECTIONS:
        if store.get(section):
            new_state[section] = store[section]
    return new_store, new_state


def _now_ms() -> int:
    return int(time.time() * 1000)


class StateDbAuthStore(AuthProfileStore):
    """The shared store in ``state/openclaw.sqlite`` (``config_machine_state`` rows)."""

    location = "state-db"

    def __init__(self, db_path: Path, overlay: Path | None = None) -> None:
        super().__init__(db_path)
        self.overlay = overlay  # agent-local rows merged over the shared store on reads

    def _read_rows(self, conn: sqlite3.Connection) -> dict[str, dict]:
        rows = conn.execute(
            "SELECT state_key, value_json FROM config_machine_state WHERE state_key IN (?, ?)",
            (STORE_ROW, STATE_ROW),
        ).fetchall()
        return {key: _json_object(value) for key, value in rows}

    def load(self) -> dict:
        with _connect(self.path, write=False) as conn:
            _check_state_schema(conn, self.path, write=False)
            rows = self._read_rows(conn)
        store = _merge_rows(rows.get(STORE_ROW, {}), rows.get(STATE_ROW, {}))
        if self.overlay is not None and self.overlay.is_file():
            local = AgentDbAuthStore(self.overlay).load()
            store["profiles"].update(local["profiles"])
            for section in _STATE_SECTIONS:
                store[section].update(local[section])
        return store

    def update(self, mutate: Callable[[dict], None]) -> dict:
        with _connect(self.path, write=True) as conn:
            _check_state_schema(conn, self.path, write=True)
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = self._read_rows(conn)
                store_row, state_row = rows.get(STORE_ROW, {}), rows.get(STATE_ROW, {})
                store = _merge_rows(store_row, state_row)
                mutate(store)
                new_store, new_state = _split_rows(store, store_row, state_row)
                now = _now_ms()
                self._upsert(conn, STORE_ROW, new_store, now)
                if set(new_state) - {"version"}:
                    self._upsert(conn, STATE_ROW, new_state, now)
                elif STATE_ROW in rows:
                    conn.execute(
                        "DELETE FROM config_machine_state WHERE state_key = ?", (STATE_ROW,)
                    )
                self._upsert(conn, SHARED_STORE_KEY, {"location": "state-db"}, now, keep=True)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return store

    @staticmethod
    def _upsert(
        conn: sqlite3.Connection, key: str, value: dict, now: int, *, keep: bool = False
    ) -> None:
        action = (
            "NOTHING"
            if keep
            else "UPDATE SET value_json = excluded.value_json, updated_at_ms = excluded.updated_at_ms"
        )
        conn.execute(
            "INSERT INTO config_machine_state (state_key, value_json, updated_at_ms) "
            f"VALUES (?, ?, ?) ON CONFLICT(state_key) DO {action}",
            (key, _compact(value), now),
        )


class AgentDbAuthStore(AuthProfileStore):
    """The older layout: ``auth_profile_store`` / ``auth_profile_state`` in an agent DB."""

    location = "agent-db"

    def _read_rows(self, conn: sqlite3.Connection) -> tuple[dict, dict]:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        store_row = state_row = {}
        if "auth_profile_store" in tables:
            row = conn.execute(
                "SELECT store_json FROM auth_profile_store WHERE store_key = 'primary'"
            ).fetchone()
            store_row = _json_object(row[0]) if row else {}
        if "auth_profile_state" in tables:
            row = conn.execute(
                "SELECT state_json FROM auth_profile_state WHERE state_key = 'primary'"
            ).fetchone()
            state_row = _json_object(row[0]) if row else {}
        return store_row, state_row

    def load(self) -> dict:
        with _connect(self.path, write=False) as conn:
            store_row, state_row = self._read_rows(conn)
        return _merge_rows(store_row, state_row)

    def update(self, mutate: Callable[[dict], None]) -> dict:
        with _connect(self.path, write=True) as conn:
            version = _user_version(conn)
            if version > KNOWN_AGENT_VERSION or _columns(conn, "auth_profile_store") != [
                "store_key",
                "store_json",
                "updated_at",
            ]:
                raise ConfigError(
                    f"Refusing to write credentials to {self.path}: unknown schema "
                    f"(version {version})",
                    hint="Set the key with the TypeScript OpenClaw, or update this openclaw.",
                )
            conn.execute("BEGIN IMMEDIATE")
            try:
                store_row, state_row = self._read_rows(conn)
                store = _merge_rows(store_row, state_row)
                mutate(store)
                new_store, new_state = _split_rows(store, store_row, state_row)
                now = _now_ms()
                conn.execute(
                    "INSERT INTO auth_profile_store (store_key, store_json, updated_at) "
                    "VALUES ('primary', ?, ?) ON CONFLICT(store_key) DO UPDATE SET "
                    "store_json = excluded.store_json, updated_at = excluded.updated_at",
                    (_compact(new_store), now),
                )
                if set(new_state) - {"version"}:
                    conn.execute(
                        "INSERT INTO auth_profile_state (state_key, state_json, updated_at) "
                        "VALUES ('primary', ?, ?) ON CONFLICT(state_key) DO UPDATE SET "
                        "state_json = excluded.state_json, updated_at = excluded.updated_at",
                        (_compact(new_state), now),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return store


def _shared_store_in_state_db(db: Path) -> bool | None:
    """True: state-db shared store; False: DB usable but no marker; None: not usable."""
    try:
        with _connect(db, write=False) as conn:
            if _user_version(conn) < FIRST_SHARED_STORE_VERSION:
                return None
            _check_state_schema(conn, db, write=False)
            row = conn.execute(
                "SELECT value_json FROM config_machine_state WHERE state_key = ?",
                (SHARED_STORE_KEY,),
            ).fetchone()
    except ConfigError:
        return None
    return bool(row) and _json_object(row[0]).get("location") == "state-db"


def _agent_db_has_store(db: Path) -> bool:
    try:
        return bool(AgentDbAuthStore(db).load()["profiles"])
    except ConfigError:
        return False


_auto_import = [True]


@contextlib.contextmanager
def legacy_import_paused() -> Iterator[None]:
    """No automatic import inside this block (``openclaw doctor`` reports before it changes)."""
    _auto_import.append(False)
    try:
        yield
    finally:
        _auto_import.pop()


def open_db_store(paths: Paths, agent_id: str = DEFAULT_AGENT_ID) -> AuthProfileStore:
    """The credential store TS would use for ``agent_id`` (c.3) on a HOME with one of its
    databases, importing a legacy ``auth-profiles.json`` into TS's state DB first when both
    exist (R7). ``auth.stores.open_auth_store`` decides when to call this."""
    state_db = paths.state_db_path()
    main_db = paths.agent_db_path()
    own_db = paths.agent_db_path(agent_id)
    if state_db.is_file():
        shared = _shared_store_in_state_db(state_db)
        if shared is False and main_db.is_file() and _agent_db_has_store(main_db):
            return AgentDbAuthStore(main_db)  # legacy layout: shared store in the agent DB
        if shared is not None:
            legacy = paths.auth_profiles_path(agent_id)
            store = StateDbAuthStore(state_db, overlay=own_db)
            if agent_id == DEFAULT_AGENT_ID and legacy.is_file() and _auto_import[-1]:
                import_legacy_json(legacy, store)
            return store
    if main_db.is_file() and _agent_db_has_store(main_db):
        return AgentDbAuthStore(main_db)
    return AuthProfileStore(paths.auth_profiles_path(agent_id))


def describe_store(store: AuthProfileStore) -> str:
    kind = getattr(store, "location", "json")
    return {"state-db": "state DB", "agent-db": "agent DB"}.get(kind, "auth-profiles.json")


def archive_name(path: Path) -> Path:
    """``auth-profiles.json.migrated-<YYYY-MM-DDTHH-MM-SS.mmmZ>-<uuid>`` as TS names it."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H-%M-%S.") + f"{now.microsecond // 1000:03d}Z"
    return path.with_name(f"{path.name}.migrated-{stamp}-{uuid.uuid4()}")


def import_legacy_json(legacy: Path, store: StateDbAuthStore) -> Path | None:
    """Upsert the legacy file's profiles into TS's shared store without overwriting stored
    ones (as TS's ``doctor --fix`` does), then rename the file. Returns the archive path."""
    from openclaw.config.locks import sidecar_lock

    with sidecar_lock(legacy):
        if not legacy.is_file():
            return None
        old = AuthProfileStore(legacy).load()

        def merge(current: dict) -> None:
            for pid, profile in old["profiles"].items():
                if isinstance(profile, dict) and pid not in current["profiles"]:
                    current["profiles"][pid] = profile
            for section in _STATE_SECTIONS:
                for key, value in old[section].items():
                    current[section].setdefault(key, value)

        store.update(merge)
        target = archive_name(legacy)
        os.replace(legacy, target)
        return target
