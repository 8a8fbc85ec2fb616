"""`openclaw onboard --non-interactive` for servers that already run: vLLM, SGLang, llama.cpp
`llama-server` and custom OpenAI-compatible endpoints (issue 12), as a new user would
(subprocess, temp HOME, a faithful fake on 127.0.0.1)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.servers.fake_openai_server import FakeOpenAIServer

KEY = "sk-vllm-fake-KEY-0001"


def onboard(choice: str, *args: str, env: dict[str, str] | None = None):
    return run_cli(
        "onboard", "--non-interactive", "--accept-risk", "--auth-choice", choice, *args, env=env
    )


def config_path(home: Path) -> Path:
    return home / ".openclaw" / "openclaw.json"


def profiles_path(home: Path) -> Path:
    return home / ".openclaw" / "agents" / "main" / "agent" / "auth-profiles.json"


def seed(home: Path) -> bytes:
    path = config_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = b'{\n  // mine\n  agents: {defaults: {model: "other/model"}},\n}\n'
    path.write_bytes(content)
    return content


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("choice", "flavor"), [("vllm", "vllm"), ("sglang", "sglang")])
def test_keyless_server_writes_rows_without_served_context(
    isolated_home: Path, choice: str, flavor: str
) -> None:
    """One verification request; rows with id and name, no contextWindow (the server reports
    max_model_len); a keyless marker; the default model set."""
    with FakeOpenAIServer(flavor=flavor, models={"Qwen/Qwen3-8B": 40960, "other": 8192}) as srv:
        result = onboard(choice, "--custom-base-url", srv.origin)  # bare origin: /v1 added
        assert result.returncode == 0, result.stderr
        assert srv.paths() == ["GET /v1/models"]
        assert srv.requests[0].header("authorization") is None
    assert f"Default {'vLLM' if flavor == 'vllm' else 'SGLang'} model: Qwen/Qwen3-8B" in (
        result.stdout
    )
    cfg = json.loads(config_path(isolated_home).read_text())
    provider = cfg["models"]["providers"][choice]
    assert provider["baseUrl"] == srv.base_url
    assert provider["api"] == "openai-completions"
    assert provider["apiKey"] == "custom-local" and "auth" not in provider
    assert provider["models"] == [
        {"id": "Qwen/Qwen3-8B", "name": "Qwen/Qwen3-8B"},
        {"id": "other", "name": "other"},
    ]
    assert cfg["agents"]["defaults"]["model"] == {"primary": f"{choice}/Qwen/Qwen3-8B"}
    assert not profiles_path(isolated_home).exists()


def test_key_from_the_kinds_variable_goes_to_the_profile_only(isolated_home: Path) -> None:
    with FakeOpenAIServer(api_key=KEY) as srv:
        result = onboard(
            "vllm", "--custom-base-url", srv.base_url, "--custom-model-id", "Qwen/Qwen3-8B",
            env={"VLLM_API_KEY": KEY},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert [r.header("authorization") for r in srv.requests] == [f"Bearer {KEY}"]
    assert KEY not in result.stdout + result.stderr
    text = config_path(isolated_home).read_text()
    assert KEY not in text
    provider = json.loads(text)["models"]["providers"]["vllm"]
    assert (provider["auth"], provider["apiKey"]) == ("api-key", "VLLM_API_KEY")
    store = json.loads(profiles_path(isolated_home).read_text())
    assert store["profiles"]["vllm:default"]["key"] == KEY


def test_then_the_agent_answers_through_the_onboarded_server(isolated_home: Path) -> None:
    with FakeOpenAIServer(flavor="sglang", api_key=KEY) as srv:
        assert onboard("sglang", "--custom-base-url", srv.base_url,
                       "--custom-api-key", KEY).returncode == 0  # fmt: skip
        answer = run_cli("agent", "-m", "hi", "--tools", "none")
        assert answer.returncode == 0, answer.stderr
        assert "Hello from the fake server." in answer.stdout
        chats = [r for r in srv.requests if r.path == "/v1/chat/completions"]
        assert chats and chats[0].header("authorization") == f"Bearer {KEY}"


@pytest.mark.parametrize(
    ("name", "args", "env", "expected"),
    [
        ("wrong-key", ["--custom-api-key", "WRONG-key"], {}, "refused the request (HTTP 401)"),
        ("no-key", [], {}, "refused the request (HTTP 401)"),
        ("unknown-model", ["--custom-model-id", "nope"], {"VLLM_API_KEY": KEY}, "Model nope"),
        ("bad-context", ["--context", "-5"], {"VLLM_API_KEY": KEY}, "--context must be"),
    ],
)
def test_failures_leave_the_config_byte_for_byte(
    isolated_home: Path, name: str, args: list[str], env: dict, expected: str
) -> None:
    before = seed(isolated_home)
    with FakeOpenAIServer(api_key=KEY) as srv:
        result = onboard("vllm", "--custom-base-url", srv.base_url, *args, env=env)
    assert result.returncode == 1
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert "WRONG-key" not in result.stderr
    if name in ("wrong-key", "no-key"):
        assert "VLLM_API_KEY" in result.stderr  # the kind's own variable, not LM Studio's
    if name == "unknown-model":
        assert "Available models: Qwen/Qwen3-8B" in result.stderr
    assert config_path(isolated_home).read_bytes() == before
    assert not profiles_path(isolated_home).exists()


@pytest.mark.parametrize(
    ("choice", "needle"),
    [
        ("vllm", "vllm serve MODEL --port {port}"),
        ("sglang", "--port {port}"),
        ("llama-cpp-existing-server", "llama-server -m MODEL.gguf --port {port}"),
    ],
)
def test_unreachable_hint_names_the_kind_and_the_real_port(
    isolated_home: Path, choice: str, needle: str
) -> None:
    """Issue 14 point 13: the hint is the kind's own, with the URL's port; never LM Studio's."""
    before = seed(isolated_home)
    port = free_port()
    result = onboard(choice, "--custom-base-url", f"http://127.0.0.1:{port}/v1")
    assert result.returncode == 1
    assert "could not be reached" in result.stderr
    assert needle.format(port=port) in result.stderr
    assert "1234" not in result.stderr and "lms " not in result.stderr
    assert config_path(isolated_home).read_bytes() == before


