"""The LM Studio page's config snippets, discovery for `models list --refresh` and the
probe details (lmstudio-page.md; lmstudio.md §3.7, §7.5; §10 items 19-29, 54, 70)."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import replace
from pathlib import Path

import anyio
import pytest
from tests.conftest import run_cli
from tests.providers.lmstudio_helpers import inst, llm, make_spec
from tests.servers.fake_lmstudio import FakeLMStudio

from openclaw.config.loader import load_config
from openclaw.errors import ProviderAuthError, UnreachableError
from openclaw.llm.types import ChatOptions, Context, UserMessage
from openclaw.providers import get_plugin
from openclaw.providers.lmstudio import discovery
from openclaw.providers.lmstudio.plugin import PLUGIN
from openclaw.providers.runtime import resolve_model_spec, stream_model

TOKEN = "your-lm-studio-api-token"


def write_raw(home: Path, text: str) -> None:
    path = home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def chat(ref: str) -> list:
    cfg = load_config()
    spec = resolve_model_spec(cfg, ref)

    async def main() -> list:
        ctx = Context(messages=[UserMessage("hi")])
        return [ev async for ev in stream_model(spec, ctx, ChatOptions())]

    return anyio.run(main)


def test_explicit_configuration_snippet(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Explicit config (JSON5, ${LM_API_TOKEN}) loads; the plugin is chosen; the token goes
    out as Bearer on check, load and chat; the 128000 window is the requested context."""
    with FakeLMStudio(api_key=TOKEN) as lms:
        lms.set_models([llm("qwen/qwen3-coder-next", max_ctx=262144)])
        write_raw(
            isolated_home,
            f"""{{
  models: {{
    providers: {{
      lmstudio: {{
        baseUrl: "{lms.base_url}",
        apiKey: "${{LM_API_TOKEN}}",
        api: "openai-completions",
        models: [
          {{
            id: "qwen/qwen3-coder-next",
            name: "Qwen 3 Coder Next",
            reasoning: false,
            input: ["text"],
            cost: {{ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }},
            contextWindow: 128000,
            maxTokens: 8192,
          }},
        ],
      }},
    }},
  }},
}}
""",
        )
        monkeypatch.setenv("LM_API_TOKEN", TOKEN)
        listed = run_cli("models", "list")
        assert listed.returncode == 0, listed.stderr
        assert "lmstudio/qwen/qwen3-coder-next" in listed.stdout
        assert get_plugin("lmstudio", {}).id == "lmstudio"
        events = chat("lmstudio/qwen/qwen3-coder-next")
        assert events[-1].type == "done", events[-1]
        assert lms.paths() == [
            "GET /api/v1/models",
            "POST /api/v1/models/load",
            "POST /v1/chat/completions",
        ]
        assert {r.header("authorization") for r in lms.requests} == {f"Bearer {TOKEN}"}
        assert lms.requests[1].json == {"model": "qwen/qwen3-coder-next", "context_length": 128000}


def test_jit_snippet_leaves_loading_to_lm_studio(isolated_home: Path) -> None:
    """`params: { preload: false }`: no native API call; LM Studio's JIT loads the model."""
    with FakeLMStudio() as lms:
        lms.unload("qwen/qwen3.5-9b")
        write_raw(
            isolated_home,
            f"""{{
  models: {{
    providers: {{
      lmstudio: {{
        baseUrl: "{lms.base_url}",
        api: "openai-completions",
        params: {{ preload: false }},
        models: [{{ id: "qwen/qwen3.5-9b" }}],
      }},
    }},
  }},
}}
""",
        )
        events = chat("lmstudio/qwen/qwen3.5-9b")
        assert events[-1].type == "done"
        assert lms.paths() == ["POST /v1/chat/completions"]
        assert lms.requests[0].header("authorization") is None
        assert lms.load_count == 1  # the server's JIT, not us


LAN = """{
  models: {
    providers: {
      lmstudio: {
        baseUrl: "http://gpu-box.local:1234/v1",
        apiKey: "lmstudio",
        api: "openai-completions",
        models: [{ id: "qwen/qwen3.5-9b" }],
      },
    },
  },
}
"""


