"""The one HTTP client factory: every outbound request goes through here.

``async_client(policy)`` returns a client bound to a ``NetPolicy``. For every hop the transport
runs the guard (``openclaw.net.guard``): parse exactly as httpx2 will, check the host before
DNS, resolve once, check every answer, and pin the connection to the validated addresses
(``openclaw.net.backend``). Redirects are followed here, not by httpx2, each hop fully
re-validated. Environment proxies are ignored (``trust_env=False``).

Time limits: ``request()`` reads the whole body, and its timeout is a deadline for the whole
request (connect, headers and body together), so a server that drips one byte a second cannot
keep it alive. ``stream()`` keeps per-read timeouts (a chat answer may legitimately stream for
minutes) unless the caller passes a ``deadline``.

Errors (mapped once, in ``openclaw.net.errors``): ``SsrfBlockedError`` (refused),
``UnreachableError`` (refused connection, DNS failure, no route; no retries),
``RequestTimeoutError``, ``ConnectionClosedError``, ``ResponseTooLargeError``; ``NetworkError``
for other transport failures and redirect errors (loop, too many). HTTP statuses are returned,
not raised.

Tests inject ``resolver`` (host, port -> IP strings) and ``network_backend`` (an httpcore2
backend that receives only validated IP literals, e.g. one that records and never connects).
"""

from __future__ import annotations

import contextlib
import functools
import http.cookiejar
import logging
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Self

import anyio
import httpcore2
import httpx2

from openclaw.net.backend import CURRENT_PINS, PinnedAsyncBackend, Pins
from openclaw.net.errors import (
    deadline_passed,
    map_transport_error,
    too_large,
    transport_error_types,
)
from openclaw.net.guard import (
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    RedirectStep,
    Resolver,
    check_answers,
    check_target,
    format_origin,
    origin_key,
    parse_url,
    redirect_headers,
    redirect_step,
    resolve_async,
)
from openclaw.net.policy import NetPolicy

TimeoutLike = float | httpx2.Timeout | None

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BODY = 16 * 1024 * 1024
_CAP_KEY = "openclaw_max_body_bytes"
_DEFAULT_DNS_TIMEOUT = 10.0
#: ``request(deadline=...)`` default: the request's own timeout becomes its deadline.
FROM_TIMEOUT: Any = object()


def _as_timeout(value: TimeoutLike) -> httpx2.Timeout:
    return value if isinstance(value, httpx2.Timeout) else httpx2.Timeout(value)


def _deadline_of(timeout: TimeoutLike) -> float | None:
    """The whole-request deadline a timeout stands for: the number itself, or the longest
    phase of an ``httpx2.Timeout`` (None: no limit)."""
    if not isinstance(timeout, httpx2.Timeout):
        return timeout
    parts = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t]
    return max(parts) if parts else None


def _no_cookies() -> http.cookiejar.CookieJar:
    # Cookies never travel between hops or requests: a jar that accepts nothing.
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def _dns_timeout(request: httpx2.Request) -> float:
    timeouts = request.extensions.get("timeout") or {}
    value = timeouts.get("connect") if isinstance(timeouts, dict) else None
    return float(value) if value is not None else _DEFAULT_DNS_TIMEOUT


def _origin_of(url: httpx2.URL) -> str:
    return format_origin(*origin_key(url))


class _OriginOnlyLogFilter(logging.Filter):
    """httpx2 logs every request's full URL at INFO ("HTTP Request: GET <url> ..."); logs
    carry the origin only, never path, query or userinfo, so the URL is cut down here."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, httpx2.URL) for arg in record.args
        ):
            record.args = tuple(
                _origin_of(arg) if isinstance(arg, httpx2.URL) else arg for arg in record.args
            )
        return True


logging.getLogger("httpx2").addFilter(_OriginOnlyLogFilter())


_MAX_CONNECTIONS = 20
_MAX_KEEPALIVE = 10
_KEEPALIVE_EXPIRY = 5.0


# --- transports --------------------------------------------------------------------------


class _GuardedAsyncStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, cap: int | None, origin: str) -> None:
        self._inner = inner
        self._cap = cap
        self._origin = origin

    async def __aiter__(self) -> AsyncIterator[bytes]:
        total = 0
        try:
            async for chunk in self._inner:
                total += len(chunk)
                if self._cap is not None and total > self._cap:
                    raise too_large(self._origin, self._cap)
                yield chunk
        except httpx2.TransportError as exc:
            raise map_transport_error(exc, self._origin, "body") from None

    async def aclose(self) -> None:
        await self._inner.aclose()


# HTTP/1.1 only (one request per connection attempt, so pins never cross requests) and no
# transport retries: a dead server must fail fast, not after a retry storm.
_POOL_OPTIONS: dict[str, Any] = {
    "max_connections": _MAX_CONNECTIONS,
    "max_keepalive_connections": _MAX_KEEPALIVE,
    "keepalive_expiry": _KEEPALIVE_EXPIRY,
    "http1": True,
    "http2": False,
    "retries": 0,
}


@functools.lru_cache(maxsize=1)
def _shared_ssl_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs ~0.2 s, paid per client
    before (a scan of five ports spent a second on it). Contexts are safe to share."""
    from httpx2._config import create_ssl_context

    return create_ssl_context()