def test_credentials_in_the_url_are_refused_before_any_request(isolated_home: Path) -> None:
    before = seed(isolated_home)
    with FakeOpenAIServer() as srv:
        result = onboard("vllm", "--custom-base-url", f"http://u:hunter2@127.0.0.1:{srv.port}/v1")
        assert srv.requests == []
    assert result.returncode == 1
    assert "not in the URL" in result.stderr and "hunter2" not in result.stderr
    assert config_path(isolated_home).read_bytes() == before


def test_custom_endpoint_id_from_the_host_and_taken_ids(isolated_home: Path) -> None:
    """core.md §5.4: custom-<host>-<port>; the same URL reuses its id; an id taken by another
    URL gets -2 and the user is told."""
    with FakeOpenAIServer(flavor="openai", models={"my-model": None}) as srv:
        derived = f"custom-127-0-0-1-{srv.port}"
        path = config_path(isolated_home)
        path.parent.mkdir(parents=True)
        other = {"baseUrl": "http://127.0.0.1:1/v1", "models": []}
        path.write_text(json.dumps({"models": {"providers": {derived: other}}}))
        args = ("--custom-base-url", srv.base_url, "--custom-model-id", "my-model")
        first = onboard("custom-api-key", *args)
        assert first.returncode == 0, first.stderr
        assert f"Endpoint id {derived} is taken; using {derived}-2." in first.stdout
        assert f"Configured custom provider: {derived}-2/my-model" in first.stdout
        again = onboard("custom-api-key", *args)
        assert again.returncode == 0 and "is taken" not in again.stdout
        named = onboard("custom-api-key", *args, "--custom-provider-id", "gpu-box")
        assert named.returncode == 0, named.stderr
    providers = json.loads(path.read_text())["models"]["providers"]
    assert sorted(providers) == sorted([derived, f"{derived}-2", "gpu-box"])
    assert providers[f"{derived}-2"]["models"] == [
        {"id": "my-model", "name": "my-model (Custom Provider)"}
    ]
    assert providers["gpu-box"]["baseUrl"] == srv.base_url


def test_custom_endpoint_needs_url_and_model(isolated_home: Path) -> None:
    before = seed(isolated_home)
    no_url = onboard("custom-api-key", "--custom-model-id", "m")
    assert no_url.returncode == 1 and "needs a base URL and a model id" in no_url.stderr
    with FakeOpenAIServer(flavor="openai", models={"m": None}) as srv:
        no_model = onboard("custom-api-key", "--custom-base-url", srv.base_url)
        bad_id = onboard("custom-api-key", "--custom-base-url", srv.base_url,
                         "--custom-model-id", "m", "--custom-provider-id", "Bad Id!")  # fmt: skip
    assert no_model.returncode == 1 and "--custom-model-id" in no_model.stderr
    assert bad_id.returncode == 1 and "letters, numbers, or hyphens" in bad_id.stderr
    assert config_path(isolated_home).read_bytes() == before


def test_llama_cpp_existing_server_and_json_output(isolated_home: Path) -> None:
    """A server without served context in its list (a bare OpenAI shape): --context sets the
    chosen model's contextWindow; --json carries the outcome, the text goes to stderr."""
    with FakeOpenAIServer(flavor="openai", models={"tiny": None}) as srv:
        result = onboard(
            "llama-cpp-existing-server", "--custom-base-url", srv.base_url, "--context", "8192",
            "--json",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is True and payload["provider"] == "llama-cpp"
    assert payload["defaultModel"] == "llama-cpp/tiny"
    assert payload["authChoice"] == "llama-cpp-existing-server"
    assert "Default llama.cpp model: tiny" in result.stderr
    cfg = json.loads(config_path(isolated_home).read_text())
    assert cfg["models"]["providers"]["llama-cpp"]["models"] == [
        {"id": "tiny", "name": "tiny", "contextWindow": 8192}
    ]


def test_json_failure_is_a_json_error(isolated_home: Path) -> None:
    port = free_port()
    result = onboard("vllm", "--custom-base-url", f"http://127.0.0.1:{port}", "--json")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and "could not be reached" in payload["error"]
    assert f"--port {port}" in payload["hint"]
    assert not config_path(isolated_home).exists()
