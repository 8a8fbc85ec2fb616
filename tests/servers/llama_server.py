"""Start and stop a real llama.cpp server on 127.0.0.1 for tests.

The server is started the way users get it: through the project's own engine launcher
(``python -m openclaw.local.serve``), which embeds llama.cpp's server with xllamacpp (the
``local`` extra).  ``backend="binary"`` makes the same launcher run a ``llama-server``
binary instead (``$OPENCLAW_LLAMA_SERVER``, the route for GPUs and CPUs without AVX2).
Typical use::

    with start_llama_server(model_path, ctx=4096) as server:
        client = SomeClient(base_url=server.base_url)   # http://127.0.0.1:PORT/v1

Only the standard library is used on the test side.
"""

from __future__ import annotations

import atexit
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "LLAMA_SERVER_ENV",
    "LlamaServer",
    "LlamaServerError",
    "embedded_engine_problem",
    "find_llama_server",
    "start_llama_server",
]

#: Environment variable naming the llama-server binary to use.
LLAMA_SERVER_ENV = "OPENCLAW_LLAMA_SERVER"
HOST = "127.0.0.1"
MODEL_ALIAS = "tiny"

# Servers still running when the interpreter exits (e.g. a test run aborted
# with Ctrl-C) are stopped here rather than left holding ports.
_live_servers: weakref.WeakSet[LlamaServer] = weakref.WeakSet()


class LlamaServerError(RuntimeError):
    """The server could not be started (the message carries its log tail)."""


def embedded_engine_problem() -> str | None:
    """Why the xllamacpp engine cannot run here, or None when it can."""
    from openclaw.local.serve import cpu_lacks_avx2

    try:
        import xllamacpp  # noqa: F401
    except ImportError as exc:
        return f"xllamacpp is not installed ({exc}): pip install -e '.[dev,local]'"
    if cpu_lacks_avx2():
        return f"this CPU lacks AVX2, which xllamacpp needs: set ${LLAMA_SERVER_ENV}"
    return None


def find_llama_server() -> str | None:
    """Path of the llama-server binary ``$OPENCLAW_LLAMA_SERVER`` names, or None.

    A set variable that does not point at an executable file also gives None (never a silent
    fall back to another binary).
    """
    configured = os.environ.get(LLAMA_SERVER_ENV)
    if configured and _is_executable(configured):
        return configured
    return None


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the server when the test
    process dies (even by SIGKILL), so a crashed run leaves no servers behind.

    ``prctl`` is looked up here, before the fork: the child of a threaded
    parent must not do anything that can take a lock (such as ``dlopen``).
    """
    if not _can_tie_to_parent():
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def set_death_signal() -> None:  # pragma: no cover - runs in the child
        prctl(pr_set_pdeathsig, int(signal.SIGTERM))

    return set_death_signal


def _can_tie_to_parent() -> bool:
    # PR_SET_PDEATHSIG fires when the *thread* that started the child exits,
    # so it is only safe from the main thread (a server started from a worker
    # thread would die with that thread).
    return (
        sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread()
    )


class LlamaServer:
    """A running llama-server process. Use :meth:`stop` or ``with``."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        port: int,
        command: list[str],
        log_path: Path,
        owns_log: bool,
        api_key: str | None,
        model_path: Path,
        ctx: int,
        state_dir: Path | None = None,
    ) -> None:
        self.process = process
        self.port = port
        self.command = command
        self.log_path = log_path
        self.api_key = api_key
        self.model_path = model_path
        self.ctx = ctx
        self.alias = MODEL_ALIAS
        self._owns_log = owns_log
        self._state_dir = state_dir
        _live_servers.add(self)

    @property
    def host(self) -> str:
        return HOST

    @property
    def url(self) -> str:
        """Server root, e.g. ``http://127.0.0.1:PORT`` (``/health`` lives here)."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    @property
    def pid(self) -> int:
        return self.process.pid

    def is_running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL). Safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        _live_servers.discard(self)
        if self._state_dir is not None:
            shutil.rmtree(self._state_dir, ignore_errors=True)
        if self._owns_log:
            try:
                self.log_path.unlink()
            except OSError:
                pass

    def __enter__(self) -> LlamaServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else f"exited {self.process.returncode}"
        return f"<LlamaServer {self.base_url} pid={self.pid} {state}>"

    # -- startup ------------------------------------------------------------
    def _health_status(self) -> int | None:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            return response.status
        except OSError:  # refused while the socket is not up yet, resets
            return None
        finally:
            connection.close()

    def _wait_until_ready(self, timeout: float) -> None:
        """Poll /health: 503 while the model loads, 200 once it can serve."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LlamaServerError(
                    f"llama-server exited with code {self.process.returncode} before "
                    f"becoming ready.\ncommand: {' '.join(self.command)}\n"
                    f"log tail:\n{self.log_tail()}"
                )
            if self._health_status() == 200:
                return
            time.sleep(0.05)
        message = (
            f"llama-server not ready after {timeout:.0f}s.\n"
            f"command: {' '.join(self.command)}\nlog tail:\n{self.log_tail()}"
        )
        self.stop()
        raise LlamaServerError(message)


