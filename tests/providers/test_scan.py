"""Finding what runs (issue 12): the usual ports probed in parallel, servers identified by
their API (not their port), `--auth-choice auto`, and `openclaw local scan --json`. The probed
ports are moved onto fakes with OPENCLAW_SCAN_PORTS; every test names all five kinds, so no
test ever probes a real default port."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import run_cli
from tests.providers.lmstudio_helpers import llm
from tests.servers.fake_lmstudio import FakeLMStudio
from tests.servers.fake_openai_server import FakeOpenAIServer

from openclaw.errors import UsageError
from openclaw.providers.scan import SCAN_ORDER, scan_ports

AUTO = ("onboard", "--non-interactive", "--accept-risk", "--auth-choice", "auto")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ports_env(**ports: int) -> dict[str, str]:
    """OPENCLAW_SCAN_PORTS with the given kinds on their fakes and the others on closed ports."""
    chosen = {kind: ports.get(kind.replace("-", "_")) or free_port() for kind in SCAN_ORDER}
    return {"OPENCLAW_SCAN_PORTS": ",".join(f"{k}={p}" for k, p in chosen.items())}


def config_path(home: Path) -> Path:
    return home / ".openclaw" / "openclaw.json"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    sock.close()


def test_scan_ports_env_moves_only_the_named_kinds() -> None:
    ports = dict(scan_ports({"OPENCLAW_SCAN_PORTS": "ollama=11500, lmstudio=1300"}))
    assert ports == {"lmstudio": 1300, "ollama": 11500, "llama-cpp": 8080, "vllm": 8000,
                     "sglang": 30000}  # fmt: skip
    assert [k for k, _ in scan_ports({})] == list(SCAN_ORDER)
    assert dict(scan_ports({"OPENCLAW_SCAN_PORTS": "llamacpp=9090"}))["llama-cpp"] == 9090
    for bad in ("nope=1", "vllm=abc", "vllm=70000", "vllm"):
        with pytest.raises(UsageError):
            scan_ports({"OPENCLAW_SCAN_PORTS": bad})


def test_auto_onboards_the_first_server_in_scan_order(isolated_home: Path) -> None:
    """LM Studio comes before vLLM when both answer."""
    with FakeLMStudio() as lms, FakeOpenAIServer() as vllm:
        result = run_cli(*AUTO, env=ports_env(lmstudio=lms.port, vllm=vllm.port))
        assert result.returncode == 0, result.stderr
        assert f"Found LM Studio at http://127.0.0.1:{lms.port}." in result.stderr
    cfg = json.loads(config_path(isolated_home).read_text())
    assert cfg["agents"]["defaults"]["model"]["primary"] == "lmstudio/qwen/qwen3.5-9b"
    assert cfg["models"]["providers"]["lmstudio"]["baseUrl"] == lms.base_url


def test_auto_identifies_by_api_not_by_port(isolated_home: Path) -> None:
    """An SGLang server sitting on the port scanned for vLLM is onboarded as SGLang; LM Studio
    with no chat model is passed over."""
    with FakeLMStudio(models=[{"type": "embedding", "key": "e"}]) as lms, FakeOpenAIServer(
        flavor="sglang", models={"Qwen/Qwen3-8B": 40960}
    ) as srv:  # fmt: skip
        result = run_cli(*AUTO, env=ports_env(lmstudio=lms.port, vllm=srv.port))
        assert result.returncode == 0, result.stderr
    cfg = json.loads(config_path(isolated_home).read_text())
    assert cfg["agents"]["defaults"]["model"]["primary"] == "sglang/Qwen/Qwen3-8B"
    assert cfg["models"]["providers"]["sglang"]["baseUrl"] == srv.base_url
    assert cfg["models"]["providers"]["sglang"]["models"] == [
        {"id": "Qwen/Qwen3-8B", "name": "Qwen/Qwen3-8B"}
    ]


def test_auto_loads_an_installed_lmstudio_model_when_none_is_loaded(isolated_home: Path) -> None:
    with FakeLMStudio(models=[llm("phi-4", max_ctx=16384)]) as lms:
        result = run_cli(*AUTO, env=ports_env(lmstudio=lms.port))
        assert result.returncode == 0, result.stderr
        assert lms.count("POST", "/api/v1/models/load") == 1
    cfg = json.loads(config_path(isolated_home).read_text())
    assert cfg["agents"]["defaults"]["model"]["primary"] == "lmstudio/phi-4"


def test_auto_with_nothing_running_names_what_was_tried(
    isolated_home: Path, silent_port: int
) -> None:
    """One line naming every kind and port tried, the kinds' start hints, exit 1, nothing
    written; a hung server does not hold the scan past its deadline."""
    env = ports_env(vllm=silent_port)
    result = run_cli(*AUTO, env=env, timeout=30)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: No model server with a chat model answered (tried LM Studio")
    assert "vLLM 127.0.0.1:" + str(silent_port) + ": no answer" in lines[0]
    ports = dict(item.split("=") for item in env["OPENCLAW_SCAN_PORTS"].split(","))
    for kind, port in ports.items():
        assert f":{port}" in lines[0], kind
    hint = result.stderr
    assert f"lms server start --port {ports['lmstudio']}" in hint
    assert f"vllm serve MODEL --port {ports['vllm']}" in hint
    assert f"ollama serve`, port {ports['ollama']}" in hint
    assert not config_path(isolated_home).exists()


def _scan_json(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *hosts: str) -> dict:
    from openclaw.cli.local_scan_cmd import scan

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(scan, ["--json", *hosts])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_local_scan_json_lists_servers_models_and_contexts(
    monkeypatch: pytest.MonkeyPatch, silent_port: int
) -> None:
    with FakeLMStudio() as lms, FakeOpenAIServer(models={"Qwen/Qwen3-8B": 40960}) as vllm, \
            FakeOpenAIServer(flavor="sglang", models={"s-model": 8192}) as sgl:  # fmt: skip
        env = ports_env(lmstudio=lms.port, vllm=vllm.port, sglang=sgl.port, llama_cpp=silent_port)
        data = _scan_json(monkeypatch, env)
    by_kind = {f["expected"]: f for f in data["findings"]}
    assert [f["expected"] for f in data["findings"]] == list(SCAN_ORDER)
    assert by_kind["lmstudio"]["kind"] == "lmstudio" and by_kind["lmstudio"]["status"] == "found"
    assert by_kind["lmstudio"]["models"][0] == "qwen/qwen3.5-9b"
    assert by_kind["lmstudio"]["contexts"]["qwen/qwen3.5-9b"] == 32768
    assert by_kind["vllm"]["kind"] == "vllm"
    assert by_kind["vllm"]["contexts"] == {"Qwen/Qwen3-8B": 40960}
    assert by_kind["sglang"]["kind"] == "sglang" and by_kind["sglang"]["models"] == ["s-model"]
    assert by_kind["ollama"]["status"] == "closed"
    assert by_kind["llama-cpp"]["status"] == "timeout"


def test_local_scan_reports_a_server_that_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer(api_key="k") as srv:
        data = _scan_json(monkeypatch, ports_env(vllm=srv.port))
    [vllm] = [f for f in data["findings"] if f["expected"] == "vllm"]
    assert vllm["status"] == "auth" and "API key" in vllm["note"]


def test_local_scan_never_probes_metadata_or_link_local(monkeypatch: pytest.MonkeyPatch) -> None:
    """Named hosts are trusted on the known ports, except metadata and link-local ones: those
    are reported as not probed (no connection is attempted)."""
    data = _scan_json(monkeypatch, ports_env(), "169.254.169.254", "fe80::1")
    assert data["hosts"] == ["169.254.169.254", "fe80::1"]
    assert {f["status"] for f in data["findings"]} == {"blocked"}
    assert all("never trusted" in f["note"] for f in data["findings"])


def test_local_scan_text_escapes_server_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model id with an escape sequence is shown escaped, never raw."""
    from openclaw.cli.local_scan_cmd import scan

    with FakeOpenAIServer(models={"evil\u009b31m": 1024, "fine": 1024}) as srv:
        for name, value in ports_env(vllm=srv.port).items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(scan, [])
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "\u009b" not in result.stdout
    assert "fine (1024 ctx)" in result.stdout


def test_local_scan_text_says_each_status_once(
    monkeypatch: pytest.MonkeyPatch, silent_port: int
) -> None:
    """One plain phrase per port: a closed port is "nothing listening", not that twice over."""
    from openclaw.cli.local_scan_cmd import scan

    with FakeLMStudio() as lms:
        for name, value in ports_env(lmstudio=lms.port, vllm=silent_port).items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(scan, [])
    assert result.exit_code == 0
    lines = {line.split()[0]: line.split(None, 1)[1] for line in result.stdout.splitlines()}
    assert lines[f"127.0.0.1:{lms.port}"].startswith("LM Studio: qwen/qwen3.5-9b")
    assert lines[f"127.0.0.1:{silent_port}"].startswith("no answer in time")
    closed = [text for text in lines.values() if text.startswith("nothing listening")]
    assert closed and all(text == "nothing listening" for text in closed)
