"""One check and, when needed, one load through LM Studio's native API (lmstudio.md §5.2).

:func:`prepare_model` asks ``GET /api/v1/models`` whether a loaded instance has enough context
and otherwise sends ``POST /api/v1/models/load``. Pure protocol, no state: the chat path's
caching, de-duplication and back-off are in :mod:`.preload`. Loads are announced through
:data:`openclaw.providers.load_events.LOAD_EVENTS` (the CLI's progress display listens).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openclaw.errors import ModelLoadError, OpenClawError, ResponseTooLargeError
from openclaw.providers.lmstudio import models as wire
from openclaw.providers.lmstudio.discovery import (
    build_auth_headers,
    clamp_timeout,
    fetch_models,
    start_hint,
)
from openclaw.providers.lmstudio.urls import server_base
from openclaw.providers.load_events import LOAD_EVENTS

if TYPE_CHECKING:
    from openclaw.net.client import GuardedAsyncClient
    from openclaw.net.policy import NetPolicy

LOAD_TIMEOUT = 120.0
CHECK_TIMEOUT = 30.0
ERROR_BODY_CAP = 8 * 1024
SUCCESS_BODY_CAP = 16 * 1024 * 1024


class LmstudioLoadError(ModelLoadError):
    """A check or load failed. ``resolved_model_key`` is set for load-step failures."""

    def __init__(
        self,
        message: str,
        *,
        resolved_model_key: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.resolved_model_key = resolved_model_key
        self.status = status


class RequiredContextError(ModelLoadError):
    """The load failed and every loaded instance is smaller than the context needed (§6.3)."""

    code = "model_load_failed"

    def __init__(self, model_key: str, context: int, cause: str) -> None:
        self.model_key = model_key
        self.required_context = context
        self.error_body = json.dumps({"requestedContextLength": context}, separators=(",", ":"))
        super().__init__(
            f'LM Studio could not load "{model_key}" with {context} context tokens: {cause}',
            hint="Wait for the model to finish loading in LM Studio and retry, or lower the "
            "model's contextTokens.",
        )
        self.resolved_model_key = model_key


# ---- redaction (§5.4) -------------------------------------------------------------------------


def redact_load_text(text: str, sent_headers: Mapping[str, str]) -> str:
    from openclaw.auth.redact import redact_sent_headers

    return redact_sent_headers(text, sent_headers)


# ---- one check + load ---------------------------------------------------------------------------


@dataclass
class PreloadResult:
    model_key: str  # canonical key
    instance_id: str | None  # the instance to address (None: use the key)
    context: int | None  # the context that instance has (loaded or requested)
    loaded_now: bool = False  # this call sent a load request


def target_context(advertised: int | None, requested: int | None) -> int:
    """The context to load with: a configured request, clamped to the model's maximum.

    With nothing configured we load what `models list` shows for an unloaded model, 64000
    clamped to the maximum, and not the maximum itself as the reference's §5.3 table does:
    262144 tokens of KV cache for a 9B model does not fit most laptops (the same failure as
    reference #97016), and core.md §2.5 documents the 64000 default.
    """
    if requested is None:
        default = wire.DEFAULT_LOAD_CONTEXT
        return default if advertised is None else min(default, advertised)
    return requested if advertised is None else min(requested, advertised)


@dataclass
class _Plan:
    """What the check found: a usable instance (``ready``), or the context to load with."""

    canonical: str
    target: int
    running: bool  # some instance of the model is loaded (a failed load is then §6.3)
    ready: PreloadResult | None


def _plan(
    key: str, entries: list[Any], requested_context: int | None, accept_any_loaded: bool
) -> _Plan:
    canonical = wire.canonical_key(key, entries)
    entry = wire.find_entry(canonical, entries) or {}
    insts = wire.instances(entry) if entry else []
    loaded = wire.loaded_context(entry) if entry else None
    advertised = wire.advertised_context(entry) if entry else None
    requested = wire.positive_int(requested_context)
    target = target_context(advertised, requested)
    if (accept_any_loaded or requested is None) and loaded is not None:
        # Nothing asked for more: use the instance the user already runs instead of
        # loading a second copy of the model beside it.
        target = loaded
    ready = None
    if loaded is not None and loaded >= target:
        instance = next((i for i, ctx in insts if i is not None and ctx >= target), None)
        ctx = next((c for i, c in insts if i == instance), loaded)
        ready = PreloadResult(canonical, instance, ctx)
    return _Plan(canonical, target, bool(insts) or loaded is not None, ready)


async def _check(
    client: GuardedAsyncClient,
    base_url: str,
    api_key: str | None,
    headers: Mapping[str, str] | None,
    timeout: float,
) -> list[Any]:
    fetched = await fetch_models(
        base_url, api_key=api_key, headers=headers, timeout=timeout, client=client
    )
    if not fetched.reachable:
        raise LmstudioLoadError(
            f"LM Studio model discovery failed: {fetched.error}",
            hint=start_hint(base_url),
        )
    if fetched.status is not None and fetched.status >= 400:
        raise LmstudioLoadError(
            f"LM Studio model discovery failed ({fetched.status})", status=fetched.status
        )
    return fetched.models


async def prepare_model(
    base_url: str,
    model_key: str,
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    policy: NetPolicy | None = None,
    requested_context: int | None = None,
    timeout: float | None = None,
    check_timeout: float | None = None,
    ttl_seconds: int | None = None,
    client: GuardedAsyncClient | None = None,
    accept_any_loaded: bool = False,
) -> PreloadResult:
    """Make sure ``model_key`` runs with enough context (§5.2). Raises LmstudioLoadError.

    ``accept_any_loaded``: any running instance is good enough (embeddings with no configured
    context: reloading an embedding model at its maximum wastes memory, reference #97016).
    """
    from openclaw.net.client import async_client

    key = model_key.strip()
    if not key:
        raise LmstudioLoadError("LM Studio model key is required")
    seconds = clamp_timeout(timeout, LOAD_TIMEOUT)
    own = client is None
    if client is None:
        from openclaw.providers.lmstudio.discovery import provider_policy

        client = async_client(policy or provider_policy(base_url), timeout=seconds)
    try:
        check = clamp_timeout(check_timeout, min(seconds, CHECK_TIMEOUT))
        entries = await _check(client, base_url, api_key, headers, check)
        plan = _plan(key, entries, requested_context, accept_any_loaded)
        if plan.ready is not None:
            return plan.ready
        load = _LoadRequest(client, base_url, api_key, headers, seconds, ttl_seconds)
        instance_id = await _load_for(plan, load)
        return PreloadResult(plan.canonical, instance_id, plan.target, loaded_now=True)
    finally:
        if own:
            await client.aclose()


@dataclass
class _LoadRequest:
    client: GuardedAsyncClient
    base_url: str
    api_key: str | None
    headers: Mapping[str, str] | None
    timeout: float
    ttl_seconds: int | None


async def _load_for(plan: _Plan, load: _LoadRequest) -> str | None:
    """Load at the planned context; a failure beside a running instance is §6.3's error."""
    try:
        return await _load(load, plan.canonical, plan.target)
    except LmstudioLoadError as exc:
        exc.resolved_model_key = plan.canonical
        if plan.running:
            raise RequiredContextError(plan.canonical, plan.target, exc.message) from exc
        raise
    except OpenClawError as exc:
        if plan.running:
            raise RequiredContextError(plan.canonical, plan.target, exc.message) from exc
        raise LmstudioLoadError(
            f"LM Studio model load failed: {exc.message}", resolved_model_key=plan.canonical
        ) from exc


async def _load(load: _LoadRequest, key: str, context: int) -> str | None:
    sent = build_auth_headers(load.api_key, load.headers, json_body=True) or {}
    body: dict[str, Any] = {"model": key, "context_length": context}
    if load.ttl_seconds is not None:
        body["ttl"] = load.ttl_seconds
    started = time.monotonic()
    LOAD_EVENTS.notify("start", key, context, None)
    try:
        status, data, truncated = await _post_load(load, body, sent)
    finally:
        LOAD_EVENTS.notify("end", key, context, time.monotonic() - started)
    return _instance_from_reply(status, data, truncated, sent)


async def _post_load(
    load: _LoadRequest, body: dict[str, Any], sent: dict[str, str]
) -> tuple[int, bytes, bool]:
    """The load request; its body read up to the cap that fits the status."""
    url = server_base(load.base_url) + "/api/v1/models/load"
    try:
        async with (
            load.client.stream(
                "POST",
                url,
                json=body,
                headers=sent,
                timeout=load.timeout,
                deadline=load.timeout,  # the whole load, not per read: a trickling server cannot stall it
                max_body_bytes=SUCCESS_BODY_CAP + 1,
            ) as resp
        ):
            status = resp.status_code
            cap = SUCCESS_BODY_CAP if 200 <= status < 300 else ERROR_BODY_CAP
            data = bytearray()
            async for chunk in resp.aiter_bytes():
                data.extend(chunk)
                if len(data) > cap:
                    return status, bytes(data), True
    except ResponseTooLargeError:
        raise LmstudioLoadError(
            f"LM Studio model load: JSON response exceeds {SUCCESS_BODY_CAP} bytes"
        ) from None
    return status, bytes(data), False


def _instance_from_reply(
    status: int, data: bytes, truncated: bool, sent: Mapping[str, str]
) -> str | None:
    if not 200 <= status < 300:
        detail = (
            "" if truncated else redact_load_text(data.decode("utf-8", "replace").strip(), sent)
        )
        suffix = f": {detail}" if detail else ""
        raise LmstudioLoadError(f"LM Studio model load failed ({status}){suffix}", status=status)
    if truncated:
        raise LmstudioLoadError(
            f"LM Studio model load: JSON response exceeds {SUCCESS_BODY_CAP} bytes"
        )
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise LmstudioLoadError("LM Studio model load: malformed JSON response") from None
    if not isinstance(parsed, dict):
        raise LmstudioLoadError("LM Studio model load: malformed JSON response")
    state = parsed.get("status")
    if isinstance(state, str) and state.lower() != "loaded":
        raise LmstudioLoadError(
            "LM Studio model load returned unexpected status: " + redact_load_text(state, sent)
        )
    for field_name in ("instance_id", "model_instance_id"):
        value = parsed.get(field_name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
