"""What an OpenAI-compatible server says it serves: ``GET {base}/models`` and each model's context.

The context a server actually runs with wins over what the model was trained for:
vLLM and SGLang report ``max_model_len``, llama-server ``meta.n_ctx`` (and ``/props``
``default_generation_settings.n_ctx``); ``meta.n_ctx_train`` is only the training context.
Numbers from a server are untrusted: negative, NaN, huge, strings and booleans are ignored.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openclaw.errors import MalformedResponseError, ProviderAuthError, ProviderHTTPError

if TYPE_CHECKING:
    from openclaw.net.client import GuardedAsyncClient
    from openclaw.net.policy import NetPolicy

LIST_TIMEOUT = 5.0
LIST_BODY_CAP = 4 * 1024 * 1024
#: Context lengths above this are impossible (the TypeScript schema's int range).
MAX_CONTEXT = 2**31 - 1
MAX_MODELS = 2000
MAX_ID_LENGTH = 512


@dataclass(frozen=True)
class ServedModel:
    id: str
    context: int | None  # the context to budget with, None when the server does not say
    context_source: str  # "served" | "training" | ""
    owned_by: str | None = None


def context_number(value: Any) -> int | None:
    """A positive whole number of tokens within the possible range, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int) and 0 < value <= MAX_CONTEXT:
        return value
    return None


def _served_and_training(item: Mapping[str, Any]) -> tuple[int | None, int | None]:
    meta = item.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    served = context_number(item.get("max_model_len")) or context_number(meta.get("n_ctx"))
    return served, context_number(meta.get("n_ctx_train"))


def valid_model_id(value: Any) -> str | None:
    """An id that can be written to the config and printed (the one rule in models.refs)."""
    from openclaw.models.refs import model_id_problem

    if not isinstance(value, str) or model_id_problem(value) is not None:
        return None
    return value


def parse_model_list(body: bytes, what: str = "/models") -> list[ServedModel]:
    """The ``data`` list of an OpenAI ``/v1/models`` answer (unknown fields tolerated)."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedResponseError(f"{what} did not return JSON") from None
    items = data.get("data") if isinstance(data, dict) else None
    if items is None and isinstance(data, dict) and data.get("object") == "list":
        items = []  # Ollama with nothing installed says "data": null
    if not isinstance(items, list):
        raise MalformedResponseError(f"{what} did not return a model list")
    models: list[ServedModel] = []
    skipped = 0
    for item in items[:MAX_MODELS]:
        if not isinstance(item, dict):
            continue
        model_id = valid_model_id(item.get("id"))
        if model_id is None:
            skipped += 1
            continue
        served, training = _served_and_training(item)
        context, source = (served, "served") if served else (training, "training")
        owner = item.get("owned_by")
        models.append(
            ServedModel(
                model_id,
                context,
                source if context else "",
                owner if isinstance(owner, str) else None,
            )
        )
    if skipped:
        from openclaw.models.refs import SKIPPED_IDS_REASON

        logging.getLogger(__name__).warning(
            "%s: skipped %d model(s) whose id has %s", what, skipped, SKIPPED_IDS_REASON
        )
    return models


def props_context(body: bytes) -> int | None:
    """llama-server ``/props``: ``default_generation_settings.n_ctx``."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    settings = data.get("default_generation_settings") if isinstance(data, dict) else None
    return context_number(settings.get("n_ctx")) if isinstance(settings, dict) else None


def server_root(base_url: str) -> str:
    """``http://h:8080/v1`` -> ``http://h:8080`` (llama-server's ``/props`` lives there)."""
    base = base_url.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


def status_error(status: int, label: str, base_url: str, key_hint: str) -> ProviderHTTPError:
    if status in (401, 403):
        return ProviderAuthError(
            f"{label} at {base_url} refused the request (HTTP {status}).",
            status=status,
            hint=key_hint,
        )
    return ProviderHTTPError(
        f"{label} at {base_url} answered HTTP {status} to GET /models.",
        status=status,
        hint="Check that the base URL is the server's OpenAI-compatible /v1 URL.",
    )


async def list_served_models(
    base_url: str,
    *,
    headers: Mapping[str, str],
    policy: NetPolicy,
    label: str = "The server",
    key_hint: str = "Check the API key.",
    timeout: float = LIST_TIMEOUT,
    client: GuardedAsyncClient | None = None,
) -> list[ServedModel]:
    """``GET {base}/models`` with the configured headers; llama-server's ``/props`` fills in a
    served context that an older build leaves out of the list."""
    from openclaw.net.client import async_client

    base = base_url.rstrip("/")
    own = client is None
    client = client or async_client(policy, timeout=timeout, max_body_bytes=LIST_BODY_CAP)
    try:
        response = await client.request("GET", base + "/models", headers=headers)
        if response.status_code != 200:
            raise status_error(response.status_code, label, base, key_hint)
        models = parse_model_list(response.content, f"{label} at {base}: /models")
        if len(models) == 1 and models[0].context_source != "served":
            models = await _with_props_context(client, base, headers, models)
        return models
    finally:
        if own:
            await client.aclose()


async def _with_props_context(
    client: GuardedAsyncClient,
    base: str,
    headers: Mapping[str, str],
    models: list[ServedModel],
) -> list[ServedModel]:
    from openclaw.errors import OpenClawError

    if models[0].owned_by != "llamacpp":
        return models
    try:
        response = await client.request("GET", server_root(base) + "/props", headers=headers)
    except OpenClawError:
        return models
    ctx = props_context(response.content) if response.status_code == 200 else None
    if ctx is None:
        return models
    only = models[0]
    return [ServedModel(only.id, ctx, "served", only.owned_by)]
