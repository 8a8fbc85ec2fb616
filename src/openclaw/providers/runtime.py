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
    from openclaw.config.settings import ModelSettings
    from openclaw.llm.compat import resolve_compat
    from openclaw.providers import get_plugin
    from openclaw.providers.endpoint import resolve_endpoint

    parsed = _parse_ref(cfg, ref, agent_id)
    provider_cfg, row = _find_row(cfg, parsed)
    endpoint = resolve_endpoint(
        cfg, parsed.provider, row=row, profile=parsed.profile, agent_id=agent_id, require_key=True
    )
    model = ModelSettings.read(row, endpoint.provider)
    spec = ModelSpec(
        provider_id=endpoint.provider_id,
        model_id=model.id,
        wire_model_id=model.id,
        api=model.wire_api,
        base_url=endpoint.base_url,
        model=model,
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
    finish = getattr(get_plugin(endpoint.provider_id, provider_cfg), "finish_spec", None)
    return finish(cfg, spec) if finish is not None else spec


def _parse_ref(cfg: LoadedConfig, ref: str | ModelRef | None, agent_id: str) -> ModelRef:
    """The ref asked for, else the default model, else the first configured one."""
    from openclaw.models.catalog import configured_catalog, default_model_ref
    from openclaw.models.refs import ModelRef as _ModelRef
    from openclaw.models.refs import parse_model_ref
    from openclaw.providers import normalize_row

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
    return ref if isinstance(ref, _ModelRef) else parse_model_ref(ref, cfg)


def _find_row(cfg: LoadedConfig, parsed: ModelRef) -> tuple[dict, dict]:
    """(provider config, model row): the configured row, or a bare one for a model the
    provider serves without a row of its own."""
    from openclaw.models.catalog import apply_row_defaults, find_entry
    from openclaw.providers import normalize_row

    entry = find_entry(cfg, parsed, normalize_row)
    if entry is not None:
        return entry.provider_config, entry.row
    provider_cfg = cfg.provider(parsed.provider)
    if provider_cfg is None:
        raise ModelRefError(
            f'Unknown provider "{parsed.provider}" in model "{parsed.key}"',
            hint="See `openclaw models list` for the configured models.",
        )
    return provider_cfg, apply_row_defaults({"id": parsed.model}, provider_cfg)


async def stream_model(
    spec: ModelSpec, context: Context, options: ChatOptions
) -> AsyncIterator[Event]:
    """Stream one call through the provider's plugin (LM Studio: preload + routing)."""
    from openclaw.providers import get_plugin

    plugin = get_plugin(spec.provider_id, spec.provider_config)
    async for event in plugin.stream(spec, context, options):
        yield event
