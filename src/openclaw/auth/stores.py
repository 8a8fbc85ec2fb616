"""Which credential store a HOME uses, decided without opening a database.

The TypeScript OpenClaw keeps keys in SQLite once its state exists; otherwise (a HOME only this
project has used) they live in ``auth-profiles.json``. Only a HOME with one of TS's databases
pays for loading the SQLite store (``auth/sqlite_store.py``), so ``models list`` on a plain
HOME stays quick.
"""

from __future__ import annotations

from openclaw.auth.profiles import AuthProfileStore
from openclaw.config.paths import DEFAULT_AGENT_ID, Paths


def open_auth_store(paths: Paths, agent_id: str = DEFAULT_AGENT_ID) -> AuthProfileStore:
    """The credential store TS would use for ``agent_id`` (interop-ts.md c.3)."""
    if paths.state_db_path().is_file() or paths.agent_db_path().is_file():
        from openclaw.auth.sqlite_store import open_db_store

        return open_db_store(paths, agent_id)
    return AuthProfileStore(paths.auth_profiles_path(agent_id))
