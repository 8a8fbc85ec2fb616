"""The llama-server binary route: ``OPENCLAW_LLAMA_SERVER`` makes the same launcher run a
``llama-server`` binary (a GPU build, or the way on a CPU without AVX2).

The real binary runs only where one is given (``OPENCLAW_LLAMA_SERVER=/path/to/llama-server``);
without one that test is skipped with the reason, in CI too, since a fresh clone has none. The
launcher's side of the route (flags, a child process, stopping it, the idle stop) is also run
against a stand-in executable that accepts exactly llama-server's flags and serves with the
same llama.cpp server code (xllamacpp).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.tiny_model import SCRIPTED_REPLY
from tests.servers.llama_server import start_llama_server


def _chat(port: int) -> dict[str, object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        body = {"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "none"}
        connection.request(
            "POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        assert response.status == 200
        return dict(json.loads(response.read()))
    finally:
        connection.close()


def test_the_launcher_runs_the_given_binary_with_the_same_settings(
    llama_binary: str, tiny_model_path: Path
) -> None:
    with start_llama_server(tiny_model_path, backend="binary", binary=llama_binary) as server:
        reply = _chat(server.port)
        assert reply["choices"][0]["message"]["content"] == SCRIPTED_REPLY  # type: ignore[index]
        assert reply["model"] == "tiny"  # --alias reached the binary
        assert "timings" in reply
        log = server.log_path.read_text()
        assert f"({llama_binary}, 1 threads, 4096 context tokens" in log
        # /metrics is on: the launcher's idle watch depends on it.
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request("GET", "/metrics")
        assert connection.getresponse().status == 200
        connection.close()
    assert not server.is_running()


def test_the_binary_route_is_named_when_the_variable_points_nowhere(
    tmp_path: Path, tiny_model_path: Path
) -> None:
    with (
        pytest.raises(Exception, match="is not an executable file"),
        start_llama_server(
            tiny_model_path, backend="binary", binary=str(tmp_path / "nope"), ready_timeout=30
        ),
    ):
        pass


STAND_IN = """#!{python}
import argparse, signal, threading
import xllamacpp

parser = argparse.ArgumentParser(prog="llama-server")  # an unknown flag exits 2, as it does
for flag in ("--model", "--host", "--alias"):
    parser.add_argument(flag, required=flag != "--alias")
for flag in ("--port", "--ctx-size", "--threads", "--parallel"):
    parser.add_argument(flag, type=int, required=True)
for flag in ("--jinja", "--metrics", "--no-webui"):
    parser.add_argument(flag, action="store_true")
args = parser.parse_args()
assert args.host == "127.0.0.1" and args.metrics and args.jinja
params = xllamacpp.CommonParams()
params.model.path = args.model
params.hostnames = [args.host]
params.port = args.port
params.n_ctx = args.ctx_size
params.n_parallel = args.parallel
params.cpuparams.n_threads = args.threads
params.endpoint_metrics = True
if args.alias:
    params.model_alias = {{args.alias}}
server = xllamacpp.Server(params)
print("stand-in llama-server pid", __import__("os").getpid(), flush=True)
stopped = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stopped.set())
stopped.wait()
"""


@pytest.fixture
def stand_in(tmp_path: Path, llama_engine_available: None) -> str:
    path = tmp_path / "llama-server"
    path.write_text(STAND_IN.format(python=sys.executable))
    path.chmod(0o755)
    return str(path)


def _child_pid(log: Path) -> int:
    for line in log.read_text().splitlines():
        if line.startswith("stand-in llama-server pid"):
            return int(line.split()[-1])
    raise AssertionError(log.read_text())


def test_the_launcher_drives_a_binary_child_and_stops_it(
    stand_in: str, tiny_model_path: Path
) -> None:
    with start_llama_server(tiny_model_path, backend="binary", binary=stand_in) as server:
        reply = _chat(server.port)
        assert reply["choices"][0]["message"]["content"] == SCRIPTED_REPLY  # type: ignore[index]
        assert reply["model"] == "tiny"
        assert f"({stand_in}, 1 threads" in server.log_path.read_text()
        child = _child_pid(server.log_path)
    # Stopping the launcher stops the binary it runs.
    assert _gone(child, 15)


def test_the_binary_route_stops_when_idle(
    stand_in: str, tiny_model_path: Path, tmp_path: Path
) -> None:
    from openclaw.net.ports import free_loopback_port

    log = tmp_path / "engine.log"
    env = {**os.environ, "OPENCLAW_LLAMA_SERVER": stand_in, "OPENCLAW_STATE_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "openclaw.local.serve", "--model", str(tiny_model_path),
               "--ctx", "1024", "--port", str(free_loopback_port()), "--threads", "1",
               "--idle-stop-ms", "1000"]  # fmt: skip
    with open(log, "wb") as out:
        launcher = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        assert launcher.wait(timeout=60) == 0, log.read_text()
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert "no requests for 1 s: stopping" in log.read_text()
    assert _gone(_child_pid(log), 15)
    assert not (tmp_path / "local" / "llama-cpp.json").exists()


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            status = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return True
        if status.rpartition(")")[2].split()[:1] == ["Z"]:
            return True
        time.sleep(0.1)
    return False
