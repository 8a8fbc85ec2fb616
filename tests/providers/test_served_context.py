"""The served context from ``/v1/models``: vLLM/SGLang ``max_model_len`` and llama-server
``meta.n_ctx`` win over the training context, explicit config wins over all, impossible
numbers are ignored; ``models list --refresh`` shows it (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import run_cli
from tests.servers.fake_openai_server import FakeOpenAIServer

from openclaw.providers.served import parse_model_list, props_context

# llama-server's answers as captured (backends.md §3, captures 02 and 03), trimmed.
LLAMA_MODELS = {
    "models": [{"name": "tiny", "model": "tiny", "capabilities": ["completion"]}],
    "object": "list",
    "data": [
        {
            "id": "tiny",
            "aliases": ["tiny"],
            "tags": [],
            "object": "model",
            "created": 1796003311,
            "owned_by": "llamacpp",
            "meta": {"vocab_type": 1, "n_vocab": 377, "n_ctx": 4096, "n_ctx_train": 4096,
                     "n_embd": 64, "n_params": 130496, "size": 521984, "ftype": "all F32"},
        }
    ],
}  # fmt: skip
LLAMA_PROPS = {
    "default_generation_settings": {"params": {"temperature": 0.8, "top_k": 40}, "n_ctx": 4096},
    "total_slots": 1,
    "model_alias": "tiny",
}


def write_config(home: Path, providers: dict[str, Any]) -> Path:
    path = home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"models": {"providers": providers}}))
    return path


def listed(provider: str) -> dict[str, dict[str, Any]]:
    result = run_cli("models", "list", "--refresh", "--json", "--provider", provider)
    assert result.returncode == 0, result.stderr
    return {m["key"]: m for m in json.loads(result.stdout)["models"]}


def test_llama_server_capture_gives_served_over_training() -> None:
    """The captured llama-server answer (backends.md capture 02): meta.n_ctx is served."""
    body = json.loads(json.dumps(LLAMA_MODELS))
    body["data"][0]["meta"]["n_ctx"] = 2048  # served smaller than trained (-c 2048)
    [model] = parse_model_list(json.dumps(body).encode())
    assert (model.id, model.context, model.context_source) == ("tiny", 2048, "served")
    del body["data"][0]["meta"]["n_ctx"]
    [model] = parse_model_list(json.dumps(body).encode())
    assert (model.context, model.context_source) == (4096, "training")


def test_props_capture_gives_the_slot_context() -> None:
    assert props_context(json.dumps(LLAMA_PROPS).encode()) == 4096
    assert props_context(b'{"default_generation_settings": {"n_ctx": "4096"}}') is None


@pytest.mark.parametrize(
    "value", [-1, 0, float("nan"), 1e30, 2**40, "32768", True, None, [4096], 4096.5]
)
def test_impossible_context_numbers_are_ignored(value: Any) -> None:
    body = json.dumps({"object": "list", "data": [{"id": "m", "max_model_len": value}]})
    [model] = parse_model_list(body.encode())
    assert model.context is None and model.context_source == ""


def test_hostile_ids_are_skipped() -> None:
    items = [{"id": "ok"}, {"id": "a\nb"}, {"id": "x" * 600}, {"id": "a//b"}, {"id": 5}, "s"]
    models = parse_model_list(json.dumps({"data": items}).encode())
    assert [m.id for m in models] == ["ok"]


@pytest.mark.parametrize("flavor", ["vllm", "sglang"])
def test_models_list_refresh_shows_max_model_len(isolated_home: Path, flavor: str) -> None:
    """A provider row without contextWindow: --refresh shows the served max_model_len; the
    configured headers and the key go with the discovery request."""
    with FakeOpenAIServer(flavor=flavor, models={"Qwen/Qwen3-8B": 40960}, api_key="k-1") as srv:
        write_config(
            isolated_home,
            {
                flavor: {
                    "baseUrl": srv.base_url,
                    "apiKey": "k-1",
                    "headers": {"X-Team": "blue"},
                    "models": [{"id": "Qwen/Qwen3-8B", "name": "Qwen/Qwen3-8B"}],
                }
            },
        )
        rows = listed(flavor)
        [request] = [r for r in srv.requests if r.path == "/v1/models"]
        assert request.header("authorization") == "Bearer k-1"
        assert request.header("x-team") == "blue"
    assert rows[f"{flavor}/Qwen/Qwen3-8B"]["contextWindow"] == 40960
    table = run_cli("models", "list", "--provider", flavor)
    assert "41k" not in table.stdout  # without --refresh: nothing asked, nothing known


def test_explicit_config_wins_and_impossible_numbers_stay_unknown(isolated_home: Path) -> None:
    models = {"pinned": 40960, "hostile": -5, "fresh": 8192}
    with FakeOpenAIServer(models=models) as srv:
        write_config(
            isolated_home,
            {
                "vllm": {
                    "baseUrl": srv.base_url,
                    "models": [{"id": "pinned", "name": "pinned", "contextWindow": 16384}],
                }
            },
        )
        rows = listed("vllm")
    assert rows["vllm/pinned"]["contextWindow"] == 16384
    assert rows["vllm/fresh"]["contextWindow"] == 8192
    assert rows["vllm/hostile"]["contextWindow"] is None


def test_provider_level_context_window_wins_too(isolated_home: Path) -> None:
    with FakeOpenAIServer(models={"m": 40960}) as srv:
        write_config(
            isolated_home,
            {"sglang": {"baseUrl": srv.base_url, "contextWindow": 12000, "models": []}},
        )
        assert listed("sglang")["sglang/m"]["contextWindow"] == 12000


def test_older_llama_server_served_context_from_props(isolated_home: Path) -> None:
    """No meta.n_ctx in the list: /props gives the served context, which beats the training
    context the list does carry."""
    with FakeOpenAIServer(flavor="llamacpp-old", models={"tiny": 8192}) as srv:
        write_config(isolated_home, {"llama-cpp": {"baseUrl": srv.base_url, "models": []}})
        rows = listed("llama-cpp")
        assert srv.paths() == ["GET /v1/models", "GET /props"]
    assert rows["llama-cpp/tiny"]["contextWindow"] == 8192


@pytest.mark.llama
def test_real_llama_server_served_context_in_refresh(isolated_home: Path, llama_server) -> None:
    """Onboarding writes no contextWindow for llama-server; `models list --refresh` then shows
    the context it serves (-c 4096)."""
    result = run_cli(
        "onboard", "--non-interactive", "--accept-risk", "--auth-choice",
        "llama-cpp-existing-server", "--custom-base-url", llama_server.base_url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    cfg = json.loads((isolated_home / ".openclaw" / "openclaw.json").read_text())
    [row] = cfg["models"]["providers"]["llama-cpp"]["models"]
    assert row == {"id": "tiny", "name": "tiny"}
    assert listed("llama-cpp")["llama-cpp/tiny"]["contextWindow"] == 4096
