"""Issue 14 point 13: hints follow the provider's kind and the URL actually configured.

No hint names LM Studio's port 1234 or ``lms`` for a llama.cpp, vLLM or Ollama provider, and
LM Studio's own hints use the configured port; a missing key is explained with the
provider's own key variable and ``--auth-choice``, never LM Studio's.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from openclaw.auth.resolve import resolve_credential
from openclaw.config.loader import load_config
from openclaw.errors import AuthError
from tests.conftest import run_cli
from tests.servers.fake_lmstudio import FakeLMStudio

from .conftest import provider_config, write_config


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


START = {
    "llama-cpp": "llama-server -m MODEL.gguf --port {port}",
    "vllm": "vllm serve MODEL --port {port}",
    "ollama": "ollama serve`, port {port}",
    "lmstudio": "lms server start --port {port}",
}


@pytest.mark.parametrize("kind", list(START))
@pytest.mark.parametrize("command", [("agent", "-m", "hi"), ("models", "list", "--refresh")])
def test_unreachable_hint_names_this_kind_and_port(
    isolated_home: Path, kind: str, command: tuple[str, ...]
) -> None:
    port = closed_port()
    write_config(isolated_home, provider_config(f"http://127.0.0.1:{port}/v1", provider=kind))
    result = run_cli(*command)
    assert result.returncode == 1
    assert START[kind].format(port=port) in result.stderr, result.stderr
    assert "1234" not in result.output
    if kind != "lmstudio":
        assert "lms " not in result.output and "LM Studio" not in result.output


@pytest.mark.parametrize(
    ("provider", "named"),
    [("vllm", "VLLM_API_KEY"), ("llama-cpp", "LLAMA_SERVER_API_KEY"), ("custom", "apiKey")],
)
def test_rejected_without_key_names_this_providers_key(
    isolated_home: Path, provider: str, named: str
) -> None:
    with FakeLMStudio(api_key="sk-server-side-0001") as server:
        data = provider_config(server.base_url, provider=provider)
        del data["models"]["providers"][provider]["apiKey"]
        write_config(isolated_home, data)
        result = run_cli("agent", "-m", "hi")
    assert result.returncode == 1
    hint = next(line for line in result.stderr.splitlines() if line.startswith("Hint:"))
    assert named in hint, hint
    assert f"models.providers.{provider}.apiKey" in hint
    assert "lmstudio" not in hint and "LM_API_TOKEN" not in hint


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("vllm", "Set VLLM_API_KEY (or models.providers.vllm.apiKey), or run "
                 "`openclaw onboard --auth-choice vllm`."),
        ("sglang", "Set SGLANG_API_KEY (or models.providers.sglang.apiKey), or run "
                   "`openclaw onboard --auth-choice sglang`."),
        ("custom", "Set models.providers.custom.apiKey, or run "
                   "`openclaw onboard --auth-choice custom-api-key`."),
    ],
)  # fmt: skip
def test_no_key_error_hint_per_kind(isolated_home: Path, provider: str, expected: str) -> None:
    # A public URL (never contacted here): no key means an error before any request.
    write_config(isolated_home, provider_config("https://models.example.com/v1", provider=provider))
    data = load_config()
    del data.data["models"]["providers"][provider]["apiKey"]
    with pytest.raises(AuthError) as caught:
        resolve_credential(data, provider, required=True)
    assert caught.value.hint == expected
