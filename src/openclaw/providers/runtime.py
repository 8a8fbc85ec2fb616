"""From config to a call: resolve a model ref into a :class:`ModelSpec`, stream it through the
provider's plugin, and probe every configured provider (``openclaw models status --probe``)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from openclaw.errors import (
    AuthError,
    ModelRefError,
    OpenClawError,
    ProviderAuthError,
    ProviderNotFoundError,
    RequestTimeoutError,
    SsrfBlockedError,
    UnreachableError,
)
from openclaw.llm.types import (
    ChatOptions,
    Context,
    DoneEvent,
    ErrorEvent,
    ModelSpec,
    Usage,
    UserMessage,
)

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.llm.types import Event
    from openclaw.models.refs import ModelRef

PROBE_PROMPT = "Reply with OK. Do not use tools."
PROBE_MAX_TOKENS = 8

ProbeStatus = Literal[
    "ok", "auth", "not_found", "timeout", "unreachable", "blocked", "error", "no_model"
]


@dataclass
class ProbeResult:
    provider: str
    model: str | None
    status: ProbeStatus
    latency_ms: int | None = None
    usage: Usage | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


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


def _status_of(error: BaseException) -> ProbeStatus:
    if isinstance(error, ProviderAuthError | AuthError):
        return "auth"
    if isinstance(error, ProviderNotFoundError):
        return "not_found"
    if isinstance(error, RequestTimeoutError):
        return "timeout"
    if isinstance(error, UnreachableError):
        return "unreachable"
    if isinstance(error, SsrfBlockedError):
        return "blocked"
    return "error"


def _probe_model(cfg: LoadedConfig, provider_id: str, provider_cfg: dict) -> str | None:
    from openclaw.models.catalog import default_model_ref
    from openclaw.models.refs import parse_model_ref

    default = default_model_ref(cfg)
    if default:
        try:
            parsed = parse_model_ref(default, cfg)
        except ModelRefError:
            parsed = None
        if parsed is not None and parsed.provider == provider_id:
            return parsed.model
    rows = provider_cfg.get("models")
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and isinstance(row.get("id"), str) and row["id"]:
            return str(row["id"])
    return None


_NO_SERVER_STATUSES = frozenset({"unreachable", "blocked", "timeout"})


async def _probe_one(
    cfg: LoadedConfig, provider_id: str, provider_cfg: dict, timeout: float
) -> ProbeResult:
    import anyio

    model = _probe_model(cfg, provider_id, provider_cfg)
    if model is None:
        return ProbeResult(provider_id, None, "no_model", message="no model configured")
    try:
        spec = resolve_model_spec(cfg, f"{provider_id}/{model}")
    except OpenClawError as exc:
        return ProbeResult(provider_id, model, _status_of(exc), message=exc.message)
    limit = min(spec.timeout_seconds or timeout, timeout)
    spec = replace(spec, timeout_seconds=limit)
    context = Context(messages=[UserMessage(PROBE_PROMPT)])
    options = ChatOptions(thinking="off", max_tokens=PROBE_MAX_TOKENS, streaming=True)
    started = time.monotonic()
    final: DoneEvent | ErrorEvent | None = None
    with anyio.move_on_after(limit + 1.0) as scope:
        async for event in stream_model(spec, context, options):
            if isinstance(event, DoneEvent | ErrorEvent):
                final = event
    latency = int((time.monotonic() - started) * 1000)
    if final is None or (
        scope.cancelled_caught and isinstance(final, ErrorEvent) and final.stop_reason == "aborted"
    ):  # the backstop fired: the stream's own "aborted" event is not the finding
        return ProbeResult(
            provider_id, model, "timeout", latency, message=f"no answer within {limit:g} s"
        )
    if isinstance(final, ErrorEvent):
        err = final.error
        result = ProbeResult(provider_id, model, _status_of(err), latency, message=err.message)
    else:
        result = ProbeResult(provider_id, model, "ok", latency, usage=final.usage)
    if result.status in _NO_SERVER_STATUSES:
        # Nothing answered; asking the same server for its model list would only wait again.
        return result
    try:
        from openclaw.providers import get_plugin

        with anyio.move_on_after(limit):
            result.details = await get_plugin(provider_id, provider_cfg).probe_details(spec)
    except OpenClawError:
        pass
    return result


async def probe(
    cfg: LoadedConfig, *, provider: str | None = None, timeout: float = 10.0
) -> list[ProbeResult]:
    """One tiny streamed completion per configured provider (concurrently), in config order."""
    import anyio

    providers = cfg.providers()
    if provider is not None:
        if provider not in providers:
            return [ProbeResult(provider, None, "error", message="provider is not configured")]
        providers = {provider: providers[provider]}
    results: dict[str, ProbeResult] = {}

    async def run(pid: str, pcfg: dict) -> None:
        results[pid] = await _probe_one(cfg, pid, pcfg, timeout)

    async with anyio.create_task_group() as tg:
        for pid, pcfg in providers.items():
            tg.start_soon(run, pid, pcfg if isinstance(pcfg, dict) else {})
    return [results[pid] for pid in providers]
