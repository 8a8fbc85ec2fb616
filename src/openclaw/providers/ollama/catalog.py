"""Ollama models as catalog rows (``models list --refresh``) and the server's state for
``models status --probe``: discovered maximum, the ``num_ctx`` that will be sent, what is
loaded and with which context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openclaw.config.settings import ModelSettings
from openclaw.errors import OpenClawError, UnreachableError
from openclaw.llm.ollama_context import resolve_num_ctx
from openclaw.providers.ollama import discovery
from openclaw.providers.ollama.cache import ModelInfo

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.llm.types import ModelSpec
    from openclaw.models.catalog import CatalogEntry
    from openclaw.providers.ollama.server import Server


def _authored_row(provider_cfg: dict, model: str) -> dict:
    rows = provider_cfg.get("models")
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and row.get("id") == model:
            return row
    return {}


def discovered_row(tag: discovery.TagEntry, info: ModelInfo | None, provider_cfg: dict) -> dict:
    """contextWindow = the model's maximum; contextTokens = the num_ctx that will be sent."""
    caps = info.capabilities if info else ()
    row: dict[str, Any] = {"id": tag.name, "name": tag.name}
    row["input"] = ["text", "image"] if "vision" in caps else ["text"]
    row["reasoning"] = "thinking" in caps
    if caps:
        row["capabilities"] = list(caps)
    maximum = info.context_length if info else None
    if maximum:
        row["contextWindow"] = maximum
    authored = ModelSettings.read(_authored_row(provider_cfg, tag.name), provider_cfg)
    row["contextTokens"] = resolve_num_ctx(authored, maximum)[0]
    return row


def _tags(
    tag: discovery.TagEntry, info: ModelInfo | None, num_ctx: int, loaded: dict[str, Any]
) -> list[str]:
    out = [f"num_ctx {num_ctx}"]
    if info and info.context_length:
        out.append(f"max {info.context_length}")
    out += [c for c in (info.capabilities if info else ()) if c != "completion"]
    if tag.name in loaded:
        ctx = loaded[tag.name].context_length
        out.append(f"loaded {ctx} ctx" if ctx else "loaded")
    return out


async def discover_entries(cfg: LoadedConfig, provider_id: str) -> list[CatalogEntry]:
    from openclaw.models.catalog import CatalogEntry, apply_row_defaults
    from openclaw.providers.ollama.server import server_of_config

    provider_cfg = dict(cfg.provider(provider_id) or {})
    server = server_of_config(cfg, provider_id)
    try:
        tags = await discovery.list_tags(server)
    except UnreachableError as exc:
        from openclaw.llm.ollama_chat import start_hint

        exc.hint = start_hint(server.base)
        raise
    infos = await discovery.model_infos(server, tags, cfg.paths.state_dir)
    loaded = {item.name: item for item in await _loaded_or_empty(server)}
    provider_cfg.setdefault("baseUrl", server.base)
    out = []
    for tag in tags:
        row = apply_row_defaults(
            discovered_row(tag, infos.get(tag.name), provider_cfg), provider_cfg
        )
        labels = _tags(tag, infos.get(tag.name), row["contextTokens"], loaded)
        out.append(CatalogEntry(provider_id, tag.name, row, provider_cfg, "discovered", labels))
    return out


async def _loaded_or_empty(server: Server) -> list[discovery.Loaded]:
    try:
        return await discovery.list_loaded(server)
    except OpenClawError:
        return []  # an old Ollama without /api/ps still lists its models


async def probe_details(spec: ModelSpec) -> dict:
    """Reachability, loaded models with their allocated context, this model's numbers."""
    from openclaw.providers.ollama.server import server_of_spec

    server = server_of_spec(spec)
    details: dict[str, Any] = {"server": server.base}
    try:
        tags = await discovery.list_tags(server)
        loaded = await _loaded_or_empty(server)
    except OpenClawError as exc:
        details.update(reachable=not isinstance(exc, UnreachableError), error=exc.message)
        return details
    details["reachable"] = True
    details["loaded"] = [
        {"model": item.name, "instance": item.name, "context": item.context_length}
        for item in loaded
    ]
    model = spec.wire_model_id
    names = {tag.name for tag in tags}
    installed = model in names or f"{model}:latest" in names
    running = next((i for i in loaded if i.name in (model, f"{model}:latest")), None)
    info = None
    if installed:
        try:
            info = await discovery.show(server, model)
        except OpenClawError:
            info = None
    details["model"] = {
        "key": model,
        "installed": installed,
        "loaded": running is not None,
        "loadedContext": running.context_length if running else None,
        "maxContext": info.context_length if info else None,
        "requestedContext": resolve_num_ctx(spec.model, info.context_length if info else None)[0],
    }
    return details
