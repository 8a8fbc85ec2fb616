"""The engine's parts that need no model: reading localService, identifying a server, the
state file, the start lock, the launcher's checks (no AVX2, missing model, idle counters)."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openclaw.config.paths import resolve_paths
from openclaw.errors import EngineError
from openclaw.local import serve
from openclaw.local.engine import _names_model, engine_config
from openclaw.local.onboard import engine_args, model_id_for_file
from openclaw.local.state import (
    EngineState,
    live_state,
    read_state,
    start_lock,
    state_path,
    write_state,
)


def _provider(args: list[str], **service: object) -> dict[str, object]:
    return {
        "baseUrl": "http://127.0.0.1:23456/v1",
        "localService": {"command": sys.executable, "args": args, **service},
    }


def test_engine_config_reads_the_launchers_own_flags_not_pythons_dash_m() -> None:
    from openclaw.local.onboard import ModelChoice

    choice = ModelChoice(Path("/m/Qwen-Q4_K_M.gguf"), "Qwen-Q4_K_M", "Qwen", 1)
    config = engine_config("llama-cpp", _provider(engine_args(choice, 8192, 23456)))
    assert config is not None
    assert config.model_file == "/m/Qwen-Q4_K_M.gguf"  # not "openclaw.local.serve"
    assert config.context == 8192 and config.port == 23456
    assert config.health_url == "http://127.0.0.1:23456/v1/models"  # core.md §2 default
    assert config.root_url == "http://127.0.0.1:23456"
    assert config.ready_timeout == 120.0


def test_engine_config_of_a_plain_llama_server_command() -> None:
    config = engine_config(
        "llama-cpp",
        _provider(
            ["-m", "/m/x.gguf", "-c", "4096", "--port", "23456"],
            healthUrl="http://127.0.0.1:23456/health",
            readyTimeoutMs=5000,
        ),
    )
    assert config is not None
    assert (config.model_file, config.context) == ("/m/x.gguf", 4096)
    assert config.health_url == "http://127.0.0.1:23456/health"
    assert config.ready_timeout == 5.0


def test_no_local_service_means_no_engine_and_a_remote_base_is_refused() -> None:
    assert engine_config("llama-cpp", {"baseUrl": "http://127.0.0.1:8080/v1"}) is None
    remote = _provider([])
    remote["baseUrl"] = "http://192.0.2.7:8080/v1"
    with pytest.raises(EngineError, match="loopback"):
        engine_config("llama-cpp", remote)


def test_a_server_identifies_by_its_model_file(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    link = tmp_path / "link.gguf"
    link.symlink_to(model)
    assert _names_model({"model_path": str(link)}, str(model))  # same file, other name
    assert _names_model({"data": [{"id": "m.gguf"}]}, str(model))
    assert _names_model({"models": [{"model": str(model)}]}, str(model))
    assert not _names_model({"model_path": "/elsewhere/other.gguf"}, str(model))
    assert not _names_model({"data": [{"id": "tiny"}]}, str(model))
    assert not _names_model(["not", "a", "dict"], str(model))


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("Qwen2.5-1.5B-Instruct-Q4_K_M.gguf", "Qwen2.5-1.5B-Instruct-Q4_K_M"),
        ("big-Q8_0-00001-of-00003.gguf", "big-Q8_0"),
        ("tiny.GGUF", "tiny"),
    ],
)
def test_model_ids_come_from_the_file_name(name: str, model_id: str) -> None:
    assert model_id_for_file(Path("/x") / name) == model_id


# -- the launcher's checks --------------------------------------------------------------------


def test_avx2_is_read_from_cpuinfo_flags() -> None:
    assert serve.cpuinfo_has_avx2("processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n")
    assert not serve.cpuinfo_has_avx2("processor\t: 0\nflags\t\t: fpu sse2 avx\n")
    assert not serve.cpuinfo_has_avx2("")


def test_without_avx2_the_launcher_asks_for_a_binary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # No CPU without AVX2 can be had here; the check itself is tested above.
    monkeypatch.setattr(serve, "cpu_lacks_avx2", lambda: True)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    options = serve.parse_args(
        ["--model", str(model), "--ctx", "512", "--port", "23456", "--idle-stop-ms", "0"], {}
    )
    with pytest.raises(serve.LaunchError, match=r"lacks AVX2.*OPENCLAW_LLAMA_SERVER"):
        serve.choose_backend(options, {})


def test_the_launcher_refuses_a_missing_model_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openclaw.local.serve",
            "--model",
            str(tmp_path / "no.gguf"),
            "--ctx",
            "512",
            "--port",
            "23456",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"openclaw engine: model file not found: {tmp_path / 'no.gguf'}"


def test_a_missing_llama_server_binary_is_named(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    options = serve.parse_args(
        ["--model", str(model), "--ctx", "512", "--port", "23456", "--idle-stop-ms", "0"], {}
    )
    with pytest.raises(serve.LaunchError, match="is not an executable file"):
        serve.choose_backend(options, {"OPENCLAW_LLAMA_SERVER": str(tmp_path / "nope")})


def test_idle_counters_are_parsed_from_metrics() -> None:
    text = (
        "# HELP llamacpp:prompt_tokens_total x\nllamacpp:prompt_tokens_total 21\n"
        "llamacpp:tokens_predicted_total 11\nllamacpp:requests_processing 1\n"
        "llamacpp:unrelated 5\ngarbage line\n"
    )
    activity = serve.parse_activity(text)
    assert activity == (21.0, 0.0, 11.0, 0.0, 1.0, 0.0)
    assert serve.parse_activity("") == (0.0,) * 6


def test_threads_default_to_physical_cores() -> None:
    cores = serve.physical_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)


# -- state file and start lock ----------------------------------------------------------------


def _record(pid: int) -> EngineState:
    return EngineState("llama-cpp", pid, 23456, "/m/x.gguf", 4096, time.time(), "xllamacpp")


def test_state_file_is_private_and_round_trips(isolated_home: Path) -> None:
    paths = resolve_paths()
    record = _record(os.getpid())
    write_state(paths, record)
    path = state_path(paths, "llama-cpp")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_state(paths, "llama-cpp") == record
    assert set(json.loads(path.read_text())) >= {"pid", "port", "model", "context", "started_at"}
    assert live_state(paths, "llama-cpp") is not None  # this process is alive


def test_stale_and_malformed_state_files_are_removed(isolated_home: Path) -> None:
    paths = resolve_paths()
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    write_state(paths, _record(finished.pid))
    assert live_state(paths, "llama-cpp") is None
    assert not state_path(paths, "llama-cpp").exists()
    state_path(paths, "llama-cpp").write_text('{"pid": "not a number"}')
    assert live_state(paths, "llama-cpp") is None
    assert not state_path(paths, "llama-cpp").exists()


def _hold_lock(home: str, hold: float, queue: multiprocessing.Queue[tuple[str, float]]) -> None:
    os.environ["HOME"] = home
    paths = resolve_paths()
    with start_lock(paths, timeout=30):
        queue.put(("in", time.monotonic()))
        time.sleep(hold)
        queue.put(("out", time.monotonic()))


def test_the_start_lock_excludes_and_leaves_no_file(isolated_home: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[tuple[str, float]] = ctx.Queue()
    procs = [
        ctx.Process(target=_hold_lock, args=(str(isolated_home), 0.5, queue)) for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    events = sorted((queue.get(timeout=5) for _ in range(4)), key=lambda e: e[1])
    assert [kind for kind, _at in events] == ["in", "out", "in", "out"]  # never both inside
    engine_dir = isolated_home / ".openclaw" / "local"
    assert list(engine_dir.iterdir()) == []


def test_a_held_start_lock_times_out_with_a_clear_error(isolated_home: Path) -> None:
    paths = resolve_paths()
    # flock is per open file description: a second open in this process must wait too.
    with (
        start_lock(paths, timeout=5),
        pytest.raises(EngineError, match="still starting"),
        start_lock(paths, timeout=0.3),
    ):
        pass


def test_local_status_without_an_engine_says_so_plainly(isolated_home: Path) -> None:
    from tests.conftest import run_cli

    result = run_cli("local", "status")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "Error: No provider has a built-in engine (no localService block in openclaw.json)"
    )
