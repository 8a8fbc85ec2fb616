"""Discovery against Ollama's own API (ollama.md §C): ``GET /api/tags`` for the list,
``POST /api/show`` per model (8 at a time, only for digests not cached) for the context length
and capabilities, ``GET /api/ps`` for what is loaded and the context it was given."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw.errors import OpenClawError
from openclaw.providers.ollama import cache
from openclaw.providers.ollama.cache import ModelInfo
from openclaw.providers.ollama.server import (
    DISCOVERY_TIMEOUT,
    SHOW_TIMEOUT,
    Server,
    get_json,
    post_json,
    post_json_sync,
)

SHOW_CONCURRENCY = 8
MAX_MODELS = 1000
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class TagEntry:
    name: str
    digest: str
    size: int | None
    family: str | None
    parameter_size: str | None
    quantization: str | None


@dataclass(frozen=True)
class Loaded:
    name: str
    context_length: int | None
    size_vram: int | None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _str(value: Any) -> str | None:
    return value[:MAX_NAME_CHARS] if isinstance(value, str) and value.strip() else None


def parse_tags(data: Any) -> list[TagEntry]:
    models = data.get("models") if isinstance(data, dict) else None
    out: list[TagEntry] = []
    for item in (models if isinstance(models, list) else [])[:MAX_MODELS]:
        if not isinstance(item, dict):
            continue
        name = _str(item.get("name")) or _str(item.get("model"))
        if name is None or not name.isprintable():
            continue
        raw_details = item.get("details")
        details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
        out.append(
            TagEntry(
                name=name,
                digest=_str(item.get("digest")) or "",
                size=_int(item.get("size")),
                family=_str(details.get("family")),
                parameter_size=_str(details.get("parameter_size")),
                quantization=_str(details.get("quantization_level")),
            )
        )
    return out


def parse_show(data: Any, digest: str) -> ModelInfo:
    """Context = the first positive ``*.context_length`` in ``model_info``."""
    info = data.get("model_info") if isinstance(data, dict) else None
    context = None
    for key, value in (info if isinstance(info, dict) else {}).items():
        if isinstance(key, str) and key.endswith(".context_length") and _int(value):
            context = int(value)
            break
    caps = data.get("capabilities") if isinstance(data, dict) else None
    capabilities = tuple(c for c in caps if isinstance(c, str)) if isinstance(caps, list) else ()
    return ModelInfo(digest, context, capabilities)


def parse_ps(data: Any) -> list[Loaded]:
    models = data.get("models") if isinstance(data, dict) else None
    out = []
    for item in (models if isinstance(models, list) else [])[:MAX_MODELS]:
        if isinstance(item, dict) and _str(item.get("name") or item.get("model")):
            name = _str(item.get("name")) or _str(item.get("model")) or ""
            out.append(Loaded(name, _int(item.get("context_length")), _int(item.get("size_vram"))))
    return out


async def list_tags(server: Server) -> list[TagEntry]:
    return parse_tags(await get_json(server, "/api/tags", DISCOVERY_TIMEOUT))


async def list_loaded(server: Server) -> list[Loaded]:
    return parse_ps(await get_json(server, "/api/ps", DISCOVERY_TIMEOUT))


async def show(server: Server, model: str, digest: str = "") -> ModelInfo:
    return parse_show(await post_json(server, "/api/show", {"model": model}, SHOW_TIMEOUT), digest)


async def model_infos(
    server: Server, tags: list[TagEntry], state_dir: Path
) -> dict[str, ModelInfo]:
    """``/api/show`` for each model whose digest is not cached, 8 at a time; a model whose
    show fails keeps no info (it is still listed)."""
    import anyio

    cached = cache.load(state_dir, server.base)
    infos: dict[str, ModelInfo] = {}
    limiter = anyio.CapacityLimiter(SHOW_CONCURRENCY)

    async def one(tag: TagEntry) -> None:
        hit = cached.get(tag.name)
        if hit is not None and tag.digest and hit.digest == tag.digest:
            infos[tag.name] = hit
            return
        async with limiter:
            try:
                infos[tag.name] = await show(server, tag.name, tag.digest)
            except OpenClawError:
                pass

    async with anyio.create_task_group() as group:
        for tag in tags:
            group.start_soon(one, tag)
    cache.store(state_dir, server.base, infos, replace=True)
    return infos


def cached_or_shown(server: Server, model: str, state_dir: Path) -> ModelInfo | None:
    """The model's info from the cache, else one short synchronous ``/api/show`` (cached);
    None when the server cannot tell (it is not running, or the model is not installed)."""
    hit = cache.lookup(state_dir, server.base, model)
    if hit is not None:
        return hit
    try:
        info = parse_show(post_json_sync(server, "/api/show", {"model": model}), "")
    except OpenClawError:
        return None
    cache.store(state_dir, server.base, {model: info}, replace=False)
    return info