def test_lan_host_snippet_trust(isolated_home: Path) -> None:
    """The configured LAN origin is trusted, other ports and metadata addresses are not
    (checked with `openclaw net check --resolve`; no connection leaves the machine)."""
    write_raw(isolated_home, LAN)
    resolve = ("--resolve", "gpu-box.local=192.168.1.50")
    ok = run_cli(
        "net",
        "check",
        "http://gpu-box.local:1234/v1/chat/completions",
        "--provider",
        "lmstudio",
        *resolve,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    native = run_cli(
        "net",
        "check",
        "http://gpu-box.local:1234/api/v1/models/load",
        "--provider",
        "lmstudio",
        *resolve,
    )
    assert native.returncode == 0, native.stdout + native.stderr
    other_port = run_cli(
        "net", "check", "http://gpu-box.local:8080/v1/models", "--provider", "lmstudio", *resolve
    )
    assert other_port.returncode == 1
    metadata = run_cli(
        "net",
        "check",
        "http://gpu-box.local:1234/v1/models",
        "--provider",
        "lmstudio",
        "--resolve",
        "gpu-box.local=169.254.169.254",
    )
    assert metadata.returncode == 1
    listed = run_cli("models", "list")
    assert listed.returncode == 0 and "lmstudio/qwen/qwen3.5-9b" in listed.stdout


# ---- discovery ----------------------------------------------------------------------------------


def run(coro_fn, *args, **kwargs):
    return anyio.run(lambda: coro_fn(*args, **kwargs))


def test_discovery_request_shape(fake_lmstudio: FakeLMStudio) -> None:
    """§10 item 19: exactly GET /api/v1/models with only the Bearer header of ours."""
    result = run(discovery.fetch_models, fake_lmstudio.base_url, api_key="lm-token")
    assert result.reachable and result.status == 200 and len(result.models) == 4
    (req,) = fake_lmstudio.requests
    assert (req.method, req.path) == ("GET", "/api/v1/models")
    assert req.header("authorization") == "Bearer lm-token"
    assert req.header("content-type") is None


def test_discovery_result_classes(fake_lmstudio: FakeLMStudio) -> None:
    """§3.3 / §10 items 22, 24-26: status, malformed bodies, plain-object filtering."""
    fake_lmstudio.override("/api/v1/models", 503, "busy")
    result = run(discovery.fetch_models, fake_lmstudio.base_url)
    assert (result.reachable, result.status, result.models) == (True, 503, [])
    for body in ("{ nope", "[]", '{"models": {}}', '{"models": [null]}'):
        fake_lmstudio.override("/api/v1/models", 200, body)
        bad = run(discovery.fetch_models, fake_lmstudio.base_url)
        assert bad.reachable is False
        assert str(bad.error) == "LM Studio model list: malformed JSON response"
    m = {"type": "llm", "key": "m", "max_context_length": 32768}
    fake_lmstudio.override("/api/v1/models", 200, json.dumps({"models": [None, m, [], "x", 42]}))
    mixed = run(discovery.fetch_models, fake_lmstudio.base_url)
    assert (mixed.reachable, mixed.status, mixed.models) == (True, 200, [m])
    fake_lmstudio.override("/api/v1/models", 200, '{"models": []}')
    empty = run(discovery.fetch_models, fake_lmstudio.base_url)
    assert (empty.reachable, empty.status, empty.models) == (True, 200, [])


def test_discovery_unreachable_is_fast() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    result = run(discovery.fetch_models, f"http://127.0.0.1:{port}/v1")
    assert result.reachable is False and result.status is None
    assert isinstance(result.error, UnreachableError)
    assert (
        time.monotonic() - started < 10
    )  # a hang guard, not a figure: bench/failfast.py measures it


def test_timeout_clamp() -> None:
    """§10 items 28/29: huge timeouts clamp to 2_147_000_000 ms."""
    assert discovery.clamp_timeout(2**53, 5) == 2_147_000.0
    assert discovery.clamp_timeout(None, 5) == 5
    assert discovery.clamp_timeout(0, 5) == 0.001


def test_discovery_ignores_environment_proxies(
    fake_lmstudio: FakeLMStudio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§10 item 54: HTTP(S)_PROXY never reroutes the local catalog."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    result = run(discovery.fetch_models, fake_lmstudio.base_url, api_key="local-test-token")
    assert result.reachable and result.status == 200
    assert [r.header("authorization") for r in fake_lmstudio.requests] == [
        "Bearer local-test-token"
    ]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, None),
        ({"api_key": "  sk-test  "}, {"Authorization": "Bearer sk-test"}),
        ({"api_key": "   "}, None),
        ({"api_key": "lmstudio-local"}, None),
        ({"api_key": "LM_API_TOKEN"}, None),
        (
            {"api_key": "lmstudio-local", "headers": {"Authorization": "Bearer proxy-token"}},
            {"Authorization": "Bearer proxy-token"},
        ),
        (
            {
                "api_key": "sk-new",
                "json_body": True,
                "headers": {"authorization": "Bearer sk-old", "X-Proxy": "proxy-token"},
            },
            {
                "Content-Type": "application/json",
                "X-Proxy": "proxy-token",
                "Authorization": "Bearer sk-new",
            },
        ),
    ],
)
def test_auth_header_builder(kwargs: dict, expected: dict | None) -> None:
    """§3.2 / §10 item 70."""
    assert discovery.build_auth_headers(**kwargs) == expected


def _lmstudio_config(home: Path, base: str, **extra: object) -> None:
    write_raw(
        home,
        json.dumps(
            {"models": {"providers": {"lmstudio": {"baseUrl": base, "models": [], **extra}}}}
        ),
    )


