"""The built-in engine's lifetime, seen from a command: find it, start it, stop it.

A provider with a ``localService`` block (core.md §2) names the command that serves it. The
first request that needs the engine starts that command as a detached process (its own session,
output in ``<stateDir>/local/<provider>.log``) which outlives the command; later commands find
it on the port and reuse it. Two commands starting at once serialise on the start lock
(``state.start_lock``) and the second one reuses the first one's engine.

Something already answering on the port is reused only when it identifies as this provider's
engine: its ``/props`` (or ``/v1/models``) names the configured model file. Anything else there
is an error naming the port. Every request goes through ``openclaw.net``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit

from openclaw.config.paths import Paths
from openclaw.errors import EngineError, NetworkError, OpenClawError, UnreachableError
from openclaw.local import state as engine_state
from openclaw.local.spec import safe_text
from openclaw.local.state import EngineState

DEFAULT_READY_TIMEOUT_MS = 120_000
STOP_TIMEOUT = 10.0
Presence = Literal["ours", "foreign", "down", "loading"]
_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class EngineConfig:
    """One provider's ``localService`` block, resolved."""

    provider_id: str
    provider_config: dict = field(repr=False)
    base_url: str  # the inference base, ``http://127.0.0.1:PORT/v1``
    port: int
    command: str
    args: tuple[str, ...]
    cwd: str | None
    env: Mapping[str, str]
    health_url: str
    ready_timeout: float  # seconds
    model_file: str | None  # the ``--model`` the command serves, when it names one
    context: int | None

    @property
    def root_url(self) -> str:
        """The server root (``/props`` and ``/health`` live there)."""
        base = self.base_url.rstrip("/")
        return base[: -len("/v1")] if base.endswith("/v1") else base

    @property
    def label(self) -> str:
        return safe_text(Path(self.model_file).name if self.model_file else self.command, 80)


def _flag_value(args: tuple[str, ...], *names: str) -> str | None:
    """The value of the first of ``names`` (in that order of preference) found in ``args``."""
    for name in names:
        for index, arg in enumerate(args):
            if arg == name and index + 1 < len(args):
                value = args[index + 1]
                # ``python -m openclaw.local.serve``: a module name, not llama-server's -m FILE
                if name == "-m" and not value.lower().endswith(".gguf"):
                    continue
                return value
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def engine_config(provider_id: str, provider_cfg: Mapping[str, Any]) -> EngineConfig | None:
    """The engine settings of a provider, or None when it has no ``localService`` block."""
    service = provider_cfg.get("localService")
    if not isinstance(service, dict):
        return None
    where = f"models.providers.{provider_id}"
    command = service.get("command")
    if not isinstance(command, str) or not command.strip():
        raise EngineError(f"{where}.localService.command is missing")
    base = provider_cfg.get("baseUrl")
    if not isinstance(base, str) or not base:
        raise EngineError(f"{where}.baseUrl is missing; the engine's port is taken from it")
    parts = urlsplit(base)
    if parts.hostname not in _LOOPBACK_HOSTS or parts.port is None:
        raise EngineError(
            f"{where}.baseUrl must name a loopback address and port for a local engine "
            f"(got {safe_text(base, 100)})"
        )
    raw_args = service.get("args")
    args = tuple(str(a) for a in raw_args) if isinstance(raw_args, list) else ()
    raw_env = service.get("env")
    env = {str(k): str(v) for k, v in raw_env.items()} if isinstance(raw_env, dict) else {}
    health = service.get("healthUrl")
    timeout_ms = service.get("readyTimeoutMs")
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or timeout_ms <= 0:
        timeout_ms = DEFAULT_READY_TIMEOUT_MS
    context_text = _flag_value(args, "--ctx", "--ctx-size", "-c")
    cwd = service.get("cwd")
    return EngineConfig(
        provider_id=provider_id,
        provider_config=dict(provider_cfg),
        base_url=base.rstrip("/"),
        port=parts.port,
        command=command,
        args=args,
        cwd=cwd if isinstance(cwd, str) and cwd else None,
        env=env,
        health_url=health if isinstance(health, str) and health else base.rstrip("/") + "/models",
        ready_timeout=timeout_ms / 1000,
        model_file=_flag_value(args, "--model", "-m"),
        context=int(context_text) if context_text and context_text.isdigit() else None,
    )


# -- asking the port --------------------------------------------------------------------------


def _client(config: EngineConfig) -> Any:
    from openclaw.net.blocking import blocking_client
    from openclaw.net.policy import policy_for_provider_config

    policy = policy_for_provider_config(config.provider_id, config.provider_config)
    return blocking_client(policy, timeout=5.0, max_body_bytes=2 * 1024 * 1024)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normpath(a) == os.path.normpath(b)


