"""A provider configured under an alias of its kind works exactly like the canonical id.

The fake LM Studio also speaks the plain OpenAI API on /v1, so it stands in for a llama.cpp
server here; every command runs as a real subprocess against it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.agent.helpers import write_config
from tests.conftest import run_cli
from tests.servers.fake_lmstudio import FakeLMStudio

from openclaw.config.kinds import (
    LLAMA_CPP,
    LMSTUDIO,
    OPENAI_COMPATIBLE,
    canonical_provider_id,
    find_provider_key,
    kind_for,
)

MODEL = "qwen/qwen3.5-9b"


def _config(home: Path, fake: FakeLMStudio, key: str, ref_provider: str | None = None) -> None:
    provider: dict[str, Any] = {
        "baseUrl": fake.base_url,
        "api": "openai-completions",
        "models": [{"id": MODEL, "name": MODEL, "contextWindow": 32768, "maxTokens": 512}],
    }
    primary = f"{ref_provider or key}/{MODEL}"
    write_config(
        home,
        {
            "models": {"providers": {key: provider}},
            "agents": {"defaults": {"model": {"primary": primary}}},
        },
    )


@pytest.mark.parametrize("alias", ["llamacpp", "llama.cpp", "llama-server", "llama-cpp"])
def test_llama_cpp_aliases_list_probe_and_answer(isolated_home: Path, alias: str) -> None:
    with FakeLMStudio() as fake:
        _config(isolated_home, fake, alias)
        listed = run_cli("models", "list", "--json")
        assert listed.returncode == 0, listed.output
        keys = [row["key"] for row in json.loads(listed.stdout)["models"]]
        assert keys == [f"{alias}/{MODEL}"]

        filtered = run_cli("models", "list", "--json", "--provider", "llama-cpp")
        assert filtered.returncode == 0, filtered.output
        assert [r["key"] for r in json.loads(filtered.stdout)["models"]] == keys

        probed = run_cli("models", "status", "--probe", "--json")
        assert probed.returncode == 0, probed.output
        probes = json.loads(probed.stdout)["auth"]["probes"]
        assert [(p["provider"], p["status"]) for p in probes] == [(alias, "ok")]

        answer = run_cli("agent", "-m", "hi")
        assert answer.returncode == 0, answer.output
        assert "Hello from fake LM Studio." in answer.stdout
        # The generic plugin spoke to /v1 only: no LM Studio preload or REST calls.
        assert not [p for p in fake.paths() if p.startswith("/api/")]


def test_a_ref_in_another_spelling_finds_the_configured_key(isolated_home: Path) -> None:
    with FakeLMStudio() as fake:
        _config(isolated_home, fake, "llama.cpp", ref_provider="llamacpp")
        answer = run_cli("agent", "-m", "hi")
        assert answer.returncode == 0, answer.output
        assert "Hello from fake LM Studio." in answer.stdout
        # The key the user wrote is kept as written.
        saved = json.loads((isolated_home / ".openclaw" / "openclaw.json").read_text())
        assert list(saved["models"]["providers"]) == ["llama.cpp"]


def test_lm_studio_alias_lists_probes_and_answers_as_lm_studio(isolated_home: Path) -> None:
    with FakeLMStudio() as fake:
        _config(isolated_home, fake, "lm-studio")
        listed = run_cli("models", "list", "--json", "--provider", "lmstudio")
        assert listed.returncode == 0, listed.output
        assert [r["key"] for r in json.loads(listed.stdout)["models"]] == [f"lm-studio/{MODEL}"]

        probed = run_cli("models", "status", "--probe", "--json")
        assert probed.returncode == 0, probed.output
        probes = json.loads(probed.stdout)["auth"]["probes"]
        assert [(p["provider"], p["status"]) for p in probes] == [("lm-studio", "ok")]

        answer = run_cli("agent", "-m", "hi")
        assert answer.returncode == 0, answer.output
        assert "Hello from fake LM Studio." in answer.stdout
        # LM Studio behaviour (model check through its REST API) follows the alias.
        assert fake.count("GET", "/api/v1/models") >= 1


def test_kind_selection_is_by_id_then_api_never_by_port() -> None:
    assert kind_for("llamacpp") is LLAMA_CPP
    assert kind_for("LM-Studio") is LMSTUDIO
    assert kind_for("box", {"api": "lmstudio"}) is LMSTUDIO
    assert kind_for("box", {"baseUrl": "http://127.0.0.1:1234/v1"}) is OPENAI_COMPATIBLE
    assert canonical_provider_id("llama.cpp") == "llama-cpp"
    assert canonical_provider_id("my-box") == "my-box"
    assert find_provider_key({"llama.cpp": {}}, "llama-server") == "llama.cpp"
    assert find_provider_key({"llama-cpp": {}, "llamacpp": {}}, "llamacpp") == "llamacpp"
    assert find_provider_key({"vllm": {}}, "sglang") is None
