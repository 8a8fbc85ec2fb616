"""``openclaw models status --probe``: one tiny live completion per configured provider.

A probe resolves the provider's model like a chat call would and streams a few tokens through
the provider's plugin (so LM Studio loads an unloaded model first, with the CLI's spinner). A
probe that fails for any reason - no server, bad key, unknown model, timeout, blocked address -
is a failed probe; :func:`any_failed` is what the command's exit code follows.
"""

from __future__ import annotations

import time
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
from openclaw.llm.types import ChatOptions, Context, DoneEvent, ErrorEvent, Usage, UserMessage
from openclaw.providers.runtime import resolve_model_spec, stream_model

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig

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

    @property
    def failed(self) -> bool:
        """Anything but a completed answer (``no_model``: nothing to probe is not a failure)."""
        return self.status not in ("ok", "no_model")

    def usage_json(self) -> dict[str, Any] | None:
        u = self.usage
        if u is None:
            return None
        return {"input": u.input, "output": u.output, "total": u.total, "source": u.source}

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "status": self.status,
            "latencyMs": self.latency_ms,
            "message": self.message,
            "usage": self.usage_json(),
            "details": self.details,
        }


def any_failed(results: list[ProbeResult]) -> bool:
    return any(r.failed for r in results)


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
        from openclaw.config.kinds import find_provider_key

        found = find_provider_key(providers, provider)  # an alias finds the configured key
        if found is None:
            return [ProbeResult(provider, None, "error", message="provider is not configured")]
        providers = {found: providers[found]}
    results: dict[str, ProbeResult] = {}

    async def run(pid: str, pcfg: dict) -> None:
        results[pid] = await _probe_one(cfg, pid, pcfg, timeout)

    async with anyio.create_task_group() as tg:
        for pid, pcfg in providers.items():
            tg.start_soon(run, pid, pcfg if isinstance(pcfg, dict) else {})
    return [results[pid] for pid in providers]
