"""`openclaw doctor` on the broken HOMEs of interop-ts.md's scenarios: it names the problem and
the fix, `--fix` repairs what is safe, and a second run is clean."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import run_cli
from tests.interop.ts_home import PLACEHOLDER_KEY, make_ts_home, read_row, ts_lock_bytes
from tests.servers.fake_lmstudio import FakeLMStudio


def _state(home: Path) -> Path:
    return home / ".openclaw"


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _doctor(*args: str) -> tuple[int, dict]:
    res = run_cli("doctor", "--json", *args)
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, json.loads(res.stdout)


def _codes(report: dict) -> list[str]:
    return [f["code"] for f in report["findings"]]


def test_python_first_leftovers_on_a_ts_home_are_found_and_fixed(isolated_home: Path) -> None:
    # Scenarios 3, 4, 9, 16: 0-byte locks left by an older openclaw, a legacy key file next to
    # TS's state DB, and a model row without `name` (written by hand / an older version).
    state = make_ts_home(isolated_home, "http://127.0.0.1:9/v1")
    config = state / "openclaw.json"
    doc = json.loads(config.read_text())
    doc["models"]["providers"]["llama-cpp"] = {
        "baseUrl": "http://127.0.0.1:8080/v1",
        "api": "openai-completions",
        "models": [{"id": "my-model", "contextWindow": 32768}],
    }
    config.write_text(json.dumps(doc, indent=2))
    legacy = state / "agents" / "main" / "agent" / "auth-profiles.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps({"version": 1, "profiles": {"lmstudio:old": {
        "type": "api_key", "provider": "lmstudio", "key": "sk-old"}}}))  # fmt: skip
    for lock in (state / "openclaw.json.lock", legacy.with_name("auth-profiles.json.lock")):
        lock.write_bytes(b"")
        _age(lock, 3600)

    code, report = _doctor()
    assert code == 1
    assert _codes(report).count("lock-stray") == 2
    assert "legacy-keys" in _codes(report)
    assert any(
        f["code"] == "config-ts-invalid" and "llama-cpp.models.0.name" in f["message"]
        for f in report["findings"]
    )
    assert all(f["fix"] for f in report["findings"])
    assert all(f["severity"] == "error" for f in report["findings"] if f["fixable"])

    res = run_cli("doctor", "--fix")
    assert res.returncode == 0, res.output
    assert "fixed: removed ~/.openclaw/openclaw.json.lock" in res.stdout
    assert "fixed: imported ~/.openclaw/agents/main/agent/auth-profiles.json" in res.stdout

    assert list(state.rglob("*.lock")) == []
    assert not legacy.exists()
    profiles = read_row(state / "state" / "openclaw.sqlite", "authProfiles.store")["profiles"]
    assert set(profiles) == {"lmstudio:default", "lmstudio:old"}
    row = json.loads(config.read_text())["models"]["providers"]["llama-cpp"]["models"][0]
    assert row["name"] == "my-model"
    assert (state / "openclaw.json.bak").exists()
    code, report = _doctor()
    assert (code, report["errors"]) == (0, 0), report


def test_stale_ts_lock_is_reclaimed_live_one_kept(isolated_home: Path) -> None:
    state = make_ts_home(isolated_home, "http://127.0.0.1:9/v1")
    lock = state / "openclaw.json.lock"
    lock.write_bytes(ts_lock_bytes(_dead_pid(), None))
    code, report = _doctor("--fix")
    assert code == 0 and not lock.exists(), report

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_bytes(ts_lock_bytes(holder.pid, None))
        code, report = _doctor("--fix")
        assert code == 0
        assert _codes(report) == ["lock-held"]
        assert lock.exists()
    finally:
        holder.kill()
        holder.wait()


def test_python_only_home_is_clean_after_onboard(isolated_home: Path) -> None:
    with FakeLMStudio(api_key="K1") as fake:
        res = run_cli(
            "onboard", "--non-interactive", "--accept-risk", "--auth-choice", "lmstudio",
            "--custom-base-url", fake.server_url, "--lmstudio-api-key", "K1",
        )  # fmt: skip
        assert res.returncode == 0, res.output
        code, report = _doctor("--probe")
    # The key file is only a warning while TS has never been here (no state DB to import into).
    assert code == 0, report
    assert [f["severity"] for f in report["findings"]] == ["warning"]
    assert _codes(report) == ["legacy-keys"]
    assert "doctor --fix" in report["findings"][0]["fix"]


def test_warnings_for_context_local_service_private_network(isolated_home: Path) -> None:
    config = _state(isolated_home) / "openclaw.json"
    config.parent.mkdir()
    config.write_text(json.dumps({
        "models": {"providers": {"llama-cpp": {
            "baseUrl": "http://127.0.0.1:8080/v1",
            "api": "openai-completions",
            "request": {"allowPrivateNetwork": True},
            "localService": {"command": "/nonexistent/llama-server"},
            "models": [{"id": "m", "name": "m", "contextWindow": 4096}],
        }}},
        "agents": {"defaults": {"model": {"primary": "llama-cpp/m"}}},
    }))  # fmt: skip
    code, report = _doctor()
    assert code == 0, report
    assert sorted(_codes(report)) == ["context-small", "local-service", "private-network"]
    messages = " ".join(f["message"] for f in report["findings"])
    assert "4096-token context" in messages and "/nonexistent/llama-server" in messages


def test_provider_in_use_without_key(isolated_home: Path) -> None:
    config = _state(isolated_home) / "openclaw.json"
    config.parent.mkdir()
    config.write_text(json.dumps({
        "models": {"providers": {"vllm": {
            "baseUrl": "https://vllm.example.invalid/v1", "api": "openai-completions",
            "models": [{"id": "m", "name": "m"}]}}},
        "agents": {"defaults": {"model": {"primary": "vllm/m"}}},
    }))  # fmt: skip
    res = run_cli("doctor")
    assert res.returncode == 1
    assert 'provider "vllm" is in use but has no key' in res.stdout
    assert "fix: " in res.stdout


def test_probe_reports_unreachable_and_rejected_key(isolated_home: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with FakeLMStudio(api_key="right") as fake:
        make_ts_home(isolated_home, fake.base_url)  # stored key is the placeholder: wrong
        config = _state(isolated_home) / "openclaw.json"
        doc = json.loads(config.read_text())
        doc["models"]["providers"]["vllm"] = {
            "baseUrl": f"http://127.0.0.1:{closed}/v1", "api": "openai-completions",
            "models": [{"id": "m", "name": "m"}]}  # fmt: skip
        config.write_text(json.dumps(doc))
        code, report = _doctor("--probe")
    assert code == 1
    codes = _codes(report)
    assert "key-rejected" in codes and "unreachable" in codes
    assert PLACEHOLDER_KEY not in json.dumps(report)
