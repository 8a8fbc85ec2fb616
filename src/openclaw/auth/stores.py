"""Which credential store a HOME uses, decided without opening a database.

The TypeScript OpenClaw keeps keys in SQLite once its state exists; otherwise (a HOME only this
project has used) they live in ``auth-profiles.json``. Only a HOME with one of TS's databases
pays for loading the SQLite store (``auth/sqlite_store.py``), so ``models list`` on a plain
HOME stays quick.
"""

from __future__ import annotations

from pathlib import Path

from openclaw.auth.profiles import AuthProfileStore
from openclaw.config.paths import DEFAULT_AGENT_ID, Paths

STATE_DB_NAME = "openclaw.sqlite"
AGENT_DB_NAME = "openclaw-agent.sqlite"


def state_db_path(paths: Paths) -> Path:
    return paths.state_dir / "state" / STATE_DB_NAME


def agent_db_path(paths: Paths, agent_id: str = DEFAULT_AGENT_ID) -> Path:
    return paths.agent_dir(agent_id) / AGENT_DB_NAME


def open_auth_store(paths: Paths, agent_id: str = DEFAULT_AGENT_ID) -> AuthProfileStore:
    """The credential store TS would use for ``agent_id`` (interop-ts.md c.3)."""
    if state_db_path(paths).is_file() or agent_db_path(paths).is_file():
        from openclaw.auth.sqlite_store import open_db_store

        return open_db_store(paths, agent_id)
    return AuthProfileStore(paths.auth_profiles_path(agent_id))