def test_runtime_discovery_entries(isolated_home: Path, fake_lmstudio: FakeLMStudio) -> None:
    """PLUGIN.discover: runtime-mode rows with tags, through the network guard."""
    _lmstudio_config(isolated_home, fake_lmstudio.server_url + "/api/v1/")
    entries = run(PLUGIN.discover, load_config(), "lmstudio")
    assert [e.model_id for e in entries] == [
        "qwen/qwen3.5-9b",
        "qwen/qwen3-coder-30b",
        "google/gemma-3-1b",
    ]
    first = entries[0]
    assert first.row["name"] == "Qwen3.5 9B (GGUF, vision, tool-use, loaded)"
    assert first.discovery_tags == ["GGUF", "vision", "tool-use", "loaded"]
    assert first.origin == "discovered"
    assert first.provider_config["baseUrl"] == fake_lmstudio.base_url
    assert first.row["compat"]["supportsUsageInStreaming"] is True


def test_runtime_discovery_failures_say_why(isolated_home: Path) -> None:
    """Issue #5 item 7: unreachable vs rejected credentials."""
    with FakeLMStudio(api_key="right") as lms:
        _lmstudio_config(isolated_home, lms.base_url, apiKey="wrong-key-123")
        with pytest.raises(ProviderAuthError, match="rejected the credentials"):
            run(PLUGIN.discover, load_config(), "lmstudio")
        base = lms.base_url
    _lmstudio_config(isolated_home, base)
    with pytest.raises(UnreachableError, match="unreachable"):
        run(PLUGIN.discover, load_config(), "lmstudio")


def test_models_list_refresh_cli(isolated_home: Path, fake_lmstudio: FakeLMStudio) -> None:
    """`openclaw models list --refresh` adds discovered models to an empty configured list."""
    _lmstudio_config(isolated_home, fake_lmstudio.base_url)
    result = run_cli("models", "list", "--refresh")
    assert result.returncode == 0, result.stderr
    assert "lmstudio/qwen/qwen3-coder-30b" in result.stdout
    assert fake_lmstudio.paths() == ["GET /api/v1/models"]
    port = fake_lmstudio.port
    fake_lmstudio.stop()
    down = run_cli("models", "list", "--refresh")
    assert "unreachable" in down.stderr and str(port) in down.stderr


def test_probe_details(fake_lmstudio: FakeLMStudio) -> None:
    """Issue #5 item 9: reachable, loaded instances and contexts, the model's state."""
    fake_lmstudio.model("qwen/qwen3.5-9b")["loaded_instances"].append(
        inst("qwen/qwen3.5-9b:2", 65536)
    )
    spec = make_spec(
        fake_lmstudio, "qwen/qwen3.5-9b", row={"id": "qwen/qwen3.5-9b", "contextTokens": 32768}
    )
    details = run(PLUGIN.probe_details, spec)
    assert details["reachable"] is True and details["status"] == 200
    assert details["loaded"] == [
        {"model": "qwen/qwen3.5-9b", "instance": "qwen/qwen3.5-9b", "context": 32768},
        {"model": "qwen/qwen3.5-9b", "instance": "qwen/qwen3.5-9b:2", "context": 65536},
        {"model": "google/gemma-3-1b", "instance": "google/gemma-3-1b", "context": 4096},
    ]
    assert details["model"] == {
        "key": "qwen/qwen3.5-9b",
        "installed": True,
        "loaded": True,
        "loadedContext": 65536,
        "maxContext": 262144,
        "requestedContext": 32768,
    }
    fake_lmstudio.stop()
    started = time.monotonic()
    down = run(PLUGIN.probe_details, spec)
    assert (
        time.monotonic() - started < 10
    )  # a hang guard, not a figure: bench/failfast.py measures it
    assert down["reachable"] is False and "unreachable" in down["error"]


def test_probe_sends_the_configured_authorization_header() -> None:
    """§9.1: a configured Authorization header wins over a stale env/profile key on the probe
    too (the same rule as chat), so the probe does not report a 401 the chat never gets."""
    with FakeLMStudio(api_key="proxy-token") as lms:
        spec = make_spec(lms, "qwen/qwen3.5-9b", api_key="sk-stale-env-key")
        spec = replace(spec, headers={"Authorization": "Bearer proxy-token"})
        details = run(PLUGIN.probe_details, spec)
        assert details["reachable"] is True and details["status"] == 200
        assert [r.header("authorization") for r in lms.requests] == ["Bearer proxy-token"]


def test_probe_cli_server_down_is_fast(isolated_home: Path) -> None:
    """With the server down, `models status --probe` reports it in under 3 seconds."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_raw(
        isolated_home,
        json.dumps(
            {
                "models": {
                    "providers": {
                        "lmstudio": {
                            "baseUrl": f"http://127.0.0.1:{port}/v1",
                            "apiKey": "lmstudio-local",
                            "models": [{"id": "qwen/qwen3.5-9b"}],
                        }
                    }
                },
                "agents": {"defaults": {"model": {"primary": "lmstudio/qwen/qwen3.5-9b"}}},
            }
        ),
    )
    started = time.monotonic()
    result = run_cli("models", "status", "--probe", env={k: v for k, v in os.environ.items()})
    assert (
        time.monotonic() - started < 20
    )  # a hang guard, not a figure: bench/failfast.py measures it
    assert str(port) in result.stdout + result.stderr
