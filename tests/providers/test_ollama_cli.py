"""Ollama through the real CLI (``python -m openclaw`` subprocesses) against the fake Ollama:
``agent``, ``models list --refresh``, ``models status --probe``, ``embed`` and onboarding."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import run_cli
from tests.servers.fake_ollama import FakeOllama, Reply

from openclaw.config.settings import ModelSettings
from openclaw.llm.ollama_context import NUM_CTX_CAP


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


def config_path(home: Path) -> Path:
    return home / ".openclaw" / "openclaw.json"


def write_config(home: Path, providers: dict[str, Any], primary: str) -> None:
    path = config_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "models": {"providers": providers},
        "agents": {"defaults": {"model": {"primary": primary}}},
    }
    path.write_text(json.dumps(data, indent=2))


def ollama_provider(fake: FakeOllama, *rows: dict[str, Any], **extra: Any) -> dict[str, Any]:
    models = list(rows) or [{"id": "qwen3:8b", "name": "qwen3:8b"}]
    return {
        "baseUrl": fake.base_url,
        "api": "ollama",
        "apiKey": "ollama-local",
        "models": models,
        **extra,
    }


def test_agent_hi_sends_the_rule_number_and_reports_exact_usage(
    isolated_home: Path, ollama: FakeOllama
) -> None:
    write_config(isolated_home, {"ollama": ollama_provider(ollama)}, "ollama/qwen3:8b")
    ollama.script(Reply(text="Hello there.", prompt_eval_count=321, eval_count=4))
    res = run_cli("agent", "-m", "hi", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["payloads"] == [{"text": "Hello there."}]
    meta = out["meta"]["agentMeta"]
    assert meta["usage"]["input"] == 321 and meta["usage"]["output"] == 4
    assert meta["usage"]["source"] == "reported"
    # discovered maximum 40960 -> min(32768, 40960); the budget uses the same number
    assert meta["contextTokens"] == NUM_CTX_CAP
    bodies = [r.json for r in ollama.chat_requests()]
    assert [b["options"]["num_ctx"] for b in bodies] == [NUM_CTX_CAP]


def test_configured_window_is_capped_and_explicit_num_ctx_wins(
    isolated_home: Path, ollama: FakeOllama
) -> None:
    rows = [
        {"id": "qwen3:8b", "name": "qwen3:8b", "contextWindow": 262144},
        {"id": "llava:7b", "name": "llava:7b", "params": {"num_ctx": 3000}},
    ]
    write_config(isolated_home, {"ollama": ollama_provider(ollama, *rows)}, "ollama/qwen3:8b")
    assert run_cli("agent", "-m", "one").returncode == 0
    assert run_cli("agent", "-m", "two", "--model", "ollama/llava:7b").returncode == 0
    sent = [(r.json["model"], r.json["options"]["num_ctx"]) for r in ollama.chat_requests()]
    assert sent == [("qwen3:8b", NUM_CTX_CAP), ("llava:7b", 3000)]


def test_tool_call_spread_over_two_lines_runs_once(isolated_home: Path, ollama: FakeOllama) -> None:
    write_config(isolated_home, {"ollama": ollama_provider(ollama)}, "ollama/qwen3:8b")
    workspace = isolated_home / ".openclaw" / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "notes.txt").write_text("x")
    ollama.script(
        Reply(text="", tool_calls=[("ls", {"path": ".", "depth": 1})], split_call=True),
        Reply(text="There is notes.txt."),
    )
    res = run_cli("agent", "-m", "what files?", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["payloads"] == [{"text": "There is notes.txt."}]
    assert out["meta"]["agentMeta"]["toolCalls"] == 1
    second = ollama.chat_requests()[1].json["messages"]
    assistant = [m for m in second if m["role"] == "assistant"]
    assert assistant[-1]["tool_calls"] == [
        {"function": {"name": "ls", "arguments": {"path": ".", "depth": 1}}}
    ]
    results = [m for m in second if m["role"] == "tool"]
    assert len(results) == 1 and results[0]["tool_name"] == "ls"
    assert "notes.txt" in results[0]["content"]


def test_thinking_is_not_part_of_the_answer(isolated_home: Path, ollama: FakeOllama) -> None:
    write_config(isolated_home, {"ollama": ollama_provider(ollama)}, "ollama/qwen3:8b")
    ollama.script(Reply(text="Four.", thinking="two and two is four"))
    res = run_cli("agent", "-m", "2+2?", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["payloads"] == [{"text": "Four."}]


def test_missing_model_is_one_line_naming_ollama_pull(
    isolated_home: Path, ollama: FakeOllama
) -> None:
    row = {"id": "mistral:7b", "name": "mistral:7b"}
    write_config(isolated_home, {"ollama": ollama_provider(ollama, row)}, "ollama/mistral:7b")
    res = run_cli("agent", "-m", "hi")
    assert res.returncode == 1
    assert "Traceback" not in res.output
    lines = [line for line in res.stderr.splitlines() if "ollama pull mistral:7b" in line]
    assert len(lines) == 1, res.stderr


def test_two_ollama_hosts_each_use_their_own_url(isolated_home: Path) -> None:
    with FakeOllama() as gpu, FakeOllama() as laptop:
        providers = {
            "ollama-gpu": ollama_provider(gpu),
            "laptop": ollama_provider(laptop, {"id": "llava:7b", "name": "llava:7b"}),
        }
        write_config(isolated_home, providers, "ollama-gpu/qwen3:8b")
        assert run_cli("agent", "-m", "a").returncode == 0
        assert run_cli("agent", "-m", "b", "--model", "laptop/llava:7b").returncode == 0
        assert [r.json["model"] for r in gpu.chat_requests()] == ["qwen3:8b"]
        assert [r.json["model"] for r in laptop.chat_requests()] == ["llava:7b"]
        assert laptop.chat_requests()[0].json["options"]["num_ctx"] == 4096


def test_v1_path_injects_the_same_number(isolated_home: Path, ollama: FakeOllama) -> None:
    """``api: "openai-completions"`` on the ollama kind keeps /v1 with ``options.num_ctx``."""
    from openclaw.llm.ollama_context import num_ctx
    from openclaw.llm.openai_completions import build_request_body
    from openclaw.llm.types import ChatOptions, Context, ModelSpec, UserMessage
    from openclaw.net.policy import STRICT_POLICY

    row = {"id": "qwen3:8b", "contextWindow": 131072}
    pcfg = {"baseUrl": "http://127.0.0.1:11434/v1", "api": "openai-completions"}
    model = ModelSettings.read(row, pcfg)
    spec = ModelSpec(
        "ollama", "qwen3:8b", "qwen3:8b", "openai-completions", pcfg["baseUrl"], model, {},
        None, "none", {}, None, STRICT_POLICY,
    )  # fmt: skip
    body = build_request_body(spec, Context(messages=[UserMessage("x")]), ChatOptions())
    assert body["options"] == {"num_ctx": NUM_CTX_CAP} == {"num_ctx": num_ctx(model)}


def test_models_list_refresh_shows_maximum_and_number_sent(
    isolated_home: Path, ollama: FakeOllama
) -> None:
    write_config(isolated_home, {"ollama": ollama_provider(ollama)}, "ollama/qwen3:8b")
    res = run_cli("models", "list", "--refresh", "--json")
    assert res.returncode == 0, res.stderr
    rows = {m["key"]: m for m in json.loads(res.stdout)["models"]}
    qwen = rows["ollama/qwen3:8b"]
    assert qwen["contextWindow"] == 40960 and qwen["contextTokens"] == NUM_CTX_CAP
    assert "num_ctx 32768" in qwen["tags"] and "max 40960" in qwen["tags"]
    assert "thinking" in qwen["tags"] and "tools" in qwen["tags"]
    assert rows["ollama/llava:7b"]["input"] == "text+image"
    shows = [r for r in ollama.requests if r.path == "/api/show"]
    assert len(shows) == 3
    # a second refresh asks /api/show for nothing: the digests are cached
    assert run_cli("models", "list", "--refresh").returncode == 0
    assert len([r for r in ollama.requests if r.path == "/api/show"]) == 3


def test_status_probe_shows_the_loaded_context(isolated_home: Path, ollama: FakeOllama) -> None:
    write_config(isolated_home, {"ollama": ollama_provider(ollama)}, "ollama/qwen3:8b")
    res = run_cli("models", "status", "--probe")
    assert res.returncode == 0, res.output
    assert "loaded: qwen3:8b (32768 ctx)" in res.stdout
    assert "max 40960" in res.stdout and "requested 32768" in res.stdout
    probe = ollama.chat_requests()[0].json
    assert probe["options"]["num_ctx"] == NUM_CTX_CAP and probe["think"] is False


def test_embed_with_an_ollama_model(isolated_home: Path, ollama: FakeOllama) -> None:
    write_config(isolated_home, {"ollama": ollama_provider(ollama)}, "ollama/qwen3:8b")
    res = run_cli("embed", "--model", "ollama/nomic-embed-text", "--json", "alpha", "beta")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["provider"] == "ollama" and out["dimensions"] == 4
    assert [e["text"] for e in out["embeddings"]] == ["alpha", "beta"]
    body = next(r.json for r in ollama.requests if r.path == "/api/embed")
    assert body["input"] == ["alpha", "beta"] and body["options"]["num_ctx"] == 2048


def test_embed_missing_model_names_ollama_pull(isolated_home: Path, ollama: FakeOllama) -> None:
    write_config(isolated_home, {"ollama": ollama_provider(ollama)}, "ollama/qwen3:8b")
    res = run_cli("embed", "--model", "ollama/mxbai-embed-large", "x")
    assert res.returncode == 1
    assert "ollama pull mxbai-embed-large" in res.stderr and "Traceback" not in res.output


def test_ollama_host_is_the_default_base_url(isolated_home: Path, ollama: FakeOllama) -> None:
    provider = {"api": "ollama", "apiKey": "ollama-local", "models": [{"id": "qwen3:8b"}]}
    write_config(isolated_home, {"ollama": provider}, "ollama/qwen3:8b")
    res = run_cli("agent", "-m", "hi", env={"OLLAMA_HOST": f"127.0.0.1:{ollama.port}"})
    assert res.returncode == 0, res.stderr
    assert len(ollama.chat_requests()) == 1


def test_ollama_host_default_keeps_the_configured_network_policy(
    isolated_home: Path, ollama: FakeOllama
) -> None:
    """``request.allowPrivateNetwork: false`` applies to the OLLAMA_HOST server too: no
    request reaches it, on the chat path as on discovery."""
    provider = {
        "api": "ollama",
        "apiKey": "ollama-local",
        "request": {"allowPrivateNetwork": False},
        "models": [{"id": "qwen3:8b", "contextWindow": 8192}],
    }
    write_config(isolated_home, {"ollama": provider}, "ollama/qwen3:8b")
    env = {"OLLAMA_HOST": f"127.0.0.1:{ollama.port}"}
    res = run_cli("agent", "-m", "hi", env=env)
    assert res.returncode == 1
    assert "allowPrivateNetwork is false" in res.stderr and "Traceback" not in res.output
    assert ollama.requests == []


def test_env_key_is_not_sent_to_a_local_ollama(isolated_home: Path, ollama: FakeOllama) -> None:
    write_config(isolated_home, {"ollama": ollama_provider(ollama)}, "ollama/qwen3:8b")
    res = run_cli("agent", "-m", "hi", env={"OLLAMA_API_KEY": "sk-cloud-secret"})
    assert res.returncode == 0, res.stderr
    assert all("Authorization" not in r.headers for r in ollama.requests)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_stopped_server_says_how_to_start_ollama(isolated_home: Path) -> None:
    port = _closed_port()
    provider = {
        "baseUrl": f"http://127.0.0.1:{port}",
        "api": "ollama",
        "apiKey": "ollama-local",
        "models": [{"id": "qwen3:8b"}],
    }
    write_config(isolated_home, {"ollama": provider}, "ollama/qwen3:8b")
    for args in (("agent", "-m", "hi"), ("models", "list", "--refresh")):
        res = run_cli(*args)
        assert res.returncode == 1, res.output
        assert "Traceback" not in res.output
        assert f"`ollama serve`, port {port}" in res.stderr, res.stderr


def test_discovery_asks_show_eight_at_a_time(isolated_home: Path) -> None:
    from tests.servers.fake_ollama import default_models

    base = default_models()[0]
    many = [{**base, "name": f"model{i}:1b", "digest": f"{i:064x}"} for i in range(20)]
    with FakeOllama(models=many, show_delay=0.3) as fake:
        write_config(isolated_home, {"ollama": ollama_provider(fake)}, "ollama/model0:1b")
        res = run_cli("models", "list", "--refresh", "--json")
        assert res.returncode == 0, res.stderr
        assert len(json.loads(res.stdout)["models"]) == 21  # 20 discovered + the configured row
        assert [r.path for r in fake.requests].count("/api/show") == 20
        assert 1 < fake.max_shows_in_flight <= 8  # in parallel, never more than 8
