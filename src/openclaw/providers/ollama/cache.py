"""What ``/api/show`` said about each model, cached by digest in the state directory.

``{state}/cache/ollama-models.json``: ``{"servers": {ROOT_URL: {MODEL: {"digest",
"contextLength", "capabilities"}}}}``. A model whose digest is unchanged is not asked again;
the chat path reads its context from here without a network round trip. Our own file (not
``openclaw.json``); a damaged file is treated as empty.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_FILE = Path("cache") / "ollama-models.json"
MAX_MODELS_PER_SERVER = 512
MAX_CACHE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ModelInfo:
    digest: str
    context_length: int | None
    capabilities: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "contextLength": self.context_length,
            "capabilities": list(self.capabilities),
        }

    @classmethod
    def from_json(cls, data: Any) -> ModelInfo | None:
        if not isinstance(data, dict) or not isinstance(data.get("digest"), str):
            return None
        ctx = data.get("contextLength")
        caps = data.get("capabilities")
        return cls(
            data["digest"],
            ctx if isinstance(ctx, int) and not isinstance(ctx, bool) and ctx > 0 else None,
            tuple(c for c in caps if isinstance(c, str)) if isinstance(caps, list) else (),
        )


def _path(state_dir: Path) -> Path:
    return state_dir / CACHE_FILE


def _read(state_dir: Path) -> dict[str, Any]:
    path = _path(state_dir)
    try:
        if path.stat().st_size > MAX_CACHE_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    servers = data.get("servers") if isinstance(data, dict) else None
    return servers if isinstance(servers, dict) else {}


def load(state_dir: Path, base: str) -> dict[str, ModelInfo]:
    """The cached models of the server at ``base``."""
    models = _read(state_dir).get(base)
    out: dict[str, ModelInfo] = {}
    for name, raw in (models if isinstance(models, dict) else {}).items():
        info = ModelInfo.from_json(raw)
        if info is not None:
            out[str(name)] = info
    return out


def lookup(state_dir: Path, base: str, model: str) -> ModelInfo | None:
    found = load(state_dir, base)
    return found.get(model) or found.get(_with_latest(model))


def _with_latest(model: str) -> str:
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


def store(state_dir: Path, base: str, models: dict[str, ModelInfo], *, replace: bool) -> None:
    """Save ``models`` for ``base`` (``replace``: the server's full list; else merged in)."""
    servers = _read(state_dir)
    current = {} if replace else dict(servers.get(base) or {})
    current.update({name: info.to_json() for name, info in models.items()})
    servers[base] = dict(list(current.items())[-MAX_MODELS_PER_SERVER:])
    path = _path(state_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"servers": servers}, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs a request next time
