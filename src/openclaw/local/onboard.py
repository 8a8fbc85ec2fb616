"""Setting up the built-in engine: a model, the engine running, a working config.

``openclaw onboard --auth-choice llama-cpp`` (through ``providers.llamacpp.onboard``, which
turns the result into the onboarding contract's outcome) and ``openclaw local start MODEL``.

Downloads the model (or takes ``--model-path``), starts the engine on a free loopback port and
only when it answers writes the ``llama-cpp`` provider in the TypeScript OpenClaw's own shape:
``baseUrl``, the model row, and a ``localService`` block whose command is this Python running
``openclaw.local.serve``, so the TypeScript CLI reading the same file starts the same engine.
On any failure nothing is written.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw.config.kinds import LLAMA_CPP
from openclaw.errors import OpenClawError, UsageError
from openclaw.local.spec import safe_text

if TYPE_CHECKING:
    from openclaw.config.paths import Paths
    from openclaw.local.engine import EngineInfo

PROVIDER_ID = LLAMA_CPP.id
#: The TypeScript OpenClaw refuses a model context below 16 000 tokens (core.md §2.3).
DEFAULT_CONTEXT = 16384
MIN_CONTEXT = 2048
MAX_CONTEXT = 1 << 20
DEFAULT_MAX_TOKENS = 4096
READY_TIMEOUT_MS = 120_000
IDLE_STOP_MS = 15 * 60 * 1000
_SPLIT_SUFFIX = re.compile(r"-\d{5}-of-\d{5}$", re.IGNORECASE)


def model_id_for_file(path: str | Path) -> str:
    """The model id a GGUF file is served as: its name without ``.gguf`` or a split suffix."""
    stem = Path(path).name
    if stem.lower().endswith(".gguf"):
        stem = stem[: -len(".gguf")]
    return _SPLIT_SUFFIX.sub("", stem) or "model"


@dataclass(frozen=True)
class ModelChoice:
    path: Path
    model_id: str
    name: str
    size: int
    repo: str | None = None
    row_extra: dict[str, Any] = field(default_factory=dict)
    reasoning: bool = False


def _local_file(text: str) -> ModelChoice:
    path = Path(text).expanduser()
    if not path.is_file():
        raise UsageError(f"--model-path {safe_text(text, 300)}: no such file")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise UsageError(
            f"--model-path {safe_text(text, 300)}: cannot read it ({exc.strerror})"
        ) from None
    if magic != b"GGUF":
        raise UsageError(f"--model-path {safe_text(text, 300)} is not a GGUF model file")
    path = Path(os.path.abspath(path))
    model_id = model_id_for_file(path)
    return ModelChoice(path, model_id, model_id, path.stat().st_size)


def _downloaded(spec: str) -> ModelChoice:
    import anyio

    from openclaw.local.catalog import catalog_for_file
    from openclaw.local.download import pull_model

    pulled = anyio.run(lambda: pull_model(spec, progress=True))
    entry = catalog_for_file(pulled.repo, pulled.file)
    model_id = model_id_for_file(pulled.path)
    return ModelChoice(
        path=Path(pulled.path),
        model_id=model_id,
        name=f"{model_id} ({pulled.repo})",
        size=pulled.size,
        repo=pulled.repo,
        row_extra=dict(entry.row) if entry else {},
        reasoning=entry.reasoning if entry else False,
    )


def _ask_catalog() -> str:
    """Interactive pick from the built-in catalog, with sizes (the default first)."""
    import questionary

    from openclaw.local.catalog import CATALOG
    from openclaw.local.progress import human_bytes

    choices = [
        questionary.Choice(
            f"{m.repo}:{m.quant}  ~{human_bytes(m.approx_size)}  {m.license}  {m.summary}",
            value=m.spec,
        )
        for m in CATALOG
    ]
    answer = questionary.select("Model to download", choices=choices).ask()
    if answer is None:
        raise UsageError("Onboarding cancelled")
    return str(answer)


@dataclass(frozen=True)
class SetupRequest:
    model: str | None = None  # ORG/REPO[:QUANT] or a catalog id (default: the catalog's)
    model_path: str | None = None  # a local .gguf (no download)
    context: int | None = None
    interactive: bool = False  # may offer the catalog when no model is given


@dataclass
class EngineSetup:
    provider_id: str
    default_ref: str
    config_path: str
    backup_path: str | None
    workspace: str
    sessions: str
    lines: list[str]
    details: dict[str, Any]


def choose_model(req: SetupRequest) -> ModelChoice:
    if req.model and req.model_path:
        raise UsageError("Give either --model or --model-path, not both")
    if req.model_path:
        return _local_file(req.model_path)
    spec = req.model
    if spec is None and req.interactive and sys.stdin.isatty():
        spec = _ask_catalog()
    if spec is None:
        from openclaw.local.catalog import DEFAULT_MODEL

        spec = DEFAULT_MODEL.spec
    return _downloaded(spec)


def _context(req: SetupRequest) -> int:
    context = req.context or DEFAULT_CONTEXT
    if not MIN_CONTEXT <= context <= MAX_CONTEXT:
        raise UsageError(f"--context must be between {MIN_CONTEXT} and {MAX_CONTEXT} tokens")
    return context


def engine_args(model: ModelChoice, context: int, port: int) -> list[str]:
    return [
        "-m",
        "openclaw.local.serve",
        "--model",
        str(model.path),
        "--ctx",
        str(context),
        "--port",
        str(port),
        "--alias",
        model.model_id,
        "--provider",
        PROVIDER_ID,
    ]


def provider_block(
    model: ModelChoice, context: int, port: int, existing: dict[str, Any]
) -> dict[str, Any]:
    """The ``models.providers.llama-cpp`` entry (only keys the TypeScript schema knows)."""
    base_url = f"http://127.0.0.1:{port}/v1"
    replaced = ("baseUrl", "baseURL", "api", "apiKey", "auth", "models", "localService")
    block = {k: v for k, v in existing.items() if k not in replaced}
    row: dict[str, Any] = {
        "id": model.model_id,
        "name": model.name,
        "reasoning": model.reasoning,
        "input": ["text"],
        "contextWindow": context,
        "maxTokens": min(DEFAULT_MAX_TOKENS, context // 4),
        **model.row_extra,
    }
    block.update(
        baseUrl=base_url,
        api="openai-completions",
        models=[row],
        localService={
            "command": sys.executable,
            "args": engine_args(model, context, port),
            "healthUrl": f"{base_url}/models",
            "readyTimeoutMs": READY_TIMEOUT_MS,
            "idleStopMs": IDLE_STOP_MS,
        },
    )
    return block


def _port(paths: Paths, existing: dict[str, Any]) -> int:
    """The port the engine had (when it is still ours or free), else a new free one."""
    from openclaw.local.engine import engine_config
    from openclaw.local.state import live_state
    from openclaw.net.ports import free_loopback_port, port_is_free

    try:
        previous = engine_config(PROVIDER_ID, existing)
    except OpenClawError:  # an unusable old block: simply choose a new port
        previous = None
    if previous is not None:
        recorded = live_state(paths, PROVIDER_ID)
        if (recorded is not None and recorded.port == previous.port) or port_is_free(previous.port):
            return previous.port
    return free_loopback_port()


def _mutator(block: dict[str, Any], workspace: str) -> Any:
    ref = f"{PROVIDER_ID}/{block['models'][0]['id']}"

    def mutate(doc: dict) -> None:
        models = doc.get("models")
        if not isinstance(models, dict):
            models = doc["models"] = {}
        models["mode"] = models.get("mode") or "merge"
        providers = models.get("providers")
        if not isinstance(providers, dict):
            providers = models["providers"] = {}
        providers[PROVIDER_ID] = block
        agents = doc.setdefault("agents", {})
        defaults = agents.setdefault("defaults", {})
        defaults.setdefault("workspace", workspace)
        current = defaults.get("model")
        defaults["model"] = (
            {**current, "primary": ref} if isinstance(current, dict) else {"primary": ref}
        )

    return mutate


def _start_engine(
    paths: Paths, block: dict[str, Any], model: ModelChoice, context: int
) -> EngineInfo:
    """Stop an engine serving something else, then start (or reuse) the new one."""
    from openclaw.local.engine import engine_config, ensure_engine, stop_engine
    from openclaw.local.state import live_state

    config = engine_config(PROVIDER_ID, block)
    assert config is not None
    recorded = live_state(paths, PROVIDER_ID)
    if recorded is not None and (
        recorded.port != config.port
        or recorded.model != str(model.path)
        or recorded.context != context
    ):
        stop_engine(paths, PROVIDER_ID)
    return ensure_engine(paths, config, announce=True)


def _authored_provider(raw: dict[str, Any]) -> dict[str, Any]:
    models = raw.get("models")
    providers = models.get("providers") if isinstance(models, dict) else None
    existing = providers.get(PROVIDER_ID) if isinstance(providers, dict) else None
    return existing if isinstance(existing, dict) else {}


def setup_engine(req: SetupRequest) -> EngineSetup:
    """Download or take the model, start the engine, then write the config (nothing on error)."""
    from openclaw.config.atomic import ensure_private_dir
    from openclaw.config.loader import load_config
    from openclaw.config.writer import update_config
    from openclaw.local.progress import human_bytes

    cfg = load_config()  # an invalid config stops here, before any download
    paths = cfg.paths
    context = _context(req)
    model = choose_model(req)
    existing = _authored_provider(cfg.raw)
    block = provider_block(model, context, _port(paths, existing), existing)
    info = _start_engine(paths, block, model, context)
    workspace = paths.workspace_dir
    result = update_config(_mutator(block, str(workspace)), paths)
    ensure_private_dir(workspace)
    ensure_private_dir(paths.sessions_dir())
    base_url = block["baseUrl"]
    return EngineSetup(
        provider_id=PROVIDER_ID,
        default_ref=f"{PROVIDER_ID}/{model.model_id}",
        config_path=paths.display(result.path),
        backup_path=paths.display(result.backup_path) if result.backup_path else None,
        workspace=paths.display(workspace),
        sessions=paths.display(paths.sessions_dir()),
        lines=[
            f"Model: {safe_text(str(model.path), 400)} ({human_bytes(model.size)})",
            f"Engine: {base_url} (pid {info.pid}), {context} context tokens; "
            "it stops after 15 idle minutes and starts again on the next request.",
        ],
        details={
            "modelPath": str(model.path),
            "repo": model.repo,
            "baseUrl": base_url,
            "port": info.port,
            "pid": info.pid,
            "context": context,
        },
    )
