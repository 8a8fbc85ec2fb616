"""Shape a resolved model spec for Ollama: which path (native ``/api/chat`` or ``/v1``), the
base URL for it, the key rule, and the context number the request and the budget share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from openclaw.llm.ollama_chat import native_base
from openclaw.llm.ollama_context import configured_context, explicit_num_ctx, resolve_num_ctx
from openclaw.llm.types import ModelSpec
from openclaw.providers.ollama.cache import ModelInfo
from openclaw.providers.ollama.server import key_for_host

NATIVE_API = "ollama"


def configured_api(spec: ModelSpec) -> str | None:
    for source in (spec.row, spec.provider_config):
        api = source.get("api")
        if isinstance(api, str) and api.strip():
            return api.strip().lower()
    return None


def uses_native(spec: ModelSpec) -> bool:
    """``api: "ollama"``, or no api at all (native is the default for the ollama kind)."""
    return configured_api(spec) in (None, NATIVE_API)


def base_for_path(spec: ModelSpec) -> str:
    root = native_base(spec.base_url)
    return root if uses_native(spec) else root + "/v1"


def with_model_info(spec: ModelSpec, info: ModelInfo | None) -> ModelSpec:
    """The row copy the call and the budget read: ``contextTokens`` = ``contextWindow`` = the
    rule's ``num_ctx`` (so ``spec.context_tokens`` is that number), plus the capabilities."""
    row: dict[str, Any] = dict(spec.row)
    discovered = info.context_length if info else None
    number, _source = resolve_num_ctx(spec.row, spec.provider_config, discovered)
    row["contextTokens"] = number
    row["contextWindow"] = number
    if info is not None:
        caps = row.get("capabilities")
        have = [c for c in caps if isinstance(c, str)] if isinstance(caps, list) else []
        row["capabilities"] = list(dict.fromkeys([*have, *info.capabilities]))
        if "vision" in info.capabilities and row.get("input") in (None, ["text"]):
            row["input"] = ["text", "image"]
    return replace(spec, row=row)


def adjust(spec: ModelSpec) -> ModelSpec:
    """Base URL for the chosen path; ``OLLAMA_API_KEY`` never sent to a local host."""
    return replace(
        spec,
        api=NATIVE_API if uses_native(spec) else spec.api,
        base_url=base_for_path(spec),
        api_key=key_for_host(spec.base_url, spec.api_key, spec.credential_source),
    )


def needs_discovery(spec: ModelSpec) -> bool:
    return (
        explicit_num_ctx(spec.row, spec.provider_config) is None
        and configured_context(spec.row, spec.provider_config) is None
    )


def _configured_base(spec: ModelSpec) -> bool:
    from openclaw.providers.ollama.server import configured_base_url

    return configured_base_url(spec.row) or configured_base_url(spec.provider_config)


def with_default_host(spec: ModelSpec, env: Mapping[str, str]) -> ModelSpec:
    """No baseUrl configured: ``OLLAMA_HOST`` (as the ollama CLI reads it), else the default."""
    if _configured_base(spec):
        return spec
    from openclaw.net.policy import provider_policy
    from openclaw.providers.ollama.server import default_base_url

    base = default_base_url(env)
    return replace(spec, base_url=base, policy=provider_policy(spec.provider_id, base, None))


def finish(spec: ModelSpec, state_dir: Path, env: Mapping[str, str]) -> ModelSpec:
    """At resolve time: the model's discovered maximum (cache, else one short /api/show) only
    when nothing configured decides the context; capabilities from the cache either way."""
    from openclaw.providers.ollama import cache
    from openclaw.providers.ollama.discovery import cached_or_shown
    from openclaw.providers.ollama.server import server_of_spec

    spec = adjust(with_default_host(spec, env))
    server = server_of_spec(spec)
    model = spec.wire_model_id
    if needs_discovery(spec):
        info = cached_or_shown(server, model, state_dir)
    else:
        info = cache.lookup(state_dir, server.base, model)
    return with_model_info(spec, info)
