"""Onboarding Ollama as a new user would, against the fake Ollama: verify the server, write
provider ``ollama`` with ``api: "ollama"`` and no contextWindow, then chat; failures leave the
config byte-for-byte unchanged; interactive setup lists models and offers to pull one."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.servers.fake_ollama import FakeOllama

from openclaw.errors import OpenClawError
from openclaw.llm.ollama_context import NUM_CTX_CAP
from openclaw.providers.ollama.onboard import onboard
from openclaw.providers.onboarding import OnboardRequest


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


def config_path(home: Path) -> Path:
    return home / ".openclaw" / "openclaw.json"


def request(fake: FakeOllama, model: str | None = "qwen3:8b", **kw: object) -> OnboardRequest:
    return OnboardRequest(
        choice="ollama", interactive=False, base_url=fake.base_url, model_id=model, **kw
    )  # type: ignore[arg-type]


def check_written(home: Path, fake: FakeOllama, model: str = "qwen3:8b") -> dict:
    data = json.loads(config_path(home).read_text())
    provider = data["models"]["providers"]["ollama"]
    assert provider["api"] == "ollama"
    assert provider["baseUrl"] == fake.base_url
    assert provider["apiKey"] == "ollama-local"
    assert provider["models"] == [{"id": model, "name": model}]  # no contextWindow
    assert data["agents"]["defaults"]["model"]["primary"] == f"ollama/{model}"
    return data


def test_onboard_function_then_agent_hi(isolated_home: Path, ollama: FakeOllama) -> None:
    outcome = onboard(request(ollama))
    assert outcome.default_ref == "ollama/qwen3:8b" and outcome.provider_id == "ollama"
    check_written(isolated_home, ollama)
    assert ollama.paths()[0] == "/api/tags"  # verified before anything was written
    res = run_cli("agent", "-m", "hi", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["meta"]["agentMeta"]["contextTokens"] == NUM_CTX_CAP
    assert ollama.chat_requests()[0].json["options"]["num_ctx"] == NUM_CTX_CAP
    # onboarding cached the model's maximum: the chat needed no /api/show of its own
    assert ollama.paths().count("/api/show") == 1


# As a new user would: the README's commands, through the registry-driven onboard command.
def test_new_user_onboards_with_the_cli_then_chats(isolated_home: Path, ollama: FakeOllama) -> None:
    res = run_cli(
        "onboard", "--non-interactive", "--accept-risk", "--auth-choice", "ollama",
        "--custom-base-url", ollama.base_url, "--custom-model-id", "qwen3:8b",
    )  # fmt: skip
    assert res.returncode == 0, res.output
    check_written(isolated_home, ollama)
    res = run_cli("agent", "-m", "hi")
    assert res.returncode == 0, res.stderr
    assert "Hello from Ollama." in res.stdout


def test_model_not_installed_names_ollama_pull_and_writes_nothing(
    isolated_home: Path, ollama: FakeOllama
) -> None:
    path = config_path(isolated_home)
    path.parent.mkdir(parents=True)
    before = b'{\n  // mine\n  "gateway": {"mode": "local"}\n}\n'
    path.write_bytes(before)
    with pytest.raises(OpenClawError) as info:
        onboard(request(ollama, "mistral:7b"))
    assert "`ollama pull mistral:7b`" in info.value.message
    assert path.read_bytes() == before


def test_unreachable_server_writes_nothing(isolated_home: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    req = OnboardRequest(
        choice="ollama", interactive=False, base_url=f"http://127.0.0.1:{port}", model_id="x"
    )
    with pytest.raises(OpenClawError) as info:
        onboard(req)
    assert "could not be reached" in info.value.message and "ollama serve" in (
        info.value.hint or ""
    )
    assert not config_path(isolated_home).exists()


def test_pasted_v1_is_dropped_and_latest_tag_accepted(
    isolated_home: Path, ollama: FakeOllama
) -> None:
    req = OnboardRequest(
        choice="ollama",
        interactive=False,
        base_url=ollama.base_url + "/v1",
        model_id="nomic-embed-text",
    )
    onboard(req)
    provider = json.loads(config_path(isolated_home).read_text())["models"]["providers"]["ollama"]
    assert provider["baseUrl"] == ollama.base_url


def test_without_model_id_the_first_chat_model_is_chosen(
    isolated_home: Path, ollama: FakeOllama
) -> None:
    ollama.models.reverse()  # the embedding model is listed first
    outcome = onboard(request(ollama, None))
    assert outcome.default_ref == "ollama/llava:7b"


def test_interactive_lists_models_and_pulls_a_missing_one(
    isolated_home: Path, ollama: FakeOllama
) -> None:
    ollama.pullable["gemma3:1b"] = {
        "name": "gemma3:1b",
        "digest": "8648f39daa8fbf5b18c7b4e6a8fb4990c692751d49917417b8842ca5758e7ffc",
        "size": 815_319_791,
        "details": {"family": "gemma3", "parameter_size": "1B"},
        "model_info": {"gemma3.context_length": 32768},
        "capabilities": ["completion"],
    }
    script = (
        "from openclaw.providers.ollama.onboard import onboard\n"
        "from openclaw.providers.onboarding import OnboardRequest\n"
        "print(onboard(OnboardRequest(choice='ollama', interactive=True)).default_ref)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input="\ngemma3:1b\ny\n",  # URL: the OLLAMA_HOST default; model; pull: yes
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "OLLAMA_HOST": ollama.base_url},
    )
    assert proc.returncode == 0, proc.stderr
    assert "qwen3:8b (5.2 GB 8.2B; tools, thinking, max context 40960)" in proc.stdout
    assert "ollama/gemma3:1b" in proc.stdout
    assert "success" in proc.stderr and "815.3 MB" in proc.stderr  # pull progress lines
    pulls = [r.json for r in ollama.requests if r.path == "/api/pull"]
    assert pulls == [{"model": "gemma3:1b", "stream": True}]
    check_written(isolated_home, ollama, "gemma3:1b")


def test_context_flag_becomes_params_num_ctx_sent_as_written(
    isolated_home: Path, ollama: FakeOllama
) -> None:
    onboard(request(ollama, context=65536))
    provider = json.loads(config_path(isolated_home).read_text())["models"]["providers"]["ollama"]
    assert provider["models"] == [
        {"id": "qwen3:8b", "name": "qwen3:8b", "params": {"num_ctx": 65536}}
    ]
    assert run_cli("agent", "-m", "hi").returncode == 0
    assert ollama.chat_requests()[0].json["options"]["num_ctx"] == 65536
