"""Shape a resolved model spec for Ollama: which path (native ``/api/chat`` or ``/v1``), the
base URL for it, the key rule, and the context number the request and the budget share."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from openclaw.llm.ollama_chat import native_base
from openclaw.llm.ollama_context import explicit_num_ctx, resolve_num_ctx
from openclaw.llm.types import ModelSpec
from openclaw.providers.ollama.cache import ModelInfo
from openclaw.providers.ollama.server import key_for_host

NATIVE_API = "ollama"


def configured_api(spec: ModelSpec) -> str | None:
    """The api the row or, without one, its provider names (None: neither does)."""
    api = spec.model.api or spec.model.provider.api
    return api.lower() if api else None


def uses_native(spec: ModelSpec) -> bool:
    """``api: "ollama"``, or no api at all (native is the default for the ollama kind)."""
    return configured_api(spec) in (None, NATIVE_API)


def base_for_path(spec: ModelSpec) -> str:
    root = native_base(spec.base_url)
    return root if uses_native(spec) else root + "/v1"


def with_model_info(spec: ModelSpec, info: ModelInfo | None) -> ModelSpec:
    """The row the call and the budget read: ``contextTokens`` = ``contextWindow`` = the
    rule's ``num_ctx`` (so ``spec.context_tokens`` is that number), plus the capabilities."""
    discovered = info.context_length if info else None
    number, _source = resolve_num_ctx(spec.model, discovered)
    changes: dict[str, Any] = {"contextTokens": number, "contextWindow": number}
    if info is not None:
        changes["capabilities"] = list(
            dict.fromkeys([*spec.model.capabilities, *info.capabilities])
        )
        if "vision" in info.capabilities and spec.model.input == ("text",):
            changes["input"] = ["text", "image"]
    return replace(spec, model=spec.model.with_row(**changes))


def adjust(spec: ModelSpec) -> ModelSpec:
    """Base URL for the chosen path; ``OLLAMA_API_KEY`` never sent to a local host."""
    return replace(
        spec,
        api=NATIVE_API if uses_native(spec) else spec.api,
        base_url=base_for_path(spec),
        api_key=key_for_host(spec.base_url, spec.api_key, spec.credential_source),
    )


def needs_discovery(spec: ModelSpec) -> bool:
    return explicit_num_ctx(spec.model) is None and spec.model.configured_context is None


def finish(spec: ModelSpec, state_dir: Path) -> ModelSpec:
    """At resolve time: the model's discovered maximum (cache, else one short /api/show) only
    when nothing configured decides the context; capabilities from the cache either way."""
    from openclaw.providers.ollama import cache
    from openclaw.providers.ollama.discovery import cached_or_shown
    from openclaw.providers.ollama.server import server_of_spec

    spec = adjust(spec)
    server = server_of_spec(spec)
    model = spec.wire_model_id
    if needs_discovery(spec):
        info = cached_or_shown(server, model, state_dir)
    else:
        info = cache.lookup(state_dir, server.base, model)
    return with_model_info(spec, info)
