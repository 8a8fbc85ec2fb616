"""providers.runtime: resolving specs from openclaw.json, stream_model, and probe."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.conftest import run_cli
from tests.servers.llama_server import LlamaServer
from tests.servers.sse_replay import ReplayServer, Script

from openclaw.config.loader import load_config
from openclaw.errors import AuthError, ModelRefError
from openclaw.providers import get_plugin
from openclaw.providers.generic import PLUGIN as GENERIC
from openclaw.providers.probe import ProbeResult, probe
from openclaw.providers.runtime import resolve_model_spec


def _write(home: Path, providers: dict[str, Any], default: str | None = None) -> None:
    cfg: dict[str, Any] = {"models": {"providers": providers}}
    if default:
        cfg["agents"] = {"defaults": {"model": {"primary": default}}}
    path = home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cfg))


def _provider(base_url: str, *models: str, **extra: Any) -> dict[str, Any]:
    return {
        "baseUrl": base_url,
        "api": "openai-completions",
        "models": [{"id": m, "reasoning": True} for m in models],
        **extra,
    }


def _probe(**kw: Any) -> list[ProbeResult]:
    cfg = load_config()
    return anyio.run(lambda: probe(cfg, **kw))


def test_resolve_default_model(isolated_home: Path) -> None:
    _write(
        isolated_home,
        {
            "vllm": _provider(
                "http://127.0.0.1:8000/v1/",
                "Qwen/Qwen3-8B",
                headers={"X-Provider": "p"},
                request={"headers": {"X-Request": "r"}},
                timeoutSeconds=42,
            )
        },
        default="vllm/Qwen/Qwen3-8B",
    )
    spec = resolve_model_spec(load_config())
    assert spec.key == "vllm/Qwen/Qwen3-8B"
    assert spec.wire_model_id == "Qwen/Qwen3-8B"
    assert spec.base_url == "http://127.0.0.1:8000/v1"
    assert spec.headers == {"X-Provider": "p", "X-Request": "r"}
    assert spec.timeout_seconds == 42
    assert spec.api_key is None
    assert spec.compat["supportsUsageInStreaming"] is True
    assert spec.compat["maxTokensField"] == "max_tokens"


def test_resolve_config_key_and_source(isolated_home: Path) -> None:
    _write(
        isolated_home, {"custom": _provider("http://10.1.2.3:9000/v1", "m", apiKey="sk-abc-123456")}
    )
    spec = resolve_model_spec(load_config(), "custom/m")
    assert spec.api_key == "sk-abc-123456"
    assert "models.providers.custom.apiKey" in spec.credential_source
    assert "sk-abc" not in spec.credential_source
    # a remote custom provider is not local: no usage-in-streaming by default
    assert spec.compat["supportsUsageInStreaming"] is False


def test_marker_is_never_sent(isolated_home: Path) -> None:
    _write(
        isolated_home,
        {"llama-cpp": _provider("http://127.0.0.1:8080/v1", "tiny", apiKey="custom-local")},
    )
    spec = resolve_model_spec(load_config(), "llama-cpp/tiny")
    assert spec.api_key is None
    assert "marker" in spec.credential_source


def test_default_base_url_for_known_ids(isolated_home: Path) -> None:
    _write(isolated_home, {"ollama": {"models": [{"id": "qwen3:8b"}]}})
    spec = resolve_model_spec(load_config(), "ollama/qwen3:8b")
    # provider ollama without an api speaks Ollama's native API at its root URL
    assert spec.base_url == "http://127.0.0.1:11434"
    assert spec.api == "ollama"
    assert spec.compat["maxTokensField"] == "max_tokens"


def test_unknown_provider(isolated_home: Path) -> None:
    _write(isolated_home, {"vllm": _provider("http://127.0.0.1:8000/v1", "a")})
    with pytest.raises(ModelRefError):
        resolve_model_spec(load_config(), "nosuch/model")


def test_no_model_configured(isolated_home: Path) -> None:
    with pytest.raises(ModelRefError, match="No model"):
        resolve_model_spec(load_config())


def test_remote_provider_without_key_is_an_auth_error(isolated_home: Path) -> None:
    _write(isolated_home, {"remote": _provider("https://api.example.com/v1", "m")})
    with pytest.raises(AuthError):
        resolve_model_spec(load_config(), "remote/m")


def test_get_plugin() -> None:
    assert get_plugin("vllm") is GENERIC
    # llama.cpp has its own plugin (the built-in engine mode); a user's server is generic chat.
    llama = get_plugin("llama-cpp", {"baseUrl": "http://127.0.0.1:8080/v1"})
    assert llama.id == "llama-cpp" and isinstance(llama, type(GENERIC))
    lm = get_plugin("lmstudio")
    assert lm is not GENERIC and lm.id == "lmstudio"


@pytest.mark.llama
def test_probe_real_llama_server(isolated_home: Path, llama_server: LlamaServer) -> None:
    _write(isolated_home, {"llama-cpp": _provider(llama_server.base_url, "tiny")})
    (result,) = _probe()
    assert result.status == "ok", result.message
    assert result.provider == "llama-cpp" and result.model == "tiny"
    assert result.latency_ms is not None and result.latency_ms >= 0
    assert result.usage is not None
    assert result.usage.source == "reported"
    assert result.usage.output > 0 and result.usage.input + result.usage.cache_read > 0


def test_probe_stopped_server_is_unreachable_fast(isolated_home: Path) -> None:
    with ReplayServer() as srv:
        url = srv.base_url  # the port is free again once the server stops
    _write(isolated_home, {"llama-cpp": _provider(url, "tiny")})
    t0 = time.monotonic()
    (result,) = _probe()
    assert result.status == "unreachable", result
    assert time.monotonic() - t0 < 10  # a hang guard, not a figure: bench/failfast.py measures it


def test_probe_statuses(isolated_home: Path) -> None:
    with ReplayServer() as auth, ReplayServer() as missing, ReplayServer() as slow:
        auth.enqueue(Script.json(401, {"error": {"message": "Invalid API Key"}}))
        missing.enqueue(Script.json(404, {"error": {"message": "model not found"}}))
        chunk = b'data: {"choices":[{"index":0,"delta":{"content":"O"}}]}\n\n'
        slow.enqueue(Script(chunks=[chunk, chunk], stall_after=1, stall_seconds=4))
        _write(
            isolated_home,
            {
                "vllm": _provider(auth.base_url, "a"),
                "sglang": _provider(missing.base_url, "b"),
                "jan": _provider(slow.base_url, "c"),
                "localai": _provider("http://127.0.0.1:9/v1"),
            },
        )
        t0 = time.monotonic()
        results = {r.provider: r for r in _probe(timeout=1.0)}
        assert time.monotonic() - t0 < 4
    assert results["vllm"].status == "auth"
    assert results["sglang"].status == "not_found"
    assert results["jan"].status == "timeout"
    assert results["localai"].status == "no_model"
    body = auth.requests[0].json
    assert body["messages"] == [{"role": "user", "content": "Reply with OK. Do not use tools."}]
    assert body["max_tokens"] == 8
    assert body["reasoning_effort"] == "none"
    assert body["stream"] is True


def test_probe_trickling_server_is_a_timeout(isolated_home: Path) -> None:
    """Chunks arrive faster than the read timeout but the answer never ends: the overall
    bound stops the probe, and it reports a timeout (not the stream's "aborted")."""
    chunk = b'data: {"choices":[{"index":0,"delta":{"content":"O"}}]}\n\n'
    with ReplayServer() as srv:
        srv.enqueue(Script(chunks=[chunk] * 40, delay=0.4))
        _write(isolated_home, {"jan": _provider(srv.base_url, "c")})
        t0 = time.monotonic()
        (result,) = _probe(timeout=1.0)
        assert time.monotonic() - t0 < 4
    assert result.status == "timeout", result


@pytest.mark.llama
def test_probe_cli_json_real_llama_server(isolated_home: Path, llama_server: LlamaServer) -> None:
    _write(isolated_home, {"llama-cpp": _provider(llama_server.base_url, "tiny")})
    result = run_cli("models", "status", "--probe", "--json")
    assert result.returncode == 0, result.stderr
    (found,) = json.loads(result.stdout)["auth"]["probes"]
    assert (found["provider"], found["model"], found["status"]) == ("llama-cpp", "tiny", "ok")
    assert isinstance(found["latencyMs"], int) and found["latencyMs"] >= 0
    usage = found["usage"]
    assert usage["source"] == "reported"
    assert usage["output"] > 0 and usage["total"] >= usage["input"] + usage["output"]


def test_probe_cli_json_stopped_server(isolated_home: Path) -> None:
    """A closed port is a failed probe: reported as unreachable, and the command exits 1."""
    with ReplayServer() as srv:
        url = srv.base_url
    _write(isolated_home, {"llama-cpp": _provider(url, "tiny"), "vllm": _provider(url, "x")})
    result = run_cli("models", "status", "--probe-provider", "llama-cpp", "--json")
    assert result.returncode == 1, result.stderr
    (found,) = json.loads(result.stdout)["auth"]["probes"]
    assert (found["provider"], found["status"]) == ("llama-cpp", "unreachable")
    assert "Traceback" not in result.stderr


def test_probe_one_provider(isolated_home: Path) -> None:
    _write(isolated_home, {"vllm": _provider("http://127.0.0.1:9/v1", "a")})
    (result,) = _probe(provider="nosuch")
    assert result.status == "error"


def test_probe_blocked_by_network_guard(isolated_home: Path) -> None:
    _write(isolated_home, {"meta": _provider("http://169.254.169.254/v1", "m", apiKey="sk-x")})
    (result,) = _probe()
    assert result.status == "blocked", result


def test_unsupported_api_is_a_clear_error(isolated_home: Path) -> None:
    _write(
        isolated_home,
        {"box": {**_provider("http://127.0.0.1:9/v1", "m"), "api": "anthropic-messages"}},
    )
    spec = resolve_model_spec(load_config(), "box/m")

    async def run() -> list[Any]:
        from openclaw.llm.types import ChatOptions, Context, UserMessage
        from openclaw.providers.runtime import stream_model

        ctx = Context(messages=[UserMessage("hi")])
        return [e async for e in stream_model(spec, ctx, ChatOptions())]

    (event,) = anyio.run(run)
    assert event.type == "error"
    assert "not supported" in event.error.message
    assert "openai-completions" in (event.error.hint or "")


def test_probe_provider_accepts_an_alias_of_the_configured_key(isolated_home: Path) -> None:
    from tests.servers.fake_lmstudio import FakeLMStudio, Reply

    with FakeLMStudio() as fake:
        fake.script(Reply(text="OK"))
        _write(isolated_home, {"llama.cpp": _provider(fake.base_url, "qwen/qwen3.5-9b")})
        (result,) = _probe(provider="llamacpp")
    assert (result.provider, result.status) == ("llama.cpp", "ok"), result.message
