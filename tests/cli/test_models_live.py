"""`models list --refresh` and `models status --probe` against the fake LM Studio."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.servers.fake_lmstudio import FakeLMStudio

TOKEN = "sk-lm-fake-TOKEN-0001"


@pytest.fixture
def fake() -> Iterator[FakeLMStudio]:
    with FakeLMStudio(api_key=TOKEN) as server:
        yield server


def configure(home: Path, base_url: str, api_key: str = "LM_API_TOKEN") -> None:
    path = home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "models": {"providers": {"lmstudio": {"baseUrl": base_url, "api": "openai-completions",
                                              "apiKey": api_key, "models": []}}},
        "agents": {"defaults": {"model": {"primary": "lmstudio/qwen/qwen3.5-9b"}}},
    }))  # fmt: skip


def test_refresh_lists_discovered_models(isolated_home: Path, fake: FakeLMStudio) -> None:
    configure(isolated_home, f"{fake.server_url}/v1")
    before = json.loads(run_cli("models", "list", "--json").stdout)
    assert [m["key"] for m in before["models"]] == ["lmstudio/qwen/qwen3.5-9b"]
    assert before["models"][0]["missing"] is True
    result = run_cli("models", "list", "--refresh", "--json", env={"LM_API_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    keys = {m["key"]: m for m in json.loads(result.stdout)["models"]}
    assert "lmstudio/qwen/qwen3.5-9b" in keys and "missing" not in keys["lmstudio/qwen/qwen3.5-9b"]
    # selection tags first, then what discovery saw (format, loaded state)
    assert keys["lmstudio/qwen/qwen3.5-9b"]["tags"][0] == "default"
    assert "loaded" in keys["lmstudio/qwen/qwen3.5-9b"]["tags"]
    assert not any("embed" in key for key in keys)
    assert TOKEN not in result.output


def test_refresh_reports_rejected_credentials(isolated_home: Path, fake: FakeLMStudio) -> None:
    configure(isolated_home, f"{fake.server_url}/v1")
    result = run_cli("models", "list", "--refresh", env={"LM_API_TOKEN": "WRONG-token-123456"})
    assert result.returncode == 1
    assert "401" in result.stderr
    assert "WRONG-token" not in result.output
    assert "Traceback" not in result.stderr


def test_refresh_reports_unreachable(isolated_home: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    configure(isolated_home, f"http://127.0.0.1:{port}/v1")
    result = run_cli("models", "list", "--refresh")
    assert result.returncode == 1
    assert "could not be reached" in result.stderr or "unreachable" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_probe(isolated_home: Path, fake: FakeLMStudio) -> None:
    configure(isolated_home, f"{fake.server_url}/v1")
    run_cli("models", "list", "--refresh", env={"LM_API_TOKEN": TOKEN})
    result = run_cli("models", "status", "--probe", "--json", env={"LM_API_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    probes = json.loads(result.stdout)["auth"]["probes"]
    assert probes and probes[0]["provider"] == "lmstudio"
    assert TOKEN not in result.output
    text = run_cli("models", "status", "--probe", env={"LM_API_TOKEN": "WRONG-token-123456"})
    assert text.returncode == 1  # a rejected key is a failed probe
    assert "Probes" in text.stdout and "auth" in text.stdout


def test_probe_of_unknown_model_exits_1(isolated_home: Path, fake: FakeLMStudio) -> None:
    path = isolated_home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"models": {"providers": {"lmstudio": {
        "baseUrl": f"{fake.server_url}/v1", "apiKey": "LM_API_TOKEN",
        "models": [{"id": "nobody/no-such-model"}]}}}}))  # fmt: skip
    result = run_cli("models", "status", "--probe", "--json", env={"LM_API_TOKEN": TOKEN})
    assert result.returncode == 1, result.stderr
    (probe,) = json.loads(result.stdout)["auth"]["probes"]
    assert probe["status"] != "ok"


def test_probe_loading_a_model_prints_a_plain_line_off_a_terminal(
    isolated_home: Path, fake: FakeLMStudio
) -> None:
    """An installed, unloaded model is loaded for the probe; stderr (a pipe) gets plain
    lines naming the model and context instead of a spinner."""
    fake.load_delay = 0.5
    path = isolated_home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"models": {"providers": {"lmstudio": {
        "baseUrl": f"{fake.server_url}/v1", "apiKey": "LM_API_TOKEN",
        "models": [{"id": "qwen/qwen3-coder-30b", "contextTokens": 16384}]}}}}))  # fmt: skip
    result = run_cli("models", "status", "--probe", env={"LM_API_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert "Loading qwen/qwen3-coder-30b in LM Studio (16384 context tokens)…\n" in result.stderr
    assert "Load of qwen/qwen3-coder-30b finished" in result.stderr
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
    loads = [r for r in fake.requests if r.path == "/api/v1/models/load"]
    assert [r.json["context_length"] for r in loads] == [16384]


def test_refresh_fills_gaps_in_configured_rows(isolated_home: Path, fake: FakeLMStudio) -> None:
    path = isolated_home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"models": {"providers": {"lmstudio": {
        "baseUrl": f"{fake.server_url}/v1", "apiKey": "LM_API_TOKEN",
        "models": [{"id": "qwen/qwen3.5-9b", "name": "Mine"}]}}}}))  # fmt: skip
    plain = {m["key"]: m for m in json.loads(run_cli("models", "list", "--json").stdout)["models"]}
    assert plain["lmstudio/qwen/qwen3.5-9b"]["contextWindow"] is None
    result = run_cli("models", "list", "--refresh", "--json", env={"LM_API_TOKEN": TOKEN})
    rows = {m["key"]: m for m in json.loads(result.stdout)["models"]}
    mine = rows["lmstudio/qwen/qwen3.5-9b"]
    assert mine["name"] == "Mine"  # what the user wrote wins
    assert mine["contextWindow"] == 262144  # discovery fills the gap
    assert mine["input"] == "text+image"
    assert "lmstudio/google/gemma-3-1b" in rows


def test_probe_shows_what_lm_studio_has_loaded(isolated_home: Path, fake: FakeLMStudio) -> None:
    """Issue #5 item 9: the probe says whether the server answers, what is loaded, which context."""
    configure(isolated_home, f"{fake.server_url}/v1")
    env = {"LM_API_TOKEN": TOKEN}
    run_cli("models", "list", "--refresh", env=env)
    result = run_cli("models", "status", "--probe", "--json", env=env)
    assert result.returncode == 0, result.stderr
    details = json.loads(result.stdout)["auth"]["probes"][0]["details"]
    assert details["reachable"] is True
    loaded = {item["model"]: item["context"] for item in details["loaded"]}
    assert loaded == {"qwen/qwen3.5-9b": 32768, "google/gemma-3-1b": 4096}
    assert details["model"]["key"] == "qwen/qwen3.5-9b"
    assert details["model"]["loadedContext"] == 32768
    assert details["model"]["maxContext"] == 262144

    text = run_cli("models", "status", "--probe", env=env)
    assert "reachable · loaded: qwen/qwen3.5-9b (32768 ctx), google/gemma-3-1b (4096 ctx)" in (
        text.stdout
    )
    assert "qwen/qwen3.5-9b: loaded with 32768 context (max 262144" in text.stdout


def test_probe_of_a_dead_server_adds_no_second_wait(isolated_home: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    configure(isolated_home, f"http://127.0.0.1:{port}/v1")
    result = run_cli("models", "status", "--probe", "--json")
    probe = json.loads(result.stdout)["auth"]["probes"][0]
    assert probe["status"] == "unreachable"
    assert probe["details"] == {}
