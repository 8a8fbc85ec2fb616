"""The built-in engine end to end, as a new user meets it: `openclaw onboard --auth-choice
llama-cpp` downloads the tiny scripted model from the fake hub, starts the engine, writes the
config; `openclaw agent` answers through it; `openclaw local ...` manages it.

Every command is a real subprocess; the engine is the real xllamacpp server behind the
project's launcher. Engines are stopped in teardown whatever happens.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, run_cli
from tests.fixtures.tiny_model import SCRIPTED_REPLY, write_tiny_model
from tests.servers.fake_hub import TINY_FILE, TINY_REPO, FakeHub

pytestmark = [pytest.mark.llama, pytest.mark.usefixtures("llama_engine_available")]

ONBOARD = ("onboard", "--non-interactive", "--accept-risk", "--auth-choice", "llama-cpp")
#: A small context keeps each engine start quick; the README path uses the 16K default.
SMALL = ("--context", "4096")


# -- fixtures ---------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return status.rpartition(")")[2].split()[:1] != ["Z"]


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.1)
    return not _pid_alive(pid)


@pytest.fixture
def engine_pids(isolated_home: Path) -> Iterator[list[int]]:
    """Pids a test saw; every engine (recorded or seen) is killed in teardown."""
    seen: list[int] = []
    yield seen
    local = isolated_home / ".openclaw" / "local"
    for state in local.glob("*.json") if local.is_dir() else []:
        try:
            seen.append(int(json.loads(state.read_text())["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    for pid in set(seen):
        if _pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, 10):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def tiny_hub(fake_hub: FakeHub) -> FakeHub:
    """The fake hub (tests/local/conftest.py) serving the scripted tiny GGUF."""
    fake_hub.add_tiny_model()
    return fake_hub


@pytest.fixture
def local_model(tmp_path: Path) -> Path:
    return write_tiny_model(tmp_path / "models" / "tiny.gguf")


def _state(home: Path) -> dict[str, Any]:
    return dict(json.loads((home / ".openclaw" / "local" / "llama-cpp.json").read_text()))


def _config(home: Path) -> dict[str, Any]:
    return dict(json.loads((home / ".openclaw" / "openclaw.json").read_text()))


def _ok(result: CliResult) -> CliResult:
    assert result.returncode == 0, result.output
    return result


def _onboard_local(model: Path, *extra: str) -> dict[str, Any]:
    result = _ok(run_cli(*ONBOARD, "--model-path", str(model), *SMALL, *extra, "--json"))
    return dict(json.loads(result.stdout))


def _get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _metrics(port: int) -> dict[str, float]:
    status, body = _get(port, "/metrics")
    assert status == 200
    values = {}
    for line in body.decode().splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("llamacpp:"):
            values[name] = float(value)
    return values


def _agent_json(*extra: str) -> dict[str, Any]:
    result = _ok(run_cli("agent", "-m", "hi", "--json", *extra, timeout=120))
    return dict(json.loads(result.stdout))


# -- the README path --------------------------------------------------------------------------


def test_onboard_downloads_starts_and_the_agent_answers_with_the_servers_usage(
    isolated_home: Path, tiny_hub: FakeHub, hub_env: dict[str, str], engine_pids: list[int]
) -> None:
    result = _ok(run_cli(*ONBOARD, "--model", TINY_REPO, env=hub_env, timeout=180))
    assert TINY_FILE in result.output  # the download was shown
    # Not a terminal: plain progress lines for the load, no spinner frames.
    assert "Starting the llama.cpp engine (tiny-Q4_K_M.gguf, 16384 context tokens)…" in (
        result.stderr
    )
    assert "llama.cpp engine ready (pid " in result.stderr
    assert "\r" not in result.stderr
    cdn_gets = [r for r in tiny_hub.requests("cdn") if r.method == "GET"]
    assert cdn_gets, "the model came from the hub's CDN"

    state = _state(isolated_home)
    engine_pids.append(state["pid"])
    state_file = isolated_home / ".openclaw" / "local" / "llama-cpp.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert state["context"] == 16384  # the default context: the TS CLI refuses below 16 000
    snapshot = isolated_home / "hf-cache" / "models--tiny--tiny-GGUF" / "snapshots"
    assert Path(state["model"]).parent.parent == snapshot

    provider = _config(isolated_home)["models"]["providers"]["llama-cpp"]
    port = state["port"]
    assert provider["baseUrl"] == f"http://127.0.0.1:{port}/v1"
    assert "apiKey" not in provider
    service = provider["localService"]
    assert service["command"] == sys.executable and os.path.isabs(service["command"])
    assert service["args"][:2] == ["-m", "openclaw.local.serve"]

    before = _metrics(port)
    answer = _agent_json()
    after = _metrics(port)
    assert answer["payloads"][0]["text"] == SCRIPTED_REPLY
    usage = answer["meta"]["agentMeta"]["usage"]

    def delta(name: str) -> int:
        return int(after[f"llamacpp:{name}"] - before[f"llamacpp:{name}"])

    # The agent reports exactly what the engine counted for this one request.
    assert usage["output"] == delta("tokens_predicted_total")
    assert usage["input"] + usage["cacheRead"] == delta("prompt_tokens_total") + delta(
        "prompt_tokens_cached_total"
    )
    assert usage["source"] == "reported"

    # A second command reuses the same engine.
    assert _agent_json()["payloads"][0]["text"] == SCRIPTED_REPLY
    assert _state(isolated_home)["pid"] == state["pid"]
    log = (isolated_home / ".openclaw" / "local" / "llama-cpp.log").read_text()
    assert log.count("openclaw engine: serving") == 1

    out = _ok(run_cli("local", "stop")).stdout
    assert f"pid {state['pid']}" in out
    assert _wait_gone(state["pid"], 10)
    assert not state_file.exists()
    # The start lock left no file; only the log stays (openclaw.json's own lock is the
    # config writer's business).
    left = sorted(p.name for p in (isolated_home / ".openclaw" / "local").iterdir())
    assert left == ["llama-cpp.log"]
    assert not [p for p in (isolated_home / ".openclaw").rglob("*local*.lock")]


def test_model_path_needs_no_download_and_the_config_has_only_ts_schema_keys(
    isolated_home: Path, local_model: Path, engine_pids: list[int]
) -> None:
    # Offline, and the hub a dead port: a local file must not touch the network.
    result = _ok(
        run_cli(
            *ONBOARD,
            "--model-path",
            str(local_model),
            *SMALL,
            env={"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"},
        )
    )
    assert "Downloading" not in result.output
    state = _state(isolated_home)
    engine_pids.append(state["pid"])
    assert state["model"] == str(local_model)
    assert not (isolated_home / ".cache" / "huggingface").exists()
    assert _agent_json()["payloads"][0]["text"] == SCRIPTED_REPLY
    # A web page in the user's browser gets no CORS grant to read the engine's answers.
    connection = http.client.HTTPConnection("127.0.0.1", state["port"], timeout=30)
    connection.request("GET", "/v1/models", headers={"Origin": "https://evil.example"})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200
    assert response.getheader("Access-Control-Allow-Origin") in (None, "")

    config = _config(isolated_home)
    # core.md §2.1 / §2.3 and the localService block; interop-ts.md §e: `name` is required.
    provider_keys = {
        "baseUrl", "apiKey", "auth", "api", "headers", "authHeader", "contextWindow",
        "contextTokens", "maxTokens", "timeoutSeconds", "injectNumCtxForOpenAICompat",
        "params", "request", "models", "region", "agentRuntime", "localService",
    }  # fmt: skip
    row_keys = {
        "id", "name", "api", "baseUrl", "reasoning", "input", "cost", "contextWindow",
        "contextTokens", "maxTokens", "params", "headers", "compat", "mediaInput",
        "metadataSource",
    }  # fmt: skip
    service_keys = {
        "command", "args", "cwd", "env", "healthUrl", "readyTimeoutMs", "idleStopMs",
    }  # fmt: skip
    assert set(config) <= {"models", "agents", "meta"}, config.keys()
    assert set(config["models"]) == {"mode", "providers"}
    provider = config["models"]["providers"]["llama-cpp"]
    assert set(provider) <= provider_keys
    (row,) = provider["models"]
    assert set(row) <= row_keys and {"id", "name"} <= set(row)
    assert row["id"] == "tiny" and row["contextWindow"] == 4096
    service = provider["localService"]
    assert set(service) <= service_keys
    assert all(isinstance(a, str) for a in service["args"])
    for key in ("readyTimeoutMs", "idleStopMs"):
        assert isinstance(service[key], int) and service[key] > 0
    assert service["healthUrl"] == provider["baseUrl"] + "/models"
    assert set(config["agents"]) == {"defaults"}
    assert set(config["agents"]["defaults"]) <= {"model", "workspace"}
    assert config["agents"]["defaults"]["model"] == {"primary": "llama-cpp/tiny"}


def test_models_list_refresh_shows_the_gguf_files_in_the_cache(
    isolated_home: Path,
    tiny_hub: FakeHub,
    hub_env: dict[str, str],
    local_model: Path,
    engine_pids: list[int],
) -> None:
    _onboard_local(local_model)
    _ok(run_cli("models", "pull", TINY_REPO, env=hub_env, timeout=120))
    listed = json.loads(_ok(run_cli("models", "list", "--refresh", "--json", env=hub_env)).stdout)
    keys = {m["key"] for m in listed["models"]}
    # The served model, and the downloaded one the engine could be switched to.
    assert {"llama-cpp/tiny", "llama-cpp/tiny-Q4_K_M"} <= keys, keys


# -- lifetime ---------------------------------------------------------------------------------


def test_engine_stops_itself_after_idle_stop_ms(
    isolated_home: Path, local_model: Path, engine_pids: list[int]
) -> None:
    _onboard_local(local_model)
    _ok(run_cli("local", "stop"))
    # The engine reads idleStopMs from openclaw.json when it starts.
    _ok(run_cli("config", "set", "models.providers.llama-cpp.localService.idleStopMs", "1500"))
    _ok(run_cli("local", "start"))
    pid = _state(isolated_home)["pid"]
    engine_pids.append(pid)
    assert _wait_gone(pid, 60), "the engine did not stop after 1.5 s without requests"
    assert not (isolated_home / ".openclaw" / "local" / "llama-cpp.json").exists()
    log = (isolated_home / ".openclaw" / "local" / "llama-cpp.log").read_text()
    assert "no requests for 1.5 s: stopping" in log
    # ...and the next request starts it again.
    assert _agent_json()["payloads"][0]["text"] == SCRIPTED_REPLY
    restarted = _state(isolated_home)["pid"]
    engine_pids.append(restarted)
    assert restarted != pid


def test_moving_the_engine_to_another_port_stops_the_old_one(
    isolated_home: Path, local_model: Path, engine_pids: list[int]
) -> None:
    from openclaw.net.ports import free_loopback_port

    old = _onboard_local(local_model)
    engine_pids.append(old["pid"])
    new_port = free_loopback_port()
    path = isolated_home / ".openclaw" / "openclaw.json"
    text = path.read_text().replace(str(old["port"]), str(new_port))
    path.write_text(text)  # the user edits baseUrl, healthUrl and --port
    out = _ok(run_cli("local", "start")).stdout
    state = _state(isolated_home)
    engine_pids.append(state["pid"])
    assert state["port"] == new_port and f"127.0.0.1:{new_port}" in out
    assert _wait_gone(old["pid"], 15), "the engine on the old port was left running"


def test_two_commands_starting_together_share_one_engine(
    isolated_home: Path, local_model: Path, engine_pids: list[int]
) -> None:
    _onboard_local(local_model)
    _ok(run_cli("local", "stop"))
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "openclaw", "local", "start"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    pid = _state(isolated_home)["pid"]
    engine_pids.append(pid)
    stdout = sorted(out for out, _err in outputs)
    assert any("engine started" in out for out in stdout), stdout
    assert any("already running" in out for out in stdout), stdout
    assert all(f"pid {pid}" in out for out in stdout), stdout
    log = (isolated_home / ".openclaw" / "local" / "llama-cpp.log").read_text()
    assert log.count("openclaw engine: serving") == 2  # onboarding's, then exactly one more


def test_a_load_on_a_terminal_shows_a_spinner_with_elapsed_seconds(
    isolated_home: Path, local_model: Path, engine_pids: list[int]
) -> None:
    import pexpect

    _onboard_local(local_model)
    _ok(run_cli("local", "stop"))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "openclaw", "local", "start"],
        env=dict(os.environ),
        encoding="utf-8",
        timeout=60,
    )
    try:
        child.expect(r"\r\x1b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Starting the llama\.cpp engine \(tiny\.gguf, "
                     r"4096 context tokens\)… \d+s")  # fmt: skip
        child.expect(r"llama\.cpp engine ready \(pid (\d+), port")
        engine_pids.append(int(child.match.group(1)))
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_status_reports_the_engine_and_cleans_a_stale_record(
    isolated_home: Path, local_model: Path, engine_pids: list[int]
) -> None:
    onboarded = _onboard_local(local_model)
    status = json.loads(_ok(run_cli("local", "status", "--json")).stdout)
    assert status["running"] is True and status["ready"] is True
    assert status["pid"] == onboarded["pid"] == _state(isolated_home)["pid"]
    assert status["port"] == onboarded["port"]
    assert status["model"] == str(local_model) and status["context"] == 4096
    assert isinstance(status["uptimeSeconds"], int) and status["uptimeSeconds"] >= 0
    assert "openclaw engine: serving tiny.gguf" in _ok(run_cli("local", "logs")).stdout
    _ok(run_cli("local", "stop"))

    # A record left by a crashed engine (dead pid) is removed, not trusted.
    state_file = isolated_home / ".openclaw" / "local" / "llama-cpp.json"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    record = {**onboarded, "provider": "llama-cpp", "pid": int(dead.stdout), "model": str(local_model),
              "started_at": time.time(), "backend": "xllamacpp"}  # fmt: skip
    state_file.write_text(json.dumps(record))
    status = json.loads(_ok(run_cli("local", "status", "--json")).stdout)
    assert status["running"] is False and status["pid"] is None
    assert not state_file.exists()
    assert "no engine is running" in _ok(run_cli("local", "stop")).stdout


# -- refusals ---------------------------------------------------------------------------------


class _Foreign(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"data": [{"id": "someone-else"}], "model_path": "/x/other.gguf"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def test_a_foreign_server_on_the_port_is_refused_naming_the_port(
    isolated_home: Path, local_model: Path, engine_pids: list[int]
) -> None:
    port = _onboard_local(local_model)["port"]
    _ok(run_cli("local", "stop"))
    server = ThreadingHTTPServer(("127.0.0.1", port), _Foreign)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for args in (("agent", "-m", "hi"), ("local", "start")):
            result = run_cli(*args, timeout=60)
            assert result.returncode == 1, result.output
            assert f"Port {port} is in use by another server" in result.output
            assert "Traceback" not in result.output
        assert not (isolated_home / ".openclaw" / "local" / "llama-cpp.json").exists()
    finally:
        server.shutdown()
        server.server_close()


def test_an_engine_that_cannot_load_fails_clearly_and_nothing_is_written(
    isolated_home: Path, tmp_path: Path, engine_pids: list[int]
) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)  # the magic, then nothing a loader accepts
    result = run_cli(*ONBOARD, "--model-path", str(broken), *SMALL, timeout=120)
    assert result.returncode == 1, result.output
    assert "The llama.cpp engine did not start" in result.output
    assert "Last lines of ~/.openclaw/local/llama-cpp.log:" in result.output
    assert "Traceback" not in result.output
    assert not (isolated_home / ".openclaw" / "openclaw.json").exists()
    assert not (isolated_home / ".openclaw" / "local" / "llama-cpp.json").exists()
