"""Context-aware preload for the chat path (lmstudio.md §5.8 plus a freshness cache).

The protocol (one check, one load) is :mod:`.load`; the cross-run record is
:mod:`.readiness_record`. This module decides, per chat call, whether to run that protocol,
join a run already in flight, or skip it. The state lives in a :class:`Preloader`:

* a 30 s freshness cache per (server, model, context), so a conversation in steady use makes
  one check per 30 s instead of one per call, seeded from the cross-run record;
* in-flight de-duplication across concurrent requests;
* per-key exponential back-off (5 s doubling to 300 s) after failures.

One agent loop is one process, so the chat path shares one :class:`Preloader`
(:func:`ensure_ready`); :func:`reset_state` and :func:`set_clock` exist for tests.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.errors import NetworkError, OpenClawError
from openclaw.providers.lmstudio import models as wire
from openclaw.providers.lmstudio.load import (
    CHECK_TIMEOUT as CHECK_TIMEOUT,
)
from openclaw.providers.lmstudio.load import (
    LOAD_TIMEOUT as LOAD_TIMEOUT,
)
from openclaw.providers.lmstudio.load import (
    LmstudioLoadError as LmstudioLoadError,
)
from openclaw.providers.lmstudio.load import (
    PreloadResult,
    RequiredContextError,
    prepare_model,
)
from openclaw.providers.lmstudio.load import (
    redact_load_text as redact_load_text,
)
from openclaw.providers.lmstudio.load import (
    target_context as target_context,
)
from openclaw.providers.lmstudio.readiness_record import ReadinessRecord
from openclaw.providers.lmstudio.urls import inference_base
from openclaw.providers.load_events import (
    load_listener as load_listener,
)

if TYPE_CHECKING:
    from openclaw.net.policy import NetPolicy

BACKOFF_BASE = 5.0
BACKOFF_MAX = 300.0
FRESH_SECONDS = 30.0


@dataclass
class Readiness:
    """What the chat call should do: address ``wire_model`` (instance id or key)."""

    model_key: str
    wire_model: str
    checked: bool  # a network check/load ran for this call (False: cached or skipped)
    warning: str | None = None
    context: int | None = None  # the context of the addressed instance, when known

    @classmethod
    def of(cls, result: PreloadResult, *, checked: bool) -> Readiness:
        wire_model = result.instance_id or result.model_key
        return cls(result.model_key, wire_model, checked=checked, context=result.context)


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


def _backoff_delay(failures: int) -> float:
    return min(BACKOFF_MAX, BACKOFF_BASE * (2 ** (failures - 1)))


def preload_key(base_url: str, model_key: str, requested: int | None) -> str:
    return f"{inference_base(base_url)}::{model_key}::{requested if requested else 'default'}"


Loader = Callable[[], Awaitable[PreloadResult]]


@dataclass
class Preloader:
    """Freshness, de-duplication and back-off for preloads, keyed by :func:`preload_key`."""

    clock: Callable[[], float] = time.monotonic
    record: ReadinessRecord = field(default_factory=lambda: ReadinessRecord(FRESH_SECONDS))
    backoff: dict[str, _Backoff] = field(default_factory=dict)
    fresh: dict[str, _Fresh] = field(default_factory=dict)
    inflight: dict[str, _Flight] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # keys whose cross-run record was consulted

    def now(self) -> float:
        return self.clock()

    async def ensure_ready(self, key: str, model_key: str, load: Loader, force: bool) -> Readiness:
        """Run, join or skip the preload behind ``key`` (``load`` runs check + load)."""
        if not force and key not in self.fresh and key not in self.seen:
            self._consult_record(key)
        while True:
            cached = self._cached(key, model_key, force)
            if cached is not None:
                return cached
            flight = self.inflight.get(key)
            if flight is None:
                return await self._lead(key, model_key, load)
            joined = await self._join(flight, key, model_key)
            if joined is not None:
                return joined
            # the leader was cancelled: try again ourselves

    def _consult_record(self, key: str) -> None:
        self.seen.add(key)
        found = self.record.lookup(key)
        if found is not None:
            result, age = found
            self.fresh[key] = _Fresh(result, self.now() - age)

    def _cached(self, key: str, model_key: str, force: bool) -> Readiness | None:
        fresh = self.fresh.get(key)
        if not force and fresh is not None and self.now() - fresh.at < FRESH_SECONDS:
            return Readiness.of(fresh.result, checked=False)
        entry = self.backoff.get(key)
        if entry is not None and self.now() < entry.cooldown_until:
            return self._after_failure(key, model_key)
        return None

    async def _join(self, flight: _Flight, key: str, model_key: str) -> Readiness | None:
        flight.waiters += 1
        try:
            await flight.event.wait()
        finally:
            flight.waiters -= 1
        if flight.result is not None:
            return Readiness.of(flight.result, checked=True)
        if flight.error is None:
            return None
        return self._after_failure(key, model_key)

    async def _lead(self, key: str, model_key: str, load: Loader) -> Readiness:
        import anyio

        flight = _Flight(event=anyio.Event())
        self.inflight[key] = flight
        try:
            result = await load()
        except OpenClawError as exc:
            self._failed(key, exc)
            flight.error = exc
            return self._after_failure(key, model_key)
        except NetworkError as exc:  # pragma: no cover - prepare_model wraps these
            flight.error = exc
            raise
        else:
            self.backoff.pop(key, None)
            self.fresh[key] = _Fresh(result, self.now())
            self.seen.add(key)
            self.record.remember(key, result)
            flight.result = result
            return Readiness.of(result, checked=True)
        finally:
            self.inflight.pop(key, None)
            flight.event.set()

    def _failed(self, key: str, exc: OpenClawError) -> None:
        entry = self.backoff.setdefault(key, _Backoff())
        entry.failures += 1
        entry.cooldown_until = self.now() + _backoff_delay(entry.failures)
        if not isinstance(entry.error, RequiredContextError):
            entry.error = exc  # the required-context failure stays (§6.3)
        resolved = getattr(exc, "resolved_model_key", None)
        if resolved is None and exc.__cause__ is not None:
            resolved = getattr(exc.__cause__, "resolved_model_key", None)
        if isinstance(resolved, str) and resolved:
            entry.resolved_key = resolved
        self.fresh.pop(key, None)

    def _after_failure(self, key: str, model_key: str) -> Readiness:
        entry = self.backoff.get(key)
        if entry is not None and isinstance(entry.error, RequiredContextError):
            raise entry.error
        resolved = entry.resolved_key if entry and entry.resolved_key else model_key
        remaining = max(0.0, entry.cooldown_until - self.now()) if entry else 0.0
        warning = None
        if entry is not None and entry.error is not None:
            warning = (
                f'LM Studio inference preload failed for "{model_key}" ({entry.failures} '
                f"consecutive failure(s), next preload attempt skipped for ~{remaining:.0f}s); "
                f"continuing without preload: {entry.error.message}"
            )
        return Readiness(resolved, resolved, checked=False, warning=warning)


# ---- the process's preloader --------------------------------------------------------------------

_preloader = Preloader()


def state() -> Preloader:
    """The preloader the chat path uses (tests inspect it)."""
    return _preloader


def reset_state() -> None:
    global _preloader
    _preloader = Preloader()


def set_clock(clock: Callable[[], float] | None) -> None:
    """Tests: replace the clock used for back-off and freshness (None restores it)."""
    _preloader.clock = clock or time.monotonic


def now() -> float:
    return _preloader.now()


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
    requested = wire.positive_int(requested_context)
    load = functools.partial(
        loader or prepare_model,
        base_url,
        model_key,
        api_key=api_key,
        headers=headers,
        policy=policy,
        requested_context=requested,
        timeout=timeout,
        ttl_seconds=ttl_seconds,
    )
    key = preload_key(base_url, model_key, requested)
    return await _preloader.ensure_ready(key, model_key, load, force)
