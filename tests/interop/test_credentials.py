"""R4–R8: keys where the TypeScript OpenClaw keeps them (its SQLite state), on real files.

The TS HOME is built from fixtures taken from a real TS 2026.9.6 onboarding (ts_home.py).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.interop.ts_home import (
    PLACEHOLDER_KEY,
    api_key_store,
    create_state_db,
    make_ts_home,
    put_row,
    read_row,
)
from tests.servers.fake_lmstudio import FakeLMStudio, Reply

CHAT = ("POST", "/v1/chat/completions")


@pytest.fixture
def lms() -> Iterator[FakeLMStudio]:
    with FakeLMStudio(api_key=PLACEHOLDER_KEY) as fake:
        yield fake


def _state_db(home: Path) -> Path:
    return home / ".openclaw" / "state" / "openclaw.sqlite"


def _legacy(home: Path) -> Path:
    return home / ".openclaw" / "agents" / "main" / "agent" / "auth-profiles.json"


def _bearers(fake: FakeLMStudio) -> list[str | None]:
    return [r.header("Authorization") for r in fake.requests if (r.method, r.path) == CHAT]


def test_agent_sends_the_key_ts_stored(isolated_home: Path, lms: FakeLMStudio) -> None:
    make_ts_home(isolated_home, lms.base_url)
    lms.script(Reply(text="hello"))
    res = run_cli("agent", "-m", "hi", "--tools", "none")
    assert res.returncode == 0, res.output
    assert "hello" in res.stdout
    assert _bearers(lms) == [f"Bearer {PLACEHOLDER_KEY}"]
    assert not _legacy(isolated_home).exists()


def test_models_status_names_the_state_db(isolated_home: Path, lms: FakeLMStudio) -> None:
    make_ts_home(isolated_home, lms.base_url)
    res = run_cli("models", "status")
    assert res.returncode == 0, res.output
    assert "~/.openclaw/state/openclaw.sqlite" in res.stdout
    assert "lmstudio:default" in res.stdout
    assert PLACEHOLDER_KEY not in res.output
    data = json.loads(run_cli("models", "status", "--json").stdout)
    assert data["auth"]["storePath"] == str(_state_db(isolated_home))


def test_onboard_on_ts_home_writes_sqlite_never_json(isolated_home: Path) -> None:
    with FakeLMStudio(api_key="K2") as fake:
        make_ts_home(isolated_home, fake.base_url)
        res = run_cli(
            "onboard", "--non-interactive", "--accept-risk", "--auth-choice", "lmstudio",
            "--custom-base-url", fake.server_url, "--lmstudio-api-key", "K2",
        )  # fmt: skip
        assert res.returncode == 0, res.output
    db = _state_db(isolated_home)
    store = read_row(db, "authProfiles.store")
    assert store == api_key_store("K2")
    assert read_row(db, "auth.sharedStore") == {"location": "state-db"}
    assert not _legacy(isolated_home).exists()
    assert list(isolated_home.rglob("*.lock")) == []
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA user_version").fetchone() == (18,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_wrong_key_written_here_is_what_the_store_holds(isolated_home: Path) -> None:
    # Scenario 24: what this project writes is what TS reads on its next start.
    with FakeLMStudio(api_key=PLACEHOLDER_KEY) as fake:
        make_ts_home(isolated_home, fake.base_url)
        res = run_cli(
            "onboard", "--non-interactive", "--accept-risk", "--auth-choice", "lmstudio",
            "--custom-base-url", fake.server_url, "--lmstudio-api-key", "WRONG",
        )  # fmt: skip
        assert res.returncode != 0  # the key is checked against the server first
    assert read_row(_state_db(isolated_home), "authProfiles.store") == api_key_store(
        PLACEHOLDER_KEY
    )


def test_cooling_down_profile_goes_last(isolated_home: Path, lms: FakeLMStudio) -> None:
    make_ts_home(isolated_home, lms.base_url)
    conn = sqlite3.connect(_state_db(isolated_home), isolation_level=None)
    store = api_key_store("sk-cooling")
    store["profiles"]["lmstudio:backup"] = {
        "type": "api_key",
        "provider": "lmstudio",
        "key": PLACEHOLDER_KEY,
    }
    put_row(conn, "authProfiles.store", store)
    until = int(time.time() * 1000) + 600_000
    put_row(
        conn,
        "authProfiles.state",
        {
            "version": 1,
            "usageStats": {"lmstudio:default": {"cooldownUntil": until, "errorCount": 1}},
        },
    )
    conn.close()
    lms.script(Reply(text="ok"))
    res = run_cli("agent", "-m", "hi", "--tools", "none")
    assert res.returncode == 0, res.output
    assert _bearers(lms) == [f"Bearer {PLACEHOLDER_KEY}"]


def test_newer_schema_is_read_but_never_written(isolated_home: Path) -> None:
    state = isolated_home / ".openclaw"
    conn = create_state_db(state / "state" / "openclaw.sqlite", user_version=19)
    put_row(conn, "auth.sharedStore", {"location": "state-db"})
    put_row(conn, "authProfiles.store", api_key_store("sk-old"))
    conn.close()
    before = _state_db(isolated_home).read_bytes()
    with FakeLMStudio(api_key="K3") as fake:
        res = run_cli(
            "onboard", "--non-interactive", "--accept-risk", "--auth-choice", "lmstudio",
            "--custom-base-url", fake.server_url, "--lmstudio-api-key", "K3",
        )  # fmt: skip
    assert res.returncode == 1
    assert "schema version 19" in res.stderr and "Traceback" not in res.stderr
    assert read_row(_state_db(isolated_home), "authProfiles.store") == api_key_store("sk-old")
    assert _state_db(isolated_home).read_bytes() == before
    assert not _legacy(isolated_home).exists()


def test_busy_state_db_is_reported_as_busy(isolated_home: Path) -> None:
    make_ts_home(isolated_home, "http://127.0.0.1:9/v1")
    holder = sqlite3.connect(_state_db(isolated_home), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with FakeLMStudio(api_key="K4") as fake:
            res = run_cli(
                "onboard", "--non-interactive", "--accept-risk", "--auth-choice", "lmstudio",
                "--custom-base-url", fake.server_url, "--lmstudio-api-key", "K4",
            )  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert res.returncode == 1
    assert "state database busy" in res.stderr and "Traceback" not in res.stderr


def test_legacy_json_is_imported_like_ts_doctor(isolated_home: Path, lms: FakeLMStudio) -> None:
    # Scenario 26: a Python-first key file on a HOME where TS's state DB now exists.
    make_ts_home(isolated_home, lms.base_url)
    db = _state_db(isolated_home)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DELETE FROM config_machine_state WHERE state_key LIKE 'auth%'")
    put_row(conn, "authProfiles.store", api_key_store(PLACEHOLDER_KEY))  # stored: kept
    conn.close()
    legacy = _legacy(isolated_home)
    legacy.parent.mkdir(parents=True)
    legacy.write_text(
        json.dumps(
            {
                "version": 1,
                "profiles": {
                    "lmstudio:default": {
                        "type": "api_key",
                        "provider": "lmstudio",
                        "key": "sk-json",
                    },
                    "lmstudio:extra": {
                        "type": "api_key",
                        "provider": "lmstudio",
                        "key": "sk-extra",
                    },
                },
                "lastGood": {"lmstudio": "lmstudio:default"},
            }
        )
    )
    res = run_cli("models", "status")
    assert res.returncode == 0, res.output
    store = read_row(db, "authProfiles.store")
    assert store["profiles"]["lmstudio:default"]["key"] == PLACEHOLDER_KEY  # not overwritten
    assert store["profiles"]["lmstudio:extra"]["key"] == "sk-extra"
    assert read_row(db, "authProfiles.state") == {
        "version": 1,
        "lastGood": {"lmstudio": "lmstudio:default"},
    }
    assert read_row(db, "auth.sharedStore") == {"location": "state-db"}
    assert not legacy.exists()
    archived = list(legacy.parent.glob("auth-profiles.json.migrated-*"))
    assert len(archived) == 1
    assert len(archived[0].name.split(".migrated-")[1]) == len("2026-12-03T07-18-06.743Z-") + 36


def test_python_first_home_keeps_json(isolated_home: Path) -> None:
    with FakeLMStudio(api_key="K5") as fake:
        res = run_cli(
            "onboard", "--non-interactive", "--accept-risk", "--auth-choice", "lmstudio",
            "--custom-base-url", fake.server_url, "--lmstudio-api-key", "K5",
        )  # fmt: skip
    assert res.returncode == 0, res.output
    assert (
        json.loads(_legacy(isolated_home).read_text())["profiles"]["lmstudio:default"]["key"]
        == "K5"
    )
    assert not _state_db(isolated_home).exists()
    assert list(isolated_home.rglob("*.lock")) == []


def test_agent_db_layout_is_read(isolated_home: Path, lms: FakeLMStudio) -> None:
    make_ts_home(isolated_home, lms.base_url)
    db = _state_db(isolated_home)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DELETE FROM config_machine_state WHERE state_key LIKE 'auth%'")
    conn.close()
    agent_db = isolated_home / ".openclaw" / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
    agent_db.parent.mkdir(parents=True)
    conn = sqlite3.connect(agent_db, isolation_level=None)
    conn.executescript((Path(__file__).parent / "fixtures" / "ts_agent_schema.sql").read_text())
    conn.execute("PRAGMA user_version = 23")
    conn.execute(
        "INSERT INTO auth_profile_store VALUES ('primary', ?, 1)",
        (json.dumps(api_key_store(PLACEHOLDER_KEY)),),
    )
    conn.close()
    lms.script(Reply(text="ok"))
    res = run_cli("agent", "-m", "hi", "--tools", "none")
    assert res.returncode == 0, res.output
    assert _bearers(lms) == [f"Bearer {PLACEHOLDER_KEY}"]
