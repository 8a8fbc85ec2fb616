"""R10–R13: every config this project writes stays valid for the TypeScript OpenClaw, other
sections and TS-owned files stay as they are, and an emptied sessions dir keeps working."""

from __future__ import annotations

import json
from pathlib import Path

from openclaw.config.ts_rules import ts_issues
from tests.conftest import run_cli
from tests.interop.ts_home import PLACEHOLDER_KEY, make_ts_home
from tests.servers.fake_lmstudio import FakeLMStudio


def _config(home: Path) -> Path:
    return home / ".openclaw" / "openclaw.json"


def _doc(home: Path) -> dict:
    return json.loads(_config(home).read_text())


def test_readme_llama_cpp_example_is_valid_for_ts(isolated_home: Path) -> None:
    res = run_cli(
        "config", "set", "models.providers.llama-cpp",
        '{baseUrl: "http://127.0.0.1:8080/v1", api: "openai-completions", '
        'models: [{id: "my-model", contextWindow: 8192}]}',
    )  # fmt: skip
    assert res.returncode == 0, res.output
    row = _doc(isolated_home)["models"]["providers"]["llama-cpp"]["models"][0]
    assert row == {"id": "my-model", "name": "my-model", "contextWindow": 8192}
    assert "name set to its id" in res.stderr
    assert run_cli("models", "set", "llama-cpp/my-model").returncode == 0
    assert run_cli("models", "fallbacks", "add", "llama-cpp/my-model").returncode == 0
    assert ts_issues(_doc(isolated_home)) == []


def test_provider_level_context_window_moves_into_rows(isolated_home: Path) -> None:
    res = run_cli(
        "config", "set", "models.providers.vllm",
        '{baseURL: "http://127.0.0.1:8000/v1", api: "openai-completions", contextWindow: 16384,'
        ' models: [{id: "a", name: "A"}, {id: "b", name: "B", contextWindow: 4096}]}',
    )  # fmt: skip
    assert res.returncode == 0, res.output
    provider = _doc(isolated_home)["models"]["providers"]["vllm"]
    assert "contextWindow" not in provider and "baseURL" not in provider
    assert provider["baseUrl"] == "http://127.0.0.1:8000/v1"
    assert [r["contextWindow"] for r in provider["models"]] == [16384, 4096]
    assert ts_issues(_doc(isolated_home)) == []


def test_key_ts_rejects_is_refused_and_nothing_written(isolated_home: Path) -> None:
    assert run_cli("config", "set", "models.providers.llama-cpp",
                   '{baseUrl: "http://127.0.0.1:8080/v1", models: [{id: "m", name: "m"}]}'
                   ).returncode == 0  # fmt: skip
    before = _config(isolated_home).read_bytes()
    res = run_cli(
        "config",
        "set",
        "models.providers.llama-cpp.models[0].compat.appendOnlyRuntimeContext",
        "true",
    )
    assert res.returncode == 1
    assert 'Unrecognized key "appendOnlyRuntimeContext"' in res.stderr
    assert "Traceback" not in res.stderr
    assert _config(isolated_home).read_bytes() == before


def _ts_owned(state: Path) -> dict[str, tuple[int, bytes]]:
    owned = [
        *state.glob("state/*.sqlite*"),
        state / "config-journal-fingerprint.key",
        *state.glob("agents/*/agent/openclaw-agent.sqlite*"),
        *state.rglob("*.migrated-*"),
    ]
    return {str(p): (p.stat().st_mtime_ns, p.read_bytes()) for p in owned if p.is_file()}


def test_models_set_on_ts_home_changes_only_intended_paths(isolated_home: Path) -> None:
    with FakeLMStudio(api_key=PLACEHOLDER_KEY) as fake:
        state = make_ts_home(isolated_home, fake.base_url)
        before = _doc(isolated_home)
        owned = _ts_owned(state)
        res = run_cli("models", "set", "lmstudio/google/gemma-3-1b")
        assert res.returncode == 0, res.output
    after = _doc(isolated_home)
    assert after["agents"]["defaults"]["model"]["primary"] == "lmstudio/google/gemma-3-1b"
    expected = json.loads(json.dumps(before))
    expected["agents"]["defaults"]["model"]["primary"] = "lmstudio/google/gemma-3-1b"
    expected["agents"]["defaults"].setdefault("models", {}).update(
        after["agents"]["defaults"].get("models", {})
    )
    assert after == expected  # meta, wizard, gateway, plugins … untouched
    assert after["agents"]["defaults"].get("models", {}) in ({}, {"lmstudio/google/gemma-3-1b": {}})
    assert ts_issues(after) == []
    assert _ts_owned(state) == owned
    assert list(isolated_home.rglob("*.lock")) == []


def test_sessions_dir_emptied_by_ts_import_says_where(isolated_home: Path) -> None:
    agent = isolated_home / ".openclaw" / "agents" / "main"
    (agent / "sessions").mkdir(parents=True)
    archive = agent / "session-sqlite-import-archive"
    archive.mkdir()
    (archive / "sessions.json").write_text("{}")
    res = run_cli("sessions", "list")
    assert res.returncode == 0, res.output
    assert "No sessions yet" in res.stdout
    assert "session-sqlite-import-archive" in res.stdout
