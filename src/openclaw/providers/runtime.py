"""From config to a call: resolve a model ref into a :class:`ModelSpec` and stream it through the
provider's plugin. Probing (``models status --probe``) lives in :mod:`openclaw.providers.probe`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from openclaw.errors import ModelRefError
from openclaw.llm.types import (
    ChatOptions,
    Context,
    ModelSpec,
)

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.llm.types import Event
    from openclaw.models.refs import ModelRef


def resolve_model_spec(
    cfg: LoadedConfig, ref: str | ModelRef | None = None, *, agent_id: str = "main"
) -> ModelSpec:
    """Everything one call needs. ModelRefError for an unknown model/provider, AuthError when
    the provider needs a key and none is configured."""
    from openclaw.llm.compat import resolve_compat
    from openclaw.models.catalog import (
        apply_row_defaults,
        configured_catalog,
        default_model_ref,
        find_entry,
    )
    from openclaw.models.refs import ModelRef as _ModelRef
    from openclaw.models.refs import parse_model_ref
    from openclaw.providers import normalize_row
    from openclaw.providers.endpoint import resolve_endpoint

    if ref is None:
        ref = default_model_ref(cfg, agent_id)
        if ref is None:
            catalog = configured_catalog(cfg, normalize_row)
            if not catalog:
                raise ModelRefError(
                    "No model is configured",
                    hint="Run `openclaw onboard`, or `openclaw models set <provider/model>`.",
                )
            ref = catalog[0].key
    parsed = ref if isinstance(ref, _ModelRef) else parse_model_ref(ref, cfg)
    entry = find_entry(cfg, parsed, normalize_row)
    if entry is not None:
        provider_id, model_id = entry.provider, entry.model_id
        row, provider_cfg = entry.row, entry.provider_config
    else:
        provider_id, model_id = parsed.provider, parsed.model
        found = cfg.provider(provider_id)
        if found is None:
            raise ModelRefError(
                f'Unknown provider "{provider_id}" in model "{parsed.key}"',
                hint="See `openclaw models list` for the configured models.",
            )
        provider_cfg = found
        row = apply_row_defaults({"id": model_id}, provider_cfg)

    endpoint = resolve_endpoint(
        cfg, provider_id, row=row, profile=parsed.profile, agent_id=agent_id, require_key=True
    )
    api = row.get("api") or provider_cfg.get("api") or "openai-completions"
    spec = ModelSpec(
        provider_id=endpoint.provider_id,
        model_id=model_id,
        wire_model_id=model_id,
        api=str(api),
        base_url=endpoint.base_url,
        row=row,
        provider_config=provider_cfg,
        compat=resolve_compat(
            endpoint.provider_id, {**provider_cfg, "baseUrl": endpoint.base_url}, row
        ),
        api_key=endpoint.api_key,
        credential_source=endpoint.credential.describe(),
        headers=endpoint.headers,
        timeout_seconds=endpoint.timeout_seconds,
        policy=endpoint.policy,
    )
    # A kind may complete the spec (Ollama: the context number the request and budget share).
    from openclaw.providers import get_plugin

    finish = getattr(get_plugin(endpoint.provider_id, provider_cfg), "finish_spec", None)
    return finish(cfg, spec) if finish is not None else spec


async def stream_model(
    spec: ModelSpec, context: Context, options: ChatOptions
) -> AsyncIterator[Event]:
    """Stream one call through the provider's plugin (LM Studio: preload + routing)."""
    from openclaw.providers import get_plugin

    plugin = get_plugin(spec.provider_id, spec.provider_config)
    async for event in plugin.stream(spec, context, options):
        yield event
