"""The engine launcher: ``python -m openclaw.local.serve --model FILE --ctx N --port PORT``.

It runs in the foreground until it is stopped (SIGTERM/SIGINT) or has served no request for
``idleStopMs``; whoever starts it detaches it (``openclaw.local.engine`` does, and so can the
TypeScript CLI from the same ``localService`` block). It binds 127.0.0.1 only.

The server is llama.cpp's own HTTP server: embedded through ``xllamacpp`` (the ``local``
extra), or the ``llama-server`` binary named by ``OPENCLAW_LLAMA_SERVER`` with the same
settings, which is also the only way on an x86 CPU without AVX2 (the xllamacpp wheel needs it).
Settings not given as flags (``idleStopMs``) are read from ``openclaw.json`` when it starts,
so a later ``openclaw config set`` applies at the next start. An API key, if any, comes from
``LLAMA_API_KEY`` (llama-server's own variable), never from the command line.

While it runs, ``<stateDir>/local/<provider>.json`` records its pid, port, model, context and
start time; it removes the record when it exits.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
BINARY_ENV = "OPENCLAW_LLAMA_SERVER"
API_KEY_ENV = "LLAMA_API_KEY"
DEFAULT_PROVIDER = "llama-cpp"
DEFAULT_IDLE_STOP_MS = 15 * 60 * 1000
#: The activity counters of llama.cpp's /metrics: any change means a request was served.
_ACTIVITY_METRICS = (
    "llamacpp:prompt_tokens_total",
    "llamacpp:prompt_tokens_cached_total",
    "llamacpp:tokens_predicted_total",
    "llamacpp:n_decode_total",
    "llamacpp:requests_processing",
    "llamacpp:requests_deferred",
)
_PROCESSING = _ACTIVITY_METRICS.index("llamacpp:requests_processing")


class LaunchError(Exception):
    """The engine cannot start; the message is the one line the log shows."""


@dataclass(frozen=True)
class ServeOptions:
    model: Path
    context: int
    port: int
    threads: int
    provider: str
    alias: str | None
    parallel: int
    idle_stop_ms: int
    api_key: str | None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"


def say(message: str) -> None:
    print(f"openclaw engine: {message}", file=sys.stderr, flush=True)


# -- the machine ------------------------------------------------------------------------------


def physical_cores() -> int:
    """Physical cores this process may use (hyper-threads share a core's arithmetic units,
    and llama.cpp on more threads than cores gets slower and jittery)."""
    try:
        usable = sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        usable = list(range(os.cpu_count() or 1))
    cores: set[str] = set()
    for cpu in usable:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            siblings = (topology / "thread_siblings_list").read_text().strip()
        except OSError:
            cores = set()
            break
        cores.add(siblings)
    if cores:
        return len(cores)
    if sys.platform == "darwin":
        with contextlib.suppress(OSError, ValueError, subprocess.SubprocessError):
            out = subprocess.run(
                ["sysctl", "-n", "hw.physicalcpu"], capture_output=True, text=True, timeout=5
            )
            return max(1, int(out.stdout.strip()))
    return max(1, len(usable))


def cpuinfo_has_avx2(cpuinfo: str) -> bool:
    """Whether a Linux ``/proc/cpuinfo`` text lists the ``avx2`` flag."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return "avx2" in value.split()
    return False


