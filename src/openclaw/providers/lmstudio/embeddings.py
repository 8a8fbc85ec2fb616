"""Embeddings through LM Studio's ``POST /v1/embeddings`` (lmstudio.md §8).

Preload (unless ``params.preload: false``) uses the configured context (§8.4), never the
model's advertised maximum; with nothing configured any running instance is used and an
unloaded model is loaded at 2048 tokens (clamped to its maximum).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openclaw.config.settings import ModelSettings
from openclaw.errors import (
    MalformedResponseError,
    ModelLoadError,
    ProviderAuthError,
    ProviderHTTPError,
    ProviderRateLimitError,
    ProviderTransientError,
)
from openclaw.providers.lmstudio import discovery, preload
from openclaw.providers.lmstudio import models as wire
from openclaw.providers.lmstudio.urls import PROVIDER_ID, inference_base, query_of

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig

log = logging.getLogger("openclaw.providers.lmstudio")

DEFAULT_EMBEDDING_MODEL = wire.DEFAULT_EMBEDDING_MODEL
DEFAULT_EMBED_CONTEXT = 2048
EMBED_TIMEOUT = 120.0
BATCH_SIZE = 64
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


@dataclass
class EmbeddingResult:
    provider: str
    model: str  # canonical model key (identity for caches)
    vectors: list[list[float]]
    prompt_tokens: int | None

    @property
    def dimensions(self) -> int:
        return len(self.vectors[0]) if self.vectors else 0


embedding_context = wire.configured_context


def strip_model(model: str | None, provider_id: str) -> str:
    text = (model or "").strip()
    for prefix in (f"{provider_id}/", "lmstudio/"):
        if text.lower().startswith(prefix.lower()):
            text = text[len(prefix) :].strip()
            break
    return text or DEFAULT_EMBEDDING_MODEL


def _configured_row(provider_cfg: Mapping[str, Any], model: str) -> dict | None:
    rows = provider_cfg.get("models")
    for row in rows if isinstance(rows, list) else []:
        if (
            isinstance(row, dict)
            and isinstance(row.get("id"), str)
            and strip_model(row["id"], PROVIDER_ID) == model
        ):
            return row
    return None


def _parse_vectors(
    body: bytes, count: int, sent: Mapping[str, str] | None = None
) -> tuple[list[list[float]], int | None]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedResponseError(
            "lmstudio embeddings failed: malformed JSON response"
        ) from None
    if isinstance(data, dict) and data.get("error"):
        # a 200 that carries an error object: the server's own message says what went wrong
        raise MalformedResponseError(
            f"lmstudio embeddings failed: {_server_message(body, sent or {})}",
            hint="Check the model and the LM Studio server log.",
        )
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) != count:
        raise MalformedResponseError("lmstudio embeddings failed: unexpected response shape")
    out: list[list[float] | None] = [None] * count
    for pos, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("embedding"), list):
            raise MalformedResponseError("lmstudio embeddings failed: unexpected response shape")
        index = item.get("index", pos)
        if not isinstance(index, int) or not 0 <= index < count or out[index] is not None:
            raise MalformedResponseError("lmstudio embeddings failed: bad embedding index")
        vector = item["embedding"]
        if not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            for x in vector
        ):
            raise MalformedResponseError("lmstudio embeddings failed: non-numeric embedding")
        out[index] = [float(x) for x in vector]
    usage = data.get("usage") if isinstance(data, dict) else None
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    return [v for v in out if v is not None], tokens if isinstance(tokens, int) else None


async def _preload(
    client: Any,
    base: str,
    key: str,
    api_key: str | None,
    headers: Mapping[str, str],
    configured: int | None,
) -> tuple[str, str]:
    """Load the model at the configured context; (canonical key, model name to send)."""
    try:
        ready = await preload.prepare_model(
            base,
            key,
            api_key=api_key,
            headers=headers,
            requested_context=configured or DEFAULT_EMBED_CONTEXT,
            accept_any_loaded=configured is None,
            timeout=client.timeout,
            client=client,
        )
    except ModelLoadError as exc:  # LmstudioLoadError or RequiredContextError
        # §8.3: the model may already be usable (loaded in the LM Studio UI).
        key = getattr(exc, "resolved_model_key", None) or key
        log.warning("LM Studio embedding preload failed, continuing: %s", exc.message)
        return key, key
    return ready.model_key, ready.instance_id or ready.model_key


async def embed_texts(
    cfg: LoadedConfig,
    texts: list[str],
    *,
    model: str | None = None,
    provider_id: str = PROVIDER_ID,
    batch_size: int = BATCH_SIZE,
) -> EmbeddingResult:
    """Embed ``texts`` (batched, order kept) with preload at the configured context."""
    from openclaw.providers.endpoint import resolve_endpoint

    key = strip_model(model, provider_id)
    if not texts:
        return EmbeddingResult(provider_id, key, [], 0)
    endpoint = resolve_endpoint(cfg, provider_id)
    provider_cfg = dict(endpoint.provider_config)
    base = inference_base(endpoint.base_url)
    provider_cfg["baseUrl"] = base
    query = query_of(endpoint.base_url)
    headers = endpoint.headers
    api_key = discovery.runtime_api_key(endpoint)
    wire_model = key
    seconds = endpoint.timeout_seconds or EMBED_TIMEOUT
    async with endpoint.client(timeout=seconds, max_body_bytes=MAX_RESPONSE_BYTES) as client:
        if endpoint.provider.params.get("preload") is not False:
            configured = embedding_context(
                ModelSettings.read(_configured_row(provider_cfg, key) or {}, provider_cfg)
            )
            key, wire_model = await _preload(client, base, key, api_key, headers, configured)
        send_headers = discovery.build_auth_headers(api_key, headers)
        url = base + "/embeddings" + (f"?{query}" if query else "")
        vectors: list[list[float]] = []
        tokens: int | None = 0
        for start in range(0, len(texts), max(1, batch_size)):
            batch = texts[start : start + batch_size]
            response = await client.request(
                "POST", url, json={"model": wire_model, "input": batch}, headers=send_headers
            )
            if not 200 <= response.status_code < 300:
                raise _http_error(response.status_code, response.content, key, send_headers)
            got, used = _parse_vectors(response.content, len(batch), send_headers)
            vectors.extend(got)
            tokens = None if tokens is None or used is None else tokens + used
    return EmbeddingResult(provider_id, key, vectors, tokens)


def _server_message(body: bytes, sent: Mapping[str, str]) -> str:
    """The server's own message from an error body (any envelope), short and key-free."""
    from openclaw.llm.errors import error_text

    return preload.redact_load_text(error_text(body[:8192]), sent) if body.strip() else ""


def _http_error(
    status: int, body: bytes, model: str, sent: Mapping[str, str] | None
) -> ProviderHTTPError:
    """A non-2xx answer with a hint for its status: the key, waiting, or the server's word."""
    from openclaw.config.kinds import LMSTUDIO

    detail = _server_message(body, sent or {})
    message = f"lmstudio embeddings failed (HTTP {status})" + (f": {detail}" if detail else "")
    error: type[ProviderHTTPError] = ProviderHTTPError
    hint = f"Is {model} an embedding model available in LM Studio?"
    if status in (401, 403):
        error = ProviderAuthError
        hint = (
            f"LM Studio refused the API key: set {LMSTUDIO.key_env_var} (or the provider's "
            "apiKey) to a valid token, or run `openclaw onboard --auth-choice lmstudio`."
        )
    elif status == 429:
        error, hint = ProviderRateLimitError, "LM Studio is busy; wait a moment and retry."
    elif status >= 500:
        error = ProviderTransientError
        hint = "LM Studio reported a server error (its own message is above); check its log."
    return error(message, status=status, body_excerpt=detail, hint=hint)
