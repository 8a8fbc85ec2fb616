"""Context-aware preload through LM Studio's native load API (lmstudio.md §5).

Two layers:

* :func:`prepare_model` - one check (``GET /api/v1/models``) and, when no loaded instance has
  enough context, one ``POST /api/v1/models/load``. Pure protocol, no state.
* :func:`ensure_ready` - what the chat path calls: a 30 s freshness cache per
  (server, model, context) so a conversation in steady use makes one check per 30 s instead
  of one per call, in-flight de-duplication across concurrent requests, and the per-key
  exponential back-off (5 s doubling to 300 s) after failures.

State is process-global (one agent loop is one process); :func:`reset_state` and
:func:`set_clock` exist for tests.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.errors import ModelLoadError, NetworkError, OpenClawError, ResponseTooLargeError
from openclaw.providers.lmstudio import models as wire
from openclaw.providers.lmstudio.discovery import (
    build_auth_headers,
    clamp_timeout,
    fetch_models,
    start_hint,
)
from openclaw.providers.lmstudio.urls import inference_base, server_base

if TYPE_CHECKING:
    from openclaw.net.client import GuardedAsyncClient
    from openclaw.net.policy import NetPolicy

LOAD_TIMEOUT = 120.0
CHECK_TIMEOUT = 30.0
ERROR_BODY_CAP = 8 * 1024
SUCCESS_BODY_CAP = 16 * 1024 * 1024
BACKOFF_BASE = 5.0
BACKOFF_MAX = 300.0
FRESH_SECONDS = 30.0


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

_GENERIC_PATTERNS = (
    (re.compile(r"(?i)(authorization\s*[:=]\s*bearer\s+)[^\s\"',;]+"), r"\1***"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=:-]{16,}"), "Bearer ***"),
    (re.compile(r"\bsk-[A-Za-z0-9_:-]{8,}"), "***"),
)


def redact_load_text(text: str, sent_headers: Mapping[str, str]) -> str:
    candidates: set[str] = set()
    for name, value in sent_headers.items():
        if name.lower() == "content-type":
            continue
        value = value.strip()
        if not value:
            continue
        candidates.add(value)
        if name.lower() == "authorization":
            rest = value.split(None, 1)
            if len(rest) == 2 and rest[1].strip():
                candidates.add(rest[1].strip())
    for secret in sorted(candidates, key=len, reverse=True):
        text = text.replace(secret, "***")
    for pattern, repl in _GENERIC_PATTERNS:
        text = pattern.sub(repl, text)
    return text


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


LoadListener = Callable[[str, str, int, float | None], None]
_listeners: list[LoadListener] = []


@contextmanager
def load_listener(listener: LoadListener) -> Iterator[None]:
    """Call ``listener(phase, model_key, context, elapsed)`` around every load (phase
    "start" / "end"); the CLI uses it for its spinner, library use stays silent."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def _notify(phase: str, key: str, ctx: int, elapsed: float | None) -> None:
    for listener in list(_listeners):
        try:
            listener(phase, key, ctx, elapsed)
        except Exception:  # a display hook must never break a request
            pass