def cpu_lacks_avx2() -> bool:
    """True only on an x86 CPU known to lack AVX2 (other architectures need no AVX2)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return False
    if sys.platform.startswith("linux"):
        try:
            return not cpuinfo_has_avx2(Path("/proc/cpuinfo").read_text(errors="replace"))
        except OSError:
            return False
    if sys.platform == "darwin":
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.leaf7_features"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            return "AVX2" not in out.stdout.upper().split()
        return False
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import ctypes

        pf_avx2_instructions_available = 40
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        return not kernel32.IsProcessorFeaturePresent(pf_avx2_instructions_available)
    return False


# -- settings ---------------------------------------------------------------------------------


def configured_idle_stop_ms(provider_id: str) -> int:
    """``models.providers.<id>.localService.idleStopMs`` from openclaw.json (default 15 min)."""
    from openclaw.config.loader import load_config
    from openclaw.errors import OpenClawError

    try:
        cfg = load_config()
    except OpenClawError as exc:
        say(f"cannot read the config ({exc.message.splitlines()[0]}); using defaults")
        return DEFAULT_IDLE_STOP_MS
    provider = cfg.provider(provider_id) or {}
    service = provider.get("localService")
    value = service.get("idleStopMs") if isinstance(service, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return DEFAULT_IDLE_STOP_MS


def parse_args(argv: Sequence[str], env: Mapping[str, str]) -> ServeOptions:
    parser = argparse.ArgumentParser(
        prog="python -m openclaw.local.serve",
        description="Run the built-in llama.cpp engine on 127.0.0.1 in the foreground.",
    )
    parser.add_argument("--model", required=True, help="GGUF model file")
    parser.add_argument("--ctx", type=int, required=True, help="context size in tokens")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--threads", type=int, help="CPU threads (default: physical cores)")
    parser.add_argument("--provider", default=DEFAULT_PROVIDER, help="provider id in the config")
    parser.add_argument("--alias", help="model id the server answers as")
    parser.add_argument("--parallel", type=int, default=1, help="concurrent request slots")
    parser.add_argument(
        "--idle-stop-ms",
        type=int,
        help="stop after this long without requests (0 = never; default: from the config)",
    )
    args = parser.parse_args(list(argv))
    if args.ctx <= 0 or not 0 < args.port < 65536 or args.parallel <= 0:
        parser.error("--ctx and --parallel must be positive and --port in 1..65535")
    if args.threads is not None and args.threads <= 0:
        parser.error("--threads must be positive")
    model = Path(args.model).expanduser()
    if not model.is_file():
        raise LaunchError(f"model file not found: {model}")
    idle = args.idle_stop_ms
    if idle is None:
        idle = configured_idle_stop_ms(args.provider)
    return ServeOptions(
        model=Path(os.path.abspath(model)),  # keep a symlink's name (the HF cache links)
        context=args.ctx,
        port=args.port,
        threads=args.threads or physical_cores(),
        provider=args.provider,
        alias=args.alias,
        parallel=args.parallel,
        idle_stop_ms=max(0, idle),
        api_key=env.get(API_KEY_ENV) or None,
    )


# -- backends ---------------------------------------------------------------------------------


class EmbeddedServer:
    """llama.cpp's server inside this process, through xllamacpp."""

    name = "xllamacpp"

    def __init__(self, options: ServeOptions) -> None:
        try:
            import xllamacpp
        except ImportError as exc:
            raise LaunchError(
                "xllamacpp is not installed: run `pip install 'openclaw[local]'`, or set "
                f"{BINARY_ENV} to a llama-server binary"
            ) from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(options.model)
        params.hostnames = [HOST]
        params.port = options.port
        params.n_ctx = options.context
        params.n_parallel = options.parallel
        params.cpuparams.n_threads = options.threads
        params.cpuparams_batch.n_threads = options.threads
        params.use_jinja = True
        params.endpoint_metrics = True
        params.ui = False
        # No CORS grant: a web page in the user's browser must not read the engine's answers
        # (llama.cpp allows every origin by default). The CLIs do not use CORS.
        params.cors_origins = ""
        if options.alias:
            params.model_alias = {options.alias}
        if options.api_key:
            params.api_keys = [options.api_key]
        try:
            self._server: Any = xllamacpp.Server(params)
        except RuntimeError as exc:  # its log (above) says why: a taken port, a bad file
            raise LaunchError(
                f"llama.cpp could not start on port {options.port} with {options.model.name}"
            ) from exc

    def exited(self) -> int | None:
        return None

    def stop(self) -> None:
        server, self._server = self._server, None
        del server  # its destructor stops the HTTP threads and frees the model


