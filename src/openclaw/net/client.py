"""The one HTTP client factory: every outbound request goes through here.

``async_client(policy)`` / ``sync_client(policy)`` return clients bound to a ``NetPolicy``.
For every hop the transport runs the guard (``openclaw.net.guard``): parse exactly as httpx2
will, check the host before DNS, resolve once, check every answer, and pin the connection to
the validated addresses (``openclaw.net.backend``). Redirects are followed here, not by
httpx2, each hop fully re-validated. Environment proxies are ignored (``trust_env=False``).

Errors: ``SsrfBlockedError`` (refused), ``UnreachableError`` (refused connection, DNS failure,
no route; no retries), ``RequestTimeoutError``, ``ResponseTooLargeError``; ``NetworkError``
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
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import Any, Self

import httpcore2
import httpx2

from openclaw.errors import (
    NetworkError,
    RequestTimeoutError,
    ResponseTooLargeError,
    UnreachableError,
)
from openclaw.net.backend import CURRENT_PINS, PinnedAsyncBackend, PinnedSyncBackend, Pins
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
    resolve_sync,
)
from openclaw.net.policy import NetPolicy

TimeoutLike = float | httpx2.Timeout | None

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BODY = 16 * 1024 * 1024
_CAP_KEY = "openclaw_max_body_bytes"
_DEFAULT_DNS_TIMEOUT = 10.0


def _as_timeout(value: TimeoutLike) -> httpx2.Timeout:
    return value if isinstance(value, httpx2.Timeout) else httpx2.Timeout(value)


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


def _too_large(origin: str, cap: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"Response from {origin} is larger than the {cap}-byte limit",
        hint="The server sent more data than expected; check the URL.",
    )


def _map_transport_error(exc: Exception, origin: str) -> NetworkError:
    if isinstance(exc, httpx2.TimeoutException):
        return RequestTimeoutError(
            f"Request to {origin} timed out",
            hint="The server did not answer in time; check that it is running and not overloaded.",
        )
    if isinstance(exc, httpx2.ConnectError):
        detail = str(exc).strip() or "connection failed"
        return UnreachableError(
            f"Cannot connect to {origin} ({detail})",
            hint="Is the server running and listening on that address and port?",
        )
    return NetworkError(f"Network error talking to {origin}: {type(exc).__name__}")


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
                    raise _too_large(self._origin, self._cap)
                yield chunk
        except httpx2.TransportError as exc:
            raise _map_transport_error(exc, self._origin) from None

    async def aclose(self) -> None:
        await self._inner.aclose()


class _GuardedSyncStream(httpx2.SyncByteStream):
    def __init__(self, inner: httpx2.SyncByteStream, cap: int | None, origin: str) -> None:
        self._inner = inner
        self._cap = cap
        self._origin = origin

    def __iter__(self) -> Iterator[bytes]:
        total = 0
        try:
            for chunk in self._inner:
                total += len(chunk)
                if self._cap is not None and total > self._cap:
                    raise _too_large(self._origin, self._cap)
                yield chunk
        except httpx2.TransportError as exc:
            raise _map_transport_error(exc, self._origin) from None

    def close(self) -> None:
        self._inner.close()


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


class GuardedSyncTransport(httpx2.HTTPTransport):
    """Sync twin of ``GuardedAsyncTransport``."""

    def __init__(
        self,
        policy: NetPolicy,
        *,
        resolver: Resolver | None = None,
        network_backend: httpcore2.NetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self._resolver = resolver
        self._pool = httpcore2.ConnectionPool(
            ssl_context=_shared_ssl_context(),
            network_backend=PinnedSyncBackend(network_backend),
            **_POOL_OPTIONS,
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        target = check_target(request.url, self.policy)
        answers = resolve_sync(target, self._resolver, _dns_timeout(request))
        addresses = check_answers(target, answers, self.policy)
        token = CURRENT_PINS.set(Pins(target.host.value, target.port, addresses))
        try:
            response = super().handle_request(request)
        finally:
            CURRENT_PINS.reset(token)
        cap = request.extensions.get(_CAP_KEY)
        assert isinstance(response.stream, httpx2.SyncByteStream)
        response.stream = _GuardedSyncStream(
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
            raise _too_large(self.origin, cap)

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.total > self.cap:
            raise _too_large(self.origin, self.cap)
        self.chunks.append(chunk)

    def undecodable(self) -> NetworkError:
        return NetworkError(f"Could not decode the response body from {self.origin}")


class _RedirectWalk:
    """One request's way through redirects; the guard re-validates every hop.

    Shared by the sync and async clients so the redirect rules exist once.
    """

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


class _GuardedClientBase:
    """What both clients share: policy, caps and how a first request is built."""

    policy: NetPolicy
    max_body_bytes: int
    max_redirects: int
    _client: httpx2.Client | httpx2.AsyncClient

    def _setup(self, policy: NetPolicy, max_body_bytes: int, max_redirects: int) -> None:
        self.policy = policy
        self.max_body_bytes = max_body_bytes
        self.max_redirects = max_redirects

    @staticmethod
    def _client_options(timeout: TimeoutLike, headers: Mapping[str, str] | None) -> dict[str, Any]:
        # Proxies from the environment would bypass the guard, redirects are the guard's job,
        # and cookies would carry state between origins: all three are off.
        return {
            "trust_env": False,
            "follow_redirects": False,
            "timeout": _as_timeout(timeout),
            "headers": _without_host(headers),
            "cookies": _no_cookies(),
        }

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


class GuardedAsyncClient(_GuardedClientBase):
    """Async client bound to one policy. Use ``async with`` or call ``aclose()``."""

    _client: httpx2.AsyncClient

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
        self._setup(policy, max_body_bytes, max_redirects)
        self._transport = GuardedAsyncTransport(
            policy, resolver=resolver, network_backend=network_backend
        )
        self._client = httpx2.AsyncClient(
            transport=self._transport, **self._client_options(timeout, headers)
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

    async def _send_one(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await self._client.send(request, stream=True)
        except httpx2.TransportError as exc:
            raise _map_transport_error(exc, _origin_of(request.url)) from None

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
    ) -> httpx2.Response:
        """Send, follow guarded redirects, read the body (capped) and return the response."""
        cap = self._cap(max_body_bytes)
        response = await self._send(
            method, url, json=json, content=content, headers=headers, timeout=timeout, cap=cap
        )
        try:
            body = _CappedBody(response, cap)
            async for chunk in response.aiter_bytes():
                body.add(chunk)
            response._content = b"".join(body.chunks)
        except httpx2.DecodingError:
            raise body.undecodable() from None
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
    ) -> AbstractAsyncContextManager[httpx2.Response]:
        """``async with client.stream(...) as response:`` - body not read yet; reading it past
        the cap raises ResponseTooLargeError, transport failures map to NetworkError types."""
        return self._stream(
            method,
            url,
            json=json,
            content=content,
            headers=headers,
            timeout=timeout,
            cap=self._cap(max_body_bytes),
        )

    @contextlib.asynccontextmanager
    async def _stream(
        self, method: str, url: str | httpx2.URL, **parts: Any
    ) -> AsyncIterator[httpx2.Response]:
        response = await self._send(method, url, **parts)
        try:
            yield response
        finally:
            await response.aclose()

    async def get(self, url: str | httpx2.URL, **kwargs: Any) -> httpx2.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str | httpx2.URL, **kwargs: Any) -> httpx2.Response:
        return await self.request("POST", url, **kwargs)


class GuardedClient(_GuardedClientBase):
    """Sync twin of ``GuardedAsyncClient``. Use ``with`` or call ``close()``."""

    _client: httpx2.Client

    def __init__(
        self,
        policy: NetPolicy,
        *,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        headers: Mapping[str, str] | None = None,
        resolver: Resolver | None = None,
        network_backend: httpcore2.NetworkBackend | None = None,
        max_redirects: int = MAX_REDIRECTS,
    ) -> None:
        self._setup(policy, max_body_bytes, max_redirects)
        self._transport = GuardedSyncTransport(
            policy, resolver=resolver, network_backend=network_backend
        )
        self._client = httpx2.Client(
            transport=self._transport, **self._client_options(timeout, headers)
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _send_one(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return self._client.send(request, stream=True)
        except httpx2.TransportError as exc:
            raise _map_transport_error(exc, _origin_of(request.url)) from None

    def _send(self, method: str, url: str | httpx2.URL, **parts: Any) -> httpx2.Response:
        walk = self._walk(method, url, **parts)
        while True:
            response = self._send_one(walk.request)
            try:
                if not walk.next_hop(response):
                    return response
            except BaseException:
                response.close()
                raise
            response.close()

    def request(
        self,
        method: str,
        url: str | httpx2.URL,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike | None = None,
        max_body_bytes: int | None = None,
    ) -> httpx2.Response:
        cap = self._cap(max_body_bytes)
        response = self._send(
            method, url, json=json, content=content, headers=headers, timeout=timeout, cap=cap
        )
        try:
            body = _CappedBody(response, cap)
            for chunk in response.iter_bytes():
                body.add(chunk)
            response._content = b"".join(body.chunks)
        except httpx2.DecodingError:
            raise body.undecodable() from None
        finally:
            response.close()
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
    ) -> AbstractContextManager[httpx2.Response]:
        return self._stream(
            method,
            url,
            json=json,
            content=content,
            headers=headers,
            timeout=timeout,
            cap=self._cap(max_body_bytes),
        )

    @contextlib.contextmanager
    def _stream(
        self, method: str, url: str | httpx2.URL, **parts: Any
    ) -> Iterator[httpx2.Response]:
        response = self._send(method, url, **parts)
        try:
            yield response
        finally:
            response.close()

    def get(self, url: str | httpx2.URL, **kwargs: Any) -> httpx2.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str | httpx2.URL, **kwargs: Any) -> httpx2.Response:
        return self.request("POST", url, **kwargs)


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


def sync_client(
    policy: NetPolicy,
    *,
    timeout: TimeoutLike = DEFAULT_TIMEOUT,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    headers: Mapping[str, str] | None = None,
    resolver: Resolver | None = None,
    network_backend: httpcore2.NetworkBackend | None = None,
    max_redirects: int = MAX_REDIRECTS,
) -> GuardedClient:
    """The sync twin of ``async_client``."""
    return GuardedClient(
        policy,
        timeout=timeout,
        max_body_bytes=max_body_bytes,
        headers=headers,
        resolver=resolver,
        network_backend=network_backend,
        max_redirects=max_redirects,
    )