def _names_model(data: Any, model_file: str) -> bool:
    """Whether a ``/props`` or ``/v1/models`` body names ``model_file``."""
    if not isinstance(data, dict):
        return False
    candidates: list[Any] = [data.get("model_path")]
    for key, name_key in (("data", "id"), ("models", "model")):
        items = data.get(key)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                candidates.append(item.get(name_key))
    basename = os.path.basename(model_file)
    return any(
        isinstance(c, str) and c and (c == basename or _same_file(c, model_file))
        for c in candidates
    )


def identify(config: EngineConfig, client: Any, api_key: str | None = None) -> Presence:
    """What answers on the engine's port: this provider's engine, something else, nothing, or
    a server still loading its model."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    loading = False
    for url in (config.root_url + "/props", config.base_url + "/models"):
        try:
            response = client.request("GET", url, headers=headers)
        except UnreachableError:
            return "down"
        except NetworkError:
            return "foreign"  # it took the connection but does not answer like llama.cpp
        if response.status_code == 503:
            loading = True
            continue
        if response.status_code != 200:
            continue
        if config.model_file is None:
            return "ours"  # a command that names no model file: a healthy server is all we know
        try:
            data = response.json()
        except ValueError:
            continue
        if _names_model(data, config.model_file):
            return "ours"
    return "loading" if loading else "foreign"


def _health_ok(config: EngineConfig, client: Any) -> bool:
    try:
        return bool(client.request("GET", config.health_url).status_code == 200)
    except OpenClawError:
        return False


# -- progress while it loads ------------------------------------------------------------------


class StartProgress:
    """A spinner with elapsed seconds on a terminal; a plain line every 10 s otherwise."""

    def __init__(self, config: EngineConfig, stream: TextIO | None, enabled: bool) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.text = f"Starting the llama.cpp engine ({config.label}"
        self.text += f", {config.context} context tokens)" if config.context else ")"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> StartProgress:
        if self.tty:
            self._thread = threading.Thread(target=self._spin, daemon=True)
            self._thread.start()
        elif self.enabled:
            self._line(f"{self.text}…")
            self._thread = threading.Thread(target=self._plain, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        if self.tty:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _spin(self) -> None:
        n = 0
        while not self._stop.wait(0.1):
            frame = _FRAMES[n % len(_FRAMES)]
            self.stream.write(f"\r\x1b[2K{frame} {self.text}… {self.elapsed:.0f}s")
            self.stream.flush()
            n += 1

    def _plain(self) -> None:
        while not self._stop.wait(10.0):
            self._line(f"  still starting… {self.elapsed:.0f}s")

    def done(self, pid: int | None, port: int) -> None:
        if self.enabled:
            who = f"pid {pid}, " if pid else ""
            self._stop.set()
            if self.tty:
                self.stream.write("\r\x1b[2K")
            self._line(f"llama.cpp engine ready ({who}port {port}, {self.elapsed:.1f} s)")


# -- starting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineInfo:
    provider: str
    port: int
    pid: int | None  # None when another program started it and left no state file
    started: bool  # this call started it


def _spawn(paths: Paths, config: EngineConfig) -> subprocess.Popen[bytes]:
    command = [config.command, *config.args]
    env = {**os.environ, **config.env}
    options: dict[str, Any] = {}
    if sys.platform == "win32":  # pragma: no cover - Windows only
        flags = 0x00000008 | 0x00000200 | 0x08000000  # DETACHED, NEW_PROCESS_GROUP, NO_WINDOW
        options["creationflags"] = flags
    else:
        options["start_new_session"] = True  # Ctrl-C in the terminal must not reach it
    with engine_state.open_log(paths, config.provider_id) as log:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        log.write(f"--- {stamp} openclaw: starting {safe_text(' '.join(command), 500)}\n".encode())
        log.flush()
        try:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=config.cwd,
                env=env,
                close_fds=True,
                **options,
            )
        except OSError as exc:
            raise EngineError(
                f"Cannot run the engine command {safe_text(config.command, 120)}: "
                f"{exc.strerror or exc}",
                hint=f"Check models.providers.{config.provider_id}.localService.command.",
            ) from None


def _failure(
    paths: Paths, config: EngineConfig, reason: str, stream: TextIO | None, announce: bool
) -> EngineError:
    """The error for a failed start; the log's last lines go to the terminal first."""
    tail = engine_state.log_tail(paths, config.provider_id)
    if announce and tail:
        out = stream or sys.stderr
        where = paths.display(engine_state.log_path(paths, config.provider_id))
        out.write(f"Last lines of {where}:\n" + "".join(f"  {line}\n" for line in tail))
        out.flush()
    if any("bind" in line.lower() or "address already in use" in line.lower() for line in tail):
        reason = f"port {config.port} is already in use"
    return EngineError(
        f"The llama.cpp engine did not start: {reason}",
        hint="See `openclaw local logs`; `openclaw local status` shows what runs.",
    )


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def _wait_ready(
    config: EngineConfig, client: Any, alive: Any, deadline: float
) -> Literal["ready", "exited", "timeout"]:
    while time.monotonic() < deadline:
        if _health_ok(config, client):
            return "ready"
        if not alive():
            return "exited"
        time.sleep(0.1)
    return "timeout"


