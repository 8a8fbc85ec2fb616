"""Interactive `openclaw onboard` for running servers, through a real pseudo-terminal: the
provider list offers what the scan found (with its models), a vLLM server is set up from it,
and the LM Studio model picker names loaded and configured contexts (issue 12; issue 14
point 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.providers.test_onboard_interactive import CLEAR, DOWN, spawn
from tests.providers.test_scan import ports_env
from tests.servers.fake_lmstudio import FakeLMStudio
from tests.servers.fake_openai_server import FakeOpenAIServer

pexpect = pytest.importorskip("pexpect")


def config(home: Path) -> dict:
    return json.loads((home / ".openclaw" / "openclaw.json").read_text())


def test_scan_offers_the_running_vllm_with_its_models(isolated_home: Path) -> None:
    with FakeOpenAIServer(models={"Qwen/Qwen3-8B": 40960}) as srv:
        child = spawn("--accept-risk", env_extra=ports_env(vllm=srv.port))
        child.expect("Model provider")
        child.expect(f"vLLM at http://127.0.0.1:{srv.port}: Qwen/Qwen3-8B")
        child.send("\r")  # what answers comes first
        child.expect("vLLM base URL")
        child.expect(f"http://127.0.0.1:{srv.port}")
        child.send("\r")
        child.expect("vLLM API key")
        child.send("\r")
        child.expect("Default model")
        child.expect("Qwen/Qwen3-8B \\(served 40960 ctx\\)")
        child.send("\r")
        child.expect("Updated config")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
    cfg = config(isolated_home)
    provider = cfg["models"]["providers"]["vllm"]
    assert provider["baseUrl"] == srv.base_url
    assert provider["apiKey"] == "custom-local"
    assert provider["models"] == [{"id": "Qwen/Qwen3-8B", "name": "Qwen/Qwen3-8B"}]
    assert cfg["agents"]["defaults"]["model"]["primary"] == "vllm/Qwen/Qwen3-8B"


def test_wrong_key_asks_again(isolated_home: Path) -> None:
    with FakeOpenAIServer(flavor="sglang", api_key="k-2") as srv:
        child = spawn("--auth-choice", "sglang", "--accept-risk")
        child.expect("SGLang base URL")
        child.send(CLEAR + srv.base_url + "\r")
        child.expect("SGLang API key")
        child.send("wrong\r")
        child.expect(r"refused the request \(HTTP 401\)")
        child.expect("SGLang API key")
        child.send("k-2\r")
        child.expect("Default model")
        child.send("\r")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        assert [r.header("authorization") for r in srv.requests] == ["Bearer wrong", "Bearer k-2"]
    cfg = config(isolated_home)
    assert "k-2" not in json.dumps(cfg)
    assert cfg["models"]["providers"]["sglang"]["apiKey"] == "SGLANG_API_KEY"


def test_lmstudio_picker_names_loaded_and_configured_contexts_then_loads(
    isolated_home: Path,
) -> None:
    """ "loaded 32768 ctx" is the instance's real context, "configured 8192" the user's; an
    installed model chosen from the list is loaded at the configured context."""
    with FakeLMStudio() as lms:
        child = spawn("--auth-choice", "lmstudio", "--accept-risk")
        child.expect("LM Studio base URL")
        child.send(CLEAR + lms.base_url + "\r")
        child.expect("LM Studio API key")
        child.send("\r")
        child.expect("Preferred context length")
        child.send("8192\r")
        child.expect("Default model")
        child.expect(
            r"qwen/qwen3.5-9b \(GGUF, vision, tool-use, loaded 32768 ctx, configured 8192\)"
        )
        child.expect(r"qwen/qwen3-coder-30b \(MLX, tool-use, not loaded")
        child.send(DOWN + DOWN + "\r")  # loaded first: qwen3.5, gemma, then coder (unloaded)
        child.expect("Updated config")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        loads = [r.json for r in lms.requests if r.path == "/api/v1/models/load"]
        assert loads == [{"model": "qwen/qwen3-coder-30b", "context_length": 8192}]
    cfg = config(isolated_home)
    assert cfg["agents"]["defaults"]["model"]["primary"] == "lmstudio/qwen/qwen3-coder-30b"