def start_llama_server(
    model_path: str | os.PathLike[str],
    *,
    port: int | None = None,
    ctx: int = 4096,
    api_key: str | None = None,
    ready_timeout: float = 60.0,
    backend: str = "xllamacpp",
    binary: str | None = None,
    log_path: str | os.PathLike[str] | None = None,
) -> LlamaServer:
    """Start the engine launcher for ``model_path`` on 127.0.0.1 and wait for /health.

    ``backend="xllamacpp"`` (default) embeds llama.cpp's server through xllamacpp;
    ``backend="binary"`` runs ``binary`` (default ``$OPENCLAW_LLAMA_SERVER``) through the same
    launcher.  ``port=None`` picks a free port (retrying if another process grabs it first).
    The server runs with one slot (usage/timings are per request, the prompt cache is
    deterministic) and one thread (CI runners have 2 cores), answers as model ``tiny``, uses
    the model's Jinja chat template and never stops for idleness.  ``api_key`` travels in
    ``LLAMA_API_KEY``, as users pass it.

    The log goes to ``log_path`` if given (kept), else to a temporary file that
    :meth:`LlamaServer.stop` removes.  Raises :class:`LlamaServerError` with the log tail if
    the server exits early or never becomes ready, and :class:`FileNotFoundError` if the
    binary backend has no binary.
    """
    if backend == "binary":
        binary = binary or find_llama_server()
        if binary is None:
            raise FileNotFoundError(f"no llama-server binary: set {LLAMA_SERVER_ENV}")
    elif backend != "xllamacpp":
        raise ValueError(f"unknown backend {backend!r}")
    model = Path(model_path)
    if not model.is_file():
        raise FileNotFoundError(f"model not found: {model}")

    attempts = 3 if port is None else 1
    for attempt in range(1, attempts + 1):
        chosen_port = port if port is not None else _free_port()
        server = _launch(binary, model, chosen_port, ctx, api_key, log_path)
        try:
            server._wait_until_ready(ready_timeout)
            return server
        except LlamaServerError:
            log = server.log_tail(200)
            server.stop()
            port_taken = "bind" in log.lower() or "address already in use" in log.lower()
            if attempt < attempts and port_taken:
                continue  # lost the race for the free port: try another one
            raise
    raise AssertionError("unreachable")


def _launch(
    binary: str | None,
    model: Path,
    port: int,
    ctx: int,
    api_key: str | None,
    log_path: str | os.PathLike[str] | None,
) -> LlamaServer:
    command = [
        sys.executable,
        "-m",
        "openclaw.local.serve",
        "--model",
        str(model),
        "--port",
        str(port),
        "--ctx",
        str(ctx),
        "--parallel",
        "1",
        "--threads",
        "1",
        "--alias",
        MODEL_ALIAS,
        "--idle-stop-ms",
        "0",
        "--provider",
        "llama-test-server",
    ]

    if log_path is None:
        fd, name = tempfile.mkstemp(prefix=f"llama-server-{port}-", suffix=".log")
        os.close(fd)
        log_file_path, owns_log = Path(name), True
    else:
        log_file_path, owns_log = Path(log_path), False
        log_file_path.parent.mkdir(parents=True, exist_ok=True)

    # llama-server also reads LLAMA_ARG_* variables (LLAMA_ARG_PORT, ...); drop them so the
    # developer's shell cannot change the test server. The launcher's state file goes to a
    # directory of its own, never into a test's HOME.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LLAMA_ARG_") and k not in (LLAMA_SERVER_ENV, "LLAMA_API_KEY")
    }
    state_dir = tempfile.mkdtemp(prefix="llama-server-state-")
    env["OPENCLAW_STATE_DIR"] = state_dir
    if binary is not None:
        env[LLAMA_SERVER_ENV] = binary
    if api_key is not None:
        env["LLAMA_API_KEY"] = api_key
    with open(log_file_path, "ab") as log_file:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_parent_death_signal(),
        )
    return LlamaServer(
        process,
        port=port,
        command=command,
        log_path=log_file_path,
        owns_log=owns_log,
        api_key=api_key,
        model_path=model,
        ctx=ctx,
        state_dir=Path(state_dir),
    )


@atexit.register
def _stop_leftover_servers() -> None:
    for server in list(_live_servers):
        try:
            server.stop(timeout=5)
        except Exception:
            pass
