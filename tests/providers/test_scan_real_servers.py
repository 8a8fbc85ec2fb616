"""Issue 12 acceptance: `--auth-choice auto` finds a (faithful fake) Ollama and a real llama.cpp
server on their ports, identified by their APIs; then `openclaw agent -m hi` answers through
what it onboarded. OPENCLAW_SCAN_PORTS moves every probed port onto these servers or onto
closed ports, so nothing probes a real default port."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.providers.test_scan import AUTO, config_path, ports_env
from tests.servers.fake_ollama import FakeOllama
from tests.servers.llama_server import LlamaServer

pytestmark = pytest.mark.llama


def test_auto_prefers_ollama_over_llama_server_in_scan_order(
    isolated_home: Path, llama_server: LlamaServer
) -> None:
    with FakeOllama() as ollama:
        env = ports_env(ollama=ollama.port, llama_cpp=llama_server.port)
        result = run_cli(*AUTO, env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        assert f"Found Ollama at {ollama.base_url}" in result.stderr
        cfg = json.loads(config_path(isolated_home).read_text())
        provider = cfg["models"]["providers"]["ollama"]
        assert provider["api"] == "ollama" and provider["baseUrl"] == ollama.base_url
        assert cfg["agents"]["defaults"]["model"]["primary"] == "ollama/qwen3:8b"
        # No contextWindow written: discovery supplies it at run time.
        assert all("contextWindow" not in row for row in provider["models"])

        answer = run_cli("agent", "-m", "hi", timeout=60)
        assert answer.returncode == 0, answer.output
        chats = [r for r in ollama.requests if r.path == "/api/chat"]
        assert chats and chats[-1].json["options"]["num_ctx"] == 32768


def test_auto_finds_a_real_llama_server(isolated_home: Path, llama_server: LlamaServer) -> None:
    env = ports_env(llama_cpp=llama_server.port)
    result = run_cli(*AUTO, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    cfg = json.loads(config_path(isolated_home).read_text())
    (key,) = cfg["models"]["providers"]
    provider = cfg["models"]["providers"][key]
    assert key == "llama-cpp"
    assert provider["baseUrl"] == f"http://127.0.0.1:{llama_server.port}/v1"
    # The served context comes from the server (meta.n_ctx / /props), not from the config.
    assert all("contextWindow" not in row for row in provider["models"])
    listed = run_cli("models", "list", "--refresh", "--json", timeout=60)
    assert listed.returncode == 0, listed.output
    (row,) = json.loads(listed.stdout)["models"]
    assert row["contextWindow"] == 4096

    answer = run_cli("agent", "-m", "hi", "--json", timeout=120)
    assert answer.returncode == 0, answer.output
    usage = json.loads(answer.stdout)["meta"]["agentMeta"]["usage"]
    assert usage["source"] in ("reported", "timings") and usage["output"] > 0