def _start(
    paths: Paths,
    config: EngineConfig,
    client: Any,
    api_key: str | None,
    stream: TextIO | None,
    announce: bool,
) -> EngineInfo:
    process = _spawn(paths, config)
    with StartProgress(config, stream, announce) as progress:
        outcome: str = _wait_ready(
            config, client, lambda: process.poll() is None, time.monotonic() + config.ready_timeout
        )
        if outcome == "ready" and identify(config, client, api_key) != "ours":
            outcome = "foreign"
        if outcome != "ready":
            _terminate(process)
            engine_state.remove_state(paths, config.provider_id, pid=process.pid)
            reasons = {
                "exited": f"it exited with code {process.returncode}",
                "timeout": f"not ready within {config.ready_timeout:g} s",
                "foreign": f"the server on port {config.port} does not serve {config.label}",
            }
            raise _failure(paths, config, reasons[outcome], stream, announce)
        progress.done(process.pid, config.port)
    return EngineInfo(config.provider_id, config.port, process.pid, started=True)


def _foreign_error(config: EngineConfig) -> EngineError:
    return EngineError(
        f"Port {config.port} is in use by another server, not the {config.provider_id} "
        f"engine for {config.label}",
        hint=f"Stop that server, or move the engine to a free port: `openclaw onboard "
        f"--auth-choice llama-cpp` picks one (or edit models.providers.{config.provider_id}"
        ".baseUrl and the --port in its localService.args).",
    )


def _await_recorded(
    paths: Paths, config: EngineConfig, client: Any, recorded: EngineState
) -> Presence:
    """A recorded engine process lives but does not answer yet (another CLI is loading it)."""
    deadline = time.monotonic() + config.ready_timeout
    alive = lambda: engine_state.process_alive(recorded.pid)  # noqa: E731
    if _wait_ready(config, client, alive, deadline) == "ready":
        return "ours"
    if not engine_state.process_alive(recorded.pid):
        engine_state.remove_state(paths, config.provider_id, pid=recorded.pid)
    return "down"


def ensure_engine(
    paths: Paths,
    config: EngineConfig,
    *,
    api_key: str | None = None,
    announce: bool = True,
    stream: TextIO | None = None,
) -> EngineInfo:
    """Make sure this provider's engine serves on its port; start it when nothing does."""

    def running() -> EngineInfo:
        recorded = engine_state.live_state(paths, config.provider_id)
        pid = recorded.pid if recorded is not None and recorded.port == config.port else None
        return EngineInfo(config.provider_id, config.port, pid, started=False)

    with _client(config) as client:
        presence = identify(config, client, api_key)
        if presence == "ours":
            return running()
        with engine_state.start_lock(paths, timeout=config.ready_timeout + 30):
            presence = identify(config, client, api_key)
            if presence == "loading":
                deadline = time.monotonic() + config.ready_timeout
                _wait_ready(config, client, lambda: True, deadline)
                presence = identify(config, client, api_key)
            if presence == "down":
                recorded = engine_state.live_state(paths, config.provider_id)
                if recorded is not None and recorded.port == config.port:
                    presence = _await_recorded(paths, config, client, recorded)
                elif recorded is not None:
                    # The config moved the engine to another port: one engine per provider.
                    stop_engine(paths, config.provider_id)
            if presence == "ours":
                return running()
            if presence in ("foreign", "loading"):
                raise _foreign_error(config)
            return _start(paths, config, client, api_key, stream, announce)


# -- stopping and status ----------------------------------------------------------------------


def stop_engine(
    paths: Paths, provider_id: str, *, timeout: float = STOP_TIMEOUT
) -> EngineState | None:
    """Stop the recorded engine of ``provider_id``; None when none runs."""
    recorded = engine_state.live_state(paths, provider_id)
    if recorded is None:
        return None
    if not engine_state.looks_like_engine(recorded.pid):
        # The pid was reused by an unrelated program after the engine died: never signal it.
        engine_state.remove_state(paths, provider_id, pid=recorded.pid)
        return None
    _signal(recorded.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while engine_state.process_alive(recorded.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if engine_state.process_alive(recorded.pid):
        _signal(recorded.pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        deadline = time.monotonic() + 5
        while engine_state.process_alive(recorded.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    if engine_state.process_alive(recorded.pid):
        raise EngineError(f"The engine (pid {recorded.pid}) did not stop")
    engine_state.remove_state(paths, provider_id, pid=recorded.pid)
    return recorded


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        raise EngineError(f"Not allowed to stop the engine (pid {pid})") from exc


def engine_health(config: EngineConfig) -> bool:
    """Whether the engine's health URL answers 200 right now."""
    with _client(config) as client:
        return _health_ok(config, client)