class BinaryServer:
    """A ``llama-server`` binary as a child process, given the same settings."""

    def __init__(self, binary: str, options: ServeOptions) -> None:
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise LaunchError(f"{BINARY_ENV}={binary} is not an executable file")
        self.name = binary
        command = [
            binary,
            "--model",
            str(options.model),
            "--host",
            HOST,
            "--port",
            str(options.port),
            "--ctx-size",
            str(options.context),
            "--threads",
            str(options.threads),
            "--parallel",
            str(options.parallel),
            "--jinja",
            "--metrics",
            "--no-webui",
        ]
        if options.alias:
            command += ["--alias", options.alias]
        # llama-server reads LLAMA_ARG_* variables too; the flags above must be what counts.
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_ARG_")}
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=env)

    def exited(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def choose_backend(options: ServeOptions, env: Mapping[str, str]) -> EmbeddedServer | BinaryServer:
    binary = env.get(BINARY_ENV)
    if binary:
        return BinaryServer(binary, options)
    if cpu_lacks_avx2():
        raise LaunchError(
            "this CPU lacks AVX2, which the xllamacpp engine needs: set "
            f"{BINARY_ENV} to a llama-server binary built for it"
        )
    return EmbeddedServer(options)


# -- idle watch -------------------------------------------------------------------------------


def parse_activity(metrics_text: str) -> tuple[float, ...]:
    """The activity counters of a /metrics text (missing ones count as 0)."""
    values = dict.fromkeys(_ACTIVITY_METRICS, 0.0)
    for line in metrics_text.splitlines():
        name, _, value = line.partition(" ")
        if name in values:
            with contextlib.suppress(ValueError):
                values[name] = float(value.strip())
    return tuple(values[name] for name in _ACTIVITY_METRICS)


class ActivityProbe:
    """Reads the engine's own /metrics through the project's guarded client."""

    def __init__(self, options: ServeOptions) -> None:
        from openclaw.net.blocking import blocking_client
        from openclaw.net.policy import provider_policy

        headers = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}
        policy = provider_policy(options.provider, options.base_url, None)
        self._client = blocking_client(policy, timeout=10.0, max_body_bytes=1024 * 1024)
        self._headers = headers
        self._url = f"http://{HOST}:{options.port}/metrics"

    def read(self) -> tuple[float, ...] | None:
        from openclaw.errors import OpenClawError

        try:
            response = self._client.request("GET", self._url, headers=self._headers)
        except OpenClawError:
            return None
        if response.status_code != 200:
            return None
        return parse_activity(response.text)

    def close(self) -> None:
        self._client.close()


def watch(
    server: EmbeddedServer | BinaryServer, options: ServeOptions, stop: threading.Event
) -> int:
    """Block until stopped, idle for ``idle_stop_ms`` or the server died; the exit code."""
    idle = options.idle_stop_ms / 1000
    interval = min(10.0, max(0.2, idle / 10)) if idle else 1.0
    probe = ActivityProbe(options) if idle else None
    last_seen: tuple[float, ...] | None = None
    last_active = time.monotonic()
    try:
        while not stop.wait(interval):
            code = server.exited()
            if code is not None:
                say(f"llama-server exited with code {code}")
                return 1
            if probe is None:
                continue
            seen = probe.read()
            now = time.monotonic()
            if seen is not None:
                # Counters that moved mean requests were served; a long one still running
                # shows in requests_processing.
                if (last_seen is not None and seen != last_seen) or seen[_PROCESSING] > 0:
                    last_active = now
                last_seen = seen
            if now - last_active >= idle:
                say(f"no requests for {idle:g} s: stopping")
                return 0
    finally:
        if probe is not None:
            probe.close()
    return 0


# -- main -------------------------------------------------------------------------------------


def record_state(options: ServeOptions, backend: str) -> Any:
    """Write this engine's state file; returns the Paths used (None when not writable)."""
    from openclaw.config.paths import resolve_paths
    from openclaw.local.state import EngineState, write_state

    paths = resolve_paths()
    state = EngineState(
        provider=options.provider,
        pid=os.getpid(),
        port=options.port,
        model=str(options.model),
        context=options.context,
        started_at=time.time(),
        backend=backend,
    )
    try:
        write_state(paths, state)
    except OSError as exc:
        say(f"cannot write the state file: {exc}")
        return None
    return paths


def run(argv: Sequence[str], env: Mapping[str, str]) -> int:
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    for name in ("SIGTERM", "SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), on_signal)
    try:
        options = parse_args(argv, env)
    except LaunchError as exc:
        say(str(exc))
        return 1
    backend_name = env.get(BINARY_ENV) or "xllamacpp"
    paths = record_state(options, backend_name)
    try:
        server = choose_backend(options, env)
    except LaunchError as exc:
        say(str(exc))
        _forget(paths, options)
        return 1
    idle = (
        f"stops after {options.idle_stop_ms / 1000:g} s idle"
        if options.idle_stop_ms
        else "no idle stop"
    )
    say(
        f"serving {options.model.name} on http://{HOST}:{options.port} ({server.name}, "
        f"{options.threads} threads, {options.context} context tokens, {idle})"
    )
    try:
        return watch(server, options, stop)
    finally:
        server.stop()
        _forget(paths, options)
        say("stopped")


def _forget(paths: Any, options: ServeOptions) -> None:
    if paths is None:
        return
    from openclaw.local.state import remove_state

    remove_state(paths, options.provider, pid=os.getpid())


def main() -> None:
    sys.exit(run(sys.argv[1:], os.environ))


if __name__ == "__main__":
    main()
