"""From config to a call: resolve a model ref into a :class:`ModelSpec` and stream it through the
provider's plugin. Probing (``models status --probe``) lives in :mod:`openclaw.providers.probe`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from openclaw.config.kinds import kind_for
from openclaw.errors import (
    ConfigError,
    ModelRefError,
)
from openclaw.llm.types import (
    ChatOptions,
    Context,
    ModelSpec,
)

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.llm.types import Event
    from openclaw.models.refs import ModelRef


def _configured_headers(env: Mapping[str, str], *sources: tuple[Any, str]) -> dict[str, str]:
    """Provider, model and request headers merged in that order, SecretRefs resolved."""
    from openclaw.auth.resolve import resolve_headers

    out: dict[str, str] = {}
    for raw, where in sources:
        out.update(resolve_headers(raw, env, where))
    return out


def _row_index(provider_cfg: Mapping[str, Any], model_id: str) -> int | str:
    rows = provider_cfg.get("models")
    if isinstance(rows, list):
        for index, row in enumerate(rows):
            if isinstance(row, dict) and row.get("id") == model_id:
                return index
    return "?"


def _positive(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def resolve_model_spec(
    cfg: LoadedConfig, ref: str | ModelRef | None = None, *, agent_id: str = "main"
) -> ModelSpec:
    """Everything one call needs. ModelRefError for an unknown model/provider, AuthError when
    the provider needs a key and none is configured."""
    from openclaw.auth.resolve import resolve_credential
    from openclaw.llm.compat import resolve_compat
    from openclaw.models.catalog import (
        apply_row_defaults,
        configured_catalog,
        default_model_ref,
        find_entry,
    )
    from openclaw.models.refs import ModelRef as _ModelRef
    from openclaw.models.refs import parse_model_ref
    from openclaw.net.policy import provider_policy

    if ref is None:
        ref = default_model_ref(cfg, agent_id)
        if ref is None:
            catalog = configured_catalog(cfg)
            if not catalog:
                raise ModelRefError(
                    "No model is configured",
                    hint="Run `openclaw onboard`, or `openclaw models set <provider/model>`.",
                )
            ref = catalog[0].key
    parsed = ref if isinstance(ref, _ModelRef) else parse_model_ref(ref, cfg)
    entry = find_entry(cfg, parsed)
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

    base_url = row.get("baseUrl") or provider_cfg.get("baseUrl") or provider_cfg.get("baseURL")
    if not isinstance(base_url, str) or not base_url.strip():
        base_url = kind_for(provider_id, provider_cfg).default_base_url
        if base_url is None:
            raise ConfigError(
                f"Provider {provider_id} has no baseUrl",
                hint=f"Set models.providers.{provider_id}.baseUrl to the server's /v1 URL.",
            )
    base_url = base_url.strip().rstrip("/")
    api = row.get("api") or provider_cfg.get("api") or "openai-completions"

    cred = resolve_credential(
        cfg, provider_id, profile=parsed.profile, agent_id=agent_id, required=True
    )
    request_cfg = provider_cfg.get("request")
    request_cfg = request_cfg if isinstance(request_cfg, dict) else {}
    allow = request_cfg.get("allowPrivateNetwork")
    where = f"models.providers.{provider_id}"
    return ModelSpec(
        provider_id=provider_id,
        model_id=model_id,
        wire_model_id=model_id,
        api=str(api),
        base_url=base_url,
        row=row,
        provider_config=provider_cfg,
        compat=resolve_compat(provider_id, {**provider_cfg, "baseUrl": base_url}, row),
        api_key=cred.key,
        credential_source=cred.describe(),
        headers=_configured_headers(
            cfg.env,
            (provider_cfg.get("headers"), f"{where}.headers"),
            (row.get("headers"), f"{where}.models[{_row_index(provider_cfg, model_id)}].headers"),
            (request_cfg.get("headers"), f"{where}.request.headers"),
        ),
        timeout_seconds=_positive(provider_cfg.get("timeoutSeconds")),
        policy=provider_policy(provider_id, base_url, allow if isinstance(allow, bool) else None),
    )


async def stream_model(
    spec: ModelSpec, context: Context, options: ChatOptions
) -> AsyncIterator[Event]:
    """Stream one call through the provider's plugin (LM Studio: preload + routing)."""
    from openclaw.providers import get_plugin

    plugin = get_plugin(spec.provider_id, spec.provider_config)
    async for event in plugin.stream(spec, context, options):
        yield event