class GuardedAsyncTransport(httpx2.AsyncHTTPTransport):
    """httpx2 transport that validates and pins every request it sends."""

    def __init__(
        self,
        policy: NetPolicy,
        *,
        resolver: Resolver | None = None,
        network_backend: httpcore2.AsyncNetworkBackend | None = None,
    ) -> None:
        # Deliberately not calling super().__init__: it would build an unpinned pool.
        self.policy = policy
        self._resolver = resolver
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=_shared_ssl_context(),
            network_backend=PinnedAsyncBackend(network_backend),
            **_POOL_OPTIONS,
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        target = check_target(request.url, self.policy)
        answers = await resolve_async(target, self._resolver, _dns_timeout(request))
        addresses = check_answers(target, answers, self.policy)
        token = CURRENT_PINS.set(Pins(target.host.value, target.port, addresses))
        try:
            response = await super().handle_async_request(request)
        finally:
            CURRENT_PINS.reset(token)
        cap = request.extensions.get(_CAP_KEY)
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _GuardedAsyncStream(
            response.stream, cap if isinstance(cap, int) else None, target.origin
        )
        return response


# --- clients -----------------------------------------------------------------------------


def _next_request(request: httpx2.Request, step: RedirectStep) -> httpx2.Request:
    headers = redirect_headers(
        request.headers.multi_items(), cross_origin=step.cross_origin, keep_body=step.keep_body
    )
    body = request.content if step.keep_body else None
    return httpx2.Request(
        step.method, step.url, headers=headers, content=body, extensions=request.extensions
    )


def _without_host(headers: Mapping[str, str] | None) -> dict[str, str]:
    # The Host header always names the validated URL host; callers cannot override it.
    return {k: v for k, v in (headers or {}).items() if k.lower() != "host"}


class _CappedBody:
    """Collects a response body and refuses it past ``cap`` bytes (declared or received)."""

    def __init__(self, response: httpx2.Response, cap: int) -> None:
        self.origin = _origin_of(response.request.url)
        self.cap = cap
        self.chunks: list[bytes] = []
        self.total = 0
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise too_large(self.origin, cap)

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.total > self.cap:
            raise too_large(self.origin, self.cap)
        self.chunks.append(chunk)


class _RedirectWalk:
    """One request's way through redirects; the guard re-validates every hop."""

    def __init__(self, request: httpx2.Request, policy: NetPolicy, max_redirects: int) -> None:
        self.request = request
        self._policy = policy
        self._max_redirects = max_redirects
        self._visited = {f"{request.method} {request.url}"}
        self._first_host = origin_key(request.url)[1]
        self._followed = 0

    def next_hop(self, response: httpx2.Response) -> bool:
        """False when ``response`` is the answer; True when ``self.request`` is the next hop."""
        if response.status_code not in REDIRECT_STATUSES:
            return False
        step = redirect_step(
            self.request.url,
            response.headers.get("location"),
            response.status_code,
            method=self.request.method,
            followed=self._followed,
            visited=self._visited,
            policy=self._policy,
            first_host=self._first_host,
            max_redirects=self._max_redirects,
        )
        self._followed += 1
        self.request = _next_request(self.request, step)
        return True