def notify_load(phase: str, key: str, ctx: int, *, server: str) -> None:
    """Another server's load ("start"/"end") for the same listeners (Ollama loads on the first
    chat); the CLI spinner names ``server``."""
    for listener in list(_listeners):
        try:
            listener(phase, key, ctx, None, server=server)  # type: ignore[call-arg]
        except Exception:  # a display hook must never break a request
            pass


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
        fetched = await fetch_models(
            base_url,
            api_key=api_key,
            headers=headers,
            timeout=clamp_timeout(check_timeout, min(seconds, CHECK_TIMEOUT)),
            client=client,
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
        canonical = wire.canonical_key(key, fetched.models)
        entry = wire.find_entry(canonical, fetched.models) or {}
        insts = wire.instances(entry) if entry else []
        loaded = wire.loaded_context(entry) if entry else None
        advertised = wire.advertised_context(entry) if entry else None
        requested = wire.positive_int(requested_context)
        target = target_context(advertised, requested)
        if (accept_any_loaded or requested is None) and loaded is not None:
            # Nothing asked for more: use the instance the user already runs instead of
            # loading a second copy of the model beside it.
            target = loaded
        if loaded is not None and loaded >= target:
            instance = next((i for i, ctx in insts if i is not None and ctx >= target), None)
            ctx = next((c for i, c in insts if i == instance), loaded)
            return PreloadResult(canonical, instance, ctx)
        try:
            instance_id = await _load(
                client, base_url, canonical, target, api_key, headers, seconds, ttl_seconds
            )
        except LmstudioLoadError as exc:
            exc.resolved_model_key = canonical
            if insts or loaded is not None:
                raise RequiredContextError(canonical, target, exc.message) from exc
            raise
        except OpenClawError as exc:
            if insts or loaded is not None:
                raise RequiredContextError(canonical, target, exc.message) from exc
            raise LmstudioLoadError(
                f"LM Studio model load failed: {exc.message}", resolved_model_key=canonical
            ) from exc
        return PreloadResult(canonical, instance_id, target, loaded_now=True)
    finally:
        if own:
            await client.aclose()


async def _load(
    client: GuardedAsyncClient,
    base_url: str,
    key: str,
    context: int,
    api_key: str | None,
    headers: Mapping[str, str] | None,
    timeout: float,
    ttl_seconds: int | None,
) -> str | None:
    url = server_base(base_url) + "/api/v1/models/load"
    sent = build_auth_headers(api_key, headers, json_body=True) or {}
    body: dict[str, Any] = {"model": key, "context_length": context}
    if ttl_seconds is not None:
        body["ttl"] = ttl_seconds
    started = time.monotonic()
    _notify("start", key, context, None)
    try:
        async with client.stream(
            "POST",
            url,
            json=body,
            headers=sent,
            timeout=timeout,
            deadline=timeout,  # the whole load, not per read: a trickling server cannot stall it
            max_body_bytes=SUCCESS_BODY_CAP + 1,
        ) as resp:
            status = resp.status_code
            ok = 200 <= status < 300
            cap = SUCCESS_BODY_CAP if ok else ERROR_BODY_CAP
            data = bytearray()
            truncated = False
            async for chunk in resp.aiter_bytes():
                data.extend(chunk)
                if len(data) > cap:
                    truncated = True
                    break
    except ResponseTooLargeError:
        raise LmstudioLoadError(
            f"LM Studio model load: JSON response exceeds {SUCCESS_BODY_CAP} bytes"
        ) from None
    finally:
        _notify("end", key, context, time.monotonic() - started)
    if not ok:
        detail = (
            ""
            if truncated
            else redact_load_text(bytes(data).decode("utf-8", "replace").strip(), sent)
        )
        suffix = f": {detail}" if detail else ""
        raise LmstudioLoadError(f"LM Studio model load failed ({status}){suffix}", status=status)
    if truncated:
        raise LmstudioLoadError(f"LM Studio model load: JSON response exceeds {cap} bytes")
    try:
        parsed = json.loads(bytes(data))
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


# ---- chat-path state: freshness, de-dup, back-off ----------------------------------------------

_clock: Callable[[], float] = time.monotonic


def set_clock(clock: Callable[[], float] | None) -> None:
    """Tests: replace the clock used for back-off and freshness (None restores it)."""
    global _clock
    _clock = clock or time.monotonic


def now() -> float:
    return _clock()


@dataclass
class _Backoff:
    failures: int = 0
    cooldown_until: float = 0.0
    error: OpenClawError | None = None
    resolved_key: str | None = None


@dataclass
class _Fresh:
    result: PreloadResult
    at: float


@dataclass
class _Flight:
    event: Any  # anyio.Event
    result: PreloadResult | None = None
    error: BaseException | None = None
    waiters: int = 0


@dataclass
class _State:
    backoff: dict[str, _Backoff] = field(default_factory=dict)
    fresh: dict[str, _Fresh] = field(default_factory=dict)
    inflight: dict[str, _Flight] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # keys whose disk record was consulted


_state = _State()


def reset_state() -> None:
    global _state
    _state = _State()
    set_clock(None)


def preload_key(base_url: str, model_key: str, requested: int | None) -> str:
    return f"{inference_base(base_url)}::{model_key}::{requested if requested else 'default'}"


# One-shot `openclaw agent -m` runs are separate processes; without a shared record each
# would check the server again. A process reads this file only for keys it has no memory
# of, so in-process freshness (and the test clock) stay authoritative. A stale record costs
# nothing extra: a "not loaded", 404 or context answer already triggers check, load, retry.
DISK_CACHE_NAME = "lmstudio-ready.json"


def _disk_cache_path() -> Any:
    from openclaw.config.paths import resolve_paths

    return resolve_paths().state_dir / "cache" / DISK_CACHE_NAME


def _read_disk_cache() -> dict[str, Any]:
    try:
        data = json.loads(_disk_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _fresh_from_disk(key: str) -> _Fresh | None:
    record = _read_disk_cache().get(key)
    if not isinstance(record, dict):
        return None
    checked_at, model_key = record.get("checkedAt"), record.get("modelKey")
    if not isinstance(checked_at, (int, float)) or not isinstance(model_key, str):
        return None
    age = time.time() - checked_at
    if not 0 <= age < FRESH_SECONDS:
        return None
    instance = record.get("instanceId")
    result = PreloadResult(
        model_key,
        instance if isinstance(instance, str) else None,
        wire.positive_int(record.get("context")),
    )
    return _Fresh(result, now() - age)


def _remember_on_disk(key: str, result: PreloadResult) -> None:
    from openclaw.config.atomic import atomic_write, ensure_private_dir

    path = _disk_cache_path()
    if not path.parent.parent.is_dir():
        return  # no state dir yet (library use before onboarding): keep memory only
    cache = {
        k: v
        for k, v in _read_disk_cache().items()
        if isinstance(v, dict)
        and isinstance(v.get("checkedAt"), (int, float))
        and time.time() - v["checkedAt"] < FRESH_SECONDS
    }
    cache[key] = {
        "modelKey": result.model_key,
        "instanceId": result.instance_id,
        "context": result.context,
        "checkedAt": time.time(),
    }
    try:
        ensure_private_dir(path.parent)
        atomic_write(path, json.dumps(cache).encode())
    except OSError:
        pass  # a record that cannot be written only costs the next process one check


@dataclass
class Readiness:
    """What the chat call should do: address ``wire_model`` (instance id or key)."""

    model_key: str
    wire_model: str
    checked: bool  # a network check/load ran for this call (False: cached or skipped)
    warning: str | None = None
    context: int | None = None  # the context of the addressed instance, when known


def _backoff_delay(failures: int) -> float:
    return min(BACKOFF_MAX, BACKOFF_BASE * (2 ** (failures - 1)))


def _after_failure(key: str, model_key: str) -> Readiness:
    entry = _state.backoff.get(key)
    if entry is not None and isinstance(entry.error, RequiredContextError):
        raise entry.error
    resolved = entry.resolved_key if entry and entry.resolved_key else model_key
    remaining = max(0.0, entry.cooldown_until - now()) if entry else 0.0
    warning = None
    if entry is not None and entry.error is not None:
        warning = (
            f'LM Studio inference preload failed for "{model_key}" ({entry.failures} '
            f"consecutive failure(s), next preload attempt skipped for ~{remaining:.0f}s); "
            f"continuing without preload: {entry.error.message}"
        )
    return Readiness(resolved, resolved, checked=False, warning=warning)


async def ensure_ready(
    *,
    base_url: str,
    model_key: str,
    requested_context: int | None,
    api_key: str | None,
    headers: Mapping[str, str] | None,
    policy: NetPolicy | None,
    timeout: float | None,
    ttl_seconds: int | None = None,
    force: bool = False,
    loader: Callable[..., Any] | None = None,
) -> Readiness:
    """Run, join or skip the preload for one chat call (§5.8 plus the freshness cache)."""
    import anyio

    requested = wire.positive_int(requested_context)
    key = preload_key(base_url, model_key, requested)
    if not force and key not in _state.fresh and key not in _state.seen:
        _state.seen.add(key)
        from_disk = _fresh_from_disk(key)
        if from_disk is not None:
            _state.fresh[key] = from_disk
    while True:
        fresh = _state.fresh.get(key)
        if not force and fresh is not None and now() - fresh.at < FRESH_SECONDS:
            r = fresh.result
            return Readiness(
                r.model_key, r.instance_id or r.model_key, checked=False, context=r.context
            )
        entry = _state.backoff.get(key)
        if entry is not None and now() < entry.cooldown_until:
            return _after_failure(key, model_key)
        flight = _state.inflight.get(key)
        if flight is not None:
            flight.waiters += 1
            try:
                await flight.event.wait()
            finally:
                flight.waiters -= 1
            if flight.result is not None:
                r = flight.result
                return Readiness(
                    r.model_key, r.instance_id or r.model_key, checked=True, context=r.context
                )
            if flight.error is None:  # the leader was cancelled: try again ourselves
                continue
            return _after_failure(key, model_key)
        break

    flight = _Flight(event=anyio.Event())
    _state.inflight[key] = flight
    try:
        run = loader or prepare_model
        result: PreloadResult = await run(
            base_url,
            model_key,
            api_key=api_key,
            headers=headers,
            policy=policy,
            requested_context=requested,
            timeout=timeout,
            ttl_seconds=ttl_seconds,
        )
    except OpenClawError as exc:
        entry = _state.backoff.setdefault(key, _Backoff())
        entry.failures += 1
        entry.cooldown_until = now() + _backoff_delay(entry.failures)
        if not isinstance(entry.error, RequiredContextError):
            entry.error = exc
        resolved = getattr(exc, "resolved_model_key", None)
        cause = exc.__cause__
        if resolved is None and cause is not None:
            resolved = getattr(cause, "resolved_model_key", None)
        if isinstance(resolved, str) and resolved:
            entry.resolved_key = resolved
        _state.fresh.pop(key, None)
        flight.error = exc
        return _after_failure(key, model_key)
    except NetworkError as exc:  # pragma: no cover - prepare_model wraps these
        flight.error = exc
        raise
    else:
        _state.backoff.pop(key, None)
        _state.fresh[key] = _Fresh(result, now())
        _state.seen.add(key)
        _remember_on_disk(key, result)
        flight.result = result
        return Readiness(
            result.model_key,
            result.instance_id or result.model_key,
            checked=True,
            context=result.context,
        )
    finally:
        _state.inflight.pop(key, None)
        flight.event.set()
