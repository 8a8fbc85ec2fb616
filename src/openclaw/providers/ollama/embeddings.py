"""Embeddings through Ollama's ``POST /api/embed`` (``{model, input: [..]}`` ->
``{embeddings: [[..]], prompt_eval_count}``), batched; ``options.num_ctx`` follows the same
context rule as chat."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openclaw.config.settings import ModelSettings
from openclaw.errors import MalformedResponseError, ProviderHTTPError, ProviderNotFoundError
from openclaw.llm.ollama_context import num_ctx

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.providers.ollama.server import Server

DEFAULT_EMBEDDING_MODEL = "nomic-embed-text"
EMBED_TIMEOUT = 300.0  # a cold load sends nothing until the model is in memory
BATCH_SIZE = 64


@dataclass
class EmbeddingResult:
    provider: str
    model: str
    vectors: list[list[float]]
    prompt_tokens: int | None

    @property
    def dimensions(self) -> int:
        return len(self.vectors[0]) if self.vectors else 0


def model_name(model: str | None, provider_id: str) -> str:
    text = (model or "").strip()
    if text.lower().startswith(f"{provider_id.lower()}/"):
        text = text[len(provider_id) + 1 :].strip()
    return text or DEFAULT_EMBEDDING_MODEL


def _vectors(data: Any, expected: int, model: str) -> list[list[float]]:
    raw = data.get("embeddings") if isinstance(data, dict) else None
    if not isinstance(raw, list) or len(raw) != expected:
        raise MalformedResponseError(f"Ollama /api/embed for {model} returned no usable vectors")
    out: list[list[float]] = []
    for vector in raw:
        if not isinstance(vector, list) or not vector:
            raise MalformedResponseError(f"Ollama /api/embed for {model}: a vector is empty")
        values = [
            float(x) for x in vector if isinstance(x, int | float) and not isinstance(x, bool)
        ]
        if len(values) != len(vector) or not all(math.isfinite(x) for x in values):
            raise MalformedResponseError(f"Ollama /api/embed for {model}: non-numeric values")
        out.append(values)
    return out


async def _embed_batch(server: Server, model: str, texts: list[str], ctx: int) -> Any:
    from openclaw.providers.ollama.server import post_json

    body = {"model": model, "input": texts, "options": {"num_ctx": ctx}}
    try:
        return await post_json(server, "/api/embed", body, EMBED_TIMEOUT)
    except ProviderHTTPError as exc:
        if exc.status == 404 and "not found" in exc.message:
            raise ProviderNotFoundError(
                f"Embedding model {model!r} is not installed on Ollama at {server.base}: "
                f"run `ollama pull {model}` and retry",
                status=404,
            ) from None
        raise


async def embed_texts(
    cfg: LoadedConfig, texts: list[str], *, model: str | None, provider_id: str
) -> EmbeddingResult:
    from openclaw.providers.ollama.server import server_of_config

    name = model_name(model, provider_id)
    provider_cfg = cfg.provider(provider_id) or {}
    row = next(
        (
            r
            for r in provider_cfg.get("models") or []
            if isinstance(r, dict) and r.get("id") == name
        ),
        {},
    )
    server = server_of_config(cfg, provider_id)
    from openclaw.providers.ollama.discovery import cached_or_shown

    info = cached_or_shown(server, name, cfg.paths.state_dir)
    model_settings = ModelSettings.read(row, provider_cfg)
    ctx = num_ctx(model_settings, info.context_length if info else None)
    vectors: list[list[float]] = []
    tokens: int | None = None
    for start in range(0, len(texts), BATCH_SIZE):
        batch = texts[start : start + BATCH_SIZE]
        data = await _embed_batch(server, name, batch, ctx)
        vectors += _vectors(data, len(batch), name)
        count = data.get("prompt_eval_count")
        if isinstance(count, int) and not isinstance(count, bool):
            tokens = (tokens or 0) + count
    return EmbeddingResult(provider_id, name, vectors, tokens)