class GuardedAsyncClient:
    """Async client bound to one policy. Use ``async with`` or call ``aclose()``."""

    def __init__(
        self,
        policy: NetPolicy,
        *,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        headers: Mapping[str, str] | None = None,
        resolver: Resolver | None = None,
        network_backend: httpcore2.AsyncNetworkBackend | None = None,
        max_redirects: int = MAX_REDIRECTS,
    ) -> None:
        self.policy = policy
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self.max_redirects = max_redirects
        self._transport = GuardedAsyncTransport(
            policy, resolver=resolver, network_backend=network_backend
        )
        # Proxies from the environment would bypass the guard, redirects are the guard's job,
        # and cookies would carry state between origins: all three are off.
        self._client = httpx2.AsyncClient(
            transport=self._transport,
            trust_env=False,
            follow_redirects=False,
            timeout=_as_timeout(timeout),
            headers=_without_host(headers),
            cookies=_no_cookies(),
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def _cap(self, max_body_bytes: int | None) -> int:
        return self.max_body_bytes if max_body_bytes is None else max_body_bytes

    def _walk(
        self,
        method: str,
        url: str | httpx2.URL,
        *,
        json: Any,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        timeout: TimeoutLike | None,
        cap: int,
    ) -> _RedirectWalk:
        request = self._client.build_request(
            method,
            parse_url(url),
            json=json,
            content=content,
            headers=_without_host(headers),
            timeout=_as_timeout(timeout) if timeout is not None else httpx2.USE_CLIENT_DEFAULT,
            extensions={_CAP_KEY: cap},
        )
        return _RedirectWalk(request, self.policy, self.max_redirects)

    async def _send_one(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await self._client.send(request, stream=True)
        except httpx2.TransportError as exc:
            raise map_transport_error(exc, _origin_of(request.url), "answer") from None

    async def _send(self, method: str, url: str | httpx2.URL, **parts: Any) -> httpx2.Response:
        walk = self._walk(method, url, **parts)
        while True:
            response = await self._send_one(walk.request)
            try:
                if not walk.next_hop(response):
                    return response
            except BaseException:
                await response.aclose()
                raise
            await response.aclose()

    def _deadline(self, timeout: TimeoutLike | None, deadline: Any) -> float | None:
        if deadline is not FROM_TIMEOUT:
            return float(deadline) if deadline is not None else None
        return _deadline_of(self.timeout if timeout is None else timeout)

    async def request(
        self,
        method: str,
        url: str | httpx2.URL,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike | None = None,
        max_body_bytes: int | None = None,
        deadline: float | None = FROM_TIMEOUT,
    ) -> httpx2.Response:
        """Send, follow guarded redirects, read the body (capped) and return the response.

        ``deadline`` (seconds, default: the timeout) bounds the whole request, every redirect
        hop and the whole body included; past it, ``RequestTimeoutError``."""
        limit = self._deadline(timeout, deadline)
        parts = {"json": json, "content": content, "headers": headers, "timeout": timeout}
        try:
            with anyio.fail_after(limit):
                return await self._request(method, url, cap=self._cap(max_body_bytes), **parts)
        except TimeoutError:
            raise deadline_passed(_origin_of(parse_url(url)), limit or 0) from None

    async def _request(self, method: str, url: str | httpx2.URL, **parts: Any) -> httpx2.Response:
        response = await self._send(method, url, **parts)
        origin = _origin_of(response.request.url)
        try:
            body = _CappedBody(response, parts["cap"])
            async for chunk in response.aiter_bytes():
                body.add(chunk)
            response._content = b"".join(body.chunks)
        except httpx2.DecodingError as exc:
            raise map_transport_error(exc, origin, "body") from None
        finally:
            await response.aclose()
        return response

    def stream(
        self,
        method: str,
        url: str | httpx2.URL,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike | None = None,
        max_body_bytes: int | None = None,
        deadline: float | None = None,
    ) -> AbstractAsyncContextManager[httpx2.Response]:
        """``async with client.stream(...) as response:`` - body not read yet; reading it past
        the cap raises ResponseTooLargeError, transport failures map to NetworkError types.

        Timeouts are per read; ``deadline`` (seconds) also bounds the whole ``async with``
        block, body reads included (``RequestTimeoutError`` when it passes)."""
        return self._stream(
            method,
            url,
            deadline,
            json=json,
            content=content,
            headers=headers,
            timeout=timeout,
            cap=self._cap(max_body_bytes),
        )

    @contextlib.asynccontextmanager
    async def _stream(
        self, method: str, url: str | httpx2.URL, deadline: float | None, **parts: Any
    ) -> AsyncIterator[httpx2.Response]:
        if deadline is None:  # the chat path: no cancel scope in the hot loop
            response = await self._send(method, url, **parts)
            try:
                yield response
            finally:
                await response.aclose()
            return
        try:
            with anyio.fail_after(deadline):
                response = await self._send(method, url, **parts)
                try:
                    yield response
                finally:
                    await response.aclose()
        except TimeoutError:
            raise deadline_passed(_origin_of(parse_url(url)), deadline) from None

    async def get(self, url: str | httpx2.URL, **kwargs: Any) -> httpx2.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str | httpx2.URL, **kwargs: Any) -> httpx2.Response:
        return await self.request("POST", url, **kwargs)


def async_client(
    policy: NetPolicy,
    *,
    timeout: TimeoutLike = DEFAULT_TIMEOUT,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    headers: Mapping[str, str] | None = None,
    resolver: Resolver | None = None,
    network_backend: httpcore2.AsyncNetworkBackend | None = None,
    max_redirects: int = MAX_REDIRECTS,
) -> GuardedAsyncClient:
    """An async client bound to ``policy`` (see module docstring)."""
    return GuardedAsyncClient(
        policy,
        timeout=timeout,
        max_body_bytes=max_body_bytes,
        headers=headers,
        resolver=resolver,
        network_backend=network_backend,
        max_redirects=max_redirects,
    )


__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_TIMEOUT",
    "GuardedAsyncClient",
    "GuardedAsyncTransport",
    "Resolver",
    "TimeoutLike",
    "async_client",
    "transport_error_types",
]
