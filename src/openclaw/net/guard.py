"""The decision: may this hop be sent, and to which addresses?

One code path for the client and for ``openclaw net check``:

* ``check_target(url, policy)``: parse exactly as httpx2 does, then the scheme, host and
  literal rules that need no DNS (per-hop origin trust is decided here);
* ``resolve_sync`` / ``resolve_async``: one lookup, with a timeout;
* ``check_answers(target, answers, policy)``: every answer must pass; returns the pinned
  addresses, IPv4 first;
* ``redirect_step(...)``: the redirect rules (limit, loop, scheme, provider same-host rule,
  method and body rewriting).

Refusals raise ``SsrfBlockedError`` (messages of ssrf.md §2, with a hint naming the config key
that would allow it, or saying why nothing can); a name that does not resolve raises
``UnreachableError``. Logs and errors carry the origin only.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openclaw.errors import NetworkError, RequestTimeoutError, SsrfBlockedError, UnreachableError
from openclaw.net.addresses import (
    BLOCKED,
    LOOPBACK,
    MALFORMED,
    NEVER,
    NOT_A_DESTINATION,
    OPT_IN_DENY,
    TRUSTED_DENY,
    classify,
    inspect_ip,
    is_ipv4,
)
from openclaw.net.hosts import (
    Host,
    HostKind,
    is_blocked_name,
    is_loopback_name,
    is_metadata_name,
    parse_host,
)
from openclaw.net.policy import DEFAULT_PORTS, NetPolicy, effective_port

if TYPE_CHECKING:
    import httpx2

Resolver = Callable[[str, int], list[str]]

log = logging.getLogger("openclaw.net")
log.addHandler(logging.NullHandler())  # a library: no output unless the app configures logging

BLOCKED_HOST = "Blocked hostname or private/internal/special-use IP address"
BLOCKED_ANSWER = "Blocked: resolves to private/internal/special-use IP address"
BAD_SCHEME = "Invalid URL: must be http or https"
BAD_URL = "Invalid URL"
BAD_PORT = "Invalid URL: port out of range"
OTHER_HOST_REDIRECT = "Blocked: provider requests follow redirects only within the configured host"

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3
SAFE_REDIRECT_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "content-language",
        "content-type",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-unmodified-since",
        "pragma",
        "range",
        "user-agent",
    }
)
BODY_HEADERS = frozenset(
    {
        "content-encoding",
        "content-language",
        "content-length",
        "content-location",
        "content-type",
        "transfer-encoding",
    }
)

NEVER_HINT = (
    "Link-local, cloud-metadata and local-use NAT64 addresses are never reachable, "
    "whatever the config."
)
NOT_A_DESTINATION_HINT = (
    "Unspecified, multicast and broadcast addresses are never valid destinations."
)
MALFORMED_HINT = (
    "Ambiguous or malformed hosts are refused and no setting allows them; use a DNS name, a "
    "dotted-decimal IPv4 address or a bracketed IPv6 address."
)
STRICT_HINT = (
    "Tool and plugin fetches reach public addresses only. A model server on a private address "
    "is reached through its provider's baseUrl (models.providers.<id>.baseUrl)."
)


@dataclass(frozen=True)
class Target:
    """One validated-before-DNS hop."""

    url: httpx2.URL
    scheme: str
    host: Host
    port: int
    origin: str  # scheme://host[:port], never userinfo, path or query
    mode: str  # "strict" | "trusted" | "opt_in"
    loopback_ok: bool  # trusted mode: may answers be loopback?


def format_origin(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    if DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


def display_url(url: httpx2.URL) -> str:
    """The URL without userinfo (for the net check report)."""
    if url.userinfo:
        return str(url.copy_with(username=None, password=None))
    return str(url)


_USERINFO = re.compile(r"^(\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:/*|//))[^/?#]*@")


def display_raw_url(url: str) -> str:
    """A URL as given, minus anything that may be userinfo (also when it does not parse)."""
    return _USERINFO.sub(r"\1", url, count=1)


def _block(
    reason: str, origin: str | None, hint: str | None, *, log_it: bool = True
) -> SsrfBlockedError:
    if log_it:
        log.warning("blocked request to %s: %s", origin or "<invalid URL>", reason)
    return SsrfBlockedError(reason, origin=origin, hint=hint)


def _private_hint(policy: NetPolicy) -> str:
    key = policy.config_key
    if key is None:
        return STRICT_HINT
    if policy.private_network_denied:
        return (
            f"{key} is false, which also removes the trust in the configured baseUrl origin; "
            f"remove that key to trust the baseUrl origin again, or set it to true to allow "
            f"private hosts."
        )
    if policy.trusted_origin is not None:
        origin = format_origin(*policy.trusted_origin)
        return (
            f"Only the configured baseUrl origin {origin} is trusted. To let provider "
            f"'{policy.provider_id}' reach other private hosts and ports, set {key} to true."
        )
    why = f" ({policy.trust_refused})" if policy.trust_refused else ""
    return f"The configured baseUrl gets no trust{why}. To allow private hosts, set {key} to true."


def _flag_hint(flags: int, policy: NetPolicy) -> str:
    if flags & MALFORMED:
        return MALFORMED_HINT
    if flags & NEVER:
        return NEVER_HINT
    if flags & NOT_A_DESTINATION:
        return NOT_A_DESTINATION_HINT
    return _private_hint(policy)


def check_raw_url(raw: str) -> None:
    """Refuse what no parser should be trusted with: a backslash before the query, or
    control characters / NUL anywhere (parser differentials; C resolvers truncate at NUL)."""
    head = raw.split("?", 1)[0].split("#", 1)[0]
    if "\\" in head:
        raise _block(BLOCKED_HOST, None, MALFORMED_HINT)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
        raise _block(BLOCKED_HOST, None, MALFORMED_HINT)


def parse_url(url: str | httpx2.URL) -> httpx2.URL:
    import httpx2

    if isinstance(url, httpx2.URL):
        return url
    check_raw_url(url)
    try:
        return httpx2.URL(url.strip())
    except Exception:
        raise _block(BAD_URL, None, "The URL cannot be parsed.") from None


def hop_mode(scheme: str, host: Host, port: int, policy: NetPolicy) -> str:
    if policy.allow_private_network:
        return "opt_in"
    if policy.trusted_origin == (scheme, host.value, port):
        return "trusted"
    return "strict"


def check_target(url: str | httpx2.URL, policy: NetPolicy) -> Target:
    """Everything decidable before DNS. Raises SsrfBlockedError."""
    parsed = parse_url(url)
    scheme = parsed.scheme
    if scheme not in DEFAULT_PORTS:
        raise _block(BAD_SCHEME, None, "Only http:// and https:// URLs can be fetched.")
    try:
        raw_host = parsed.raw_host.decode("ascii")
    except UnicodeDecodeError:
        raw_host = ""
    host = parse_host(raw_host)
    port = effective_port(scheme, parsed.port)
    if port is None:
        raise _block(BAD_PORT, None, "A port must be between 1 and 65535.")
    if host.kind is HostKind.INVALID:
        origin = f"{scheme}://<invalid host>" if raw_host else None
        raise _block(BLOCKED_HOST if raw_host else BAD_URL, origin, MALFORMED_HINT)
    origin = format_origin(scheme, host.value, port)
    mode = hop_mode(scheme, host, port, policy)
    loopback_ok = False
    if host.kind is HostKind.NAME:
        name = host.value
        if mode == "opt_in" and is_metadata_name(name):
            raise _block(BLOCKED_HOST, origin, NEVER_HINT)
        if mode == "strict" and is_blocked_name(name):
            hint = NEVER_HINT if is_metadata_name(name) else _private_hint(policy)
            raise _block(BLOCKED_HOST, origin, hint)
        loopback_ok = is_loopback_name(name)
    else:
        flags = classify(host.value)
        deny = _deny_mask(mode, loopback_ok=True)
        if flags & deny:
            raise _block(BLOCKED_HOST, origin, _flag_hint(flags, policy))
        loopback_ok = True
    return Target(parsed, scheme, host, port, origin, mode, loopback_ok)


def _deny_mask(mode: str, *, loopback_ok: bool) -> int:
    if mode == "opt_in":
        return OPT_IN_DENY
    if mode == "trusted":
        return TRUSTED_DENY if loopback_ok else TRUSTED_DENY | LOOPBACK
    return BLOCKED


def check_answers(target: Target, answers: Sequence[str], policy: NetPolicy) -> tuple[str, ...]:
    """Every answer must pass; returns the de-duplicated addresses to dial, IPv4 first."""
    if target.host.kind is not HostKind.NAME:
        return (target.host.value,)
    if not answers:
        raise _resolution_failed(target)
    deny = _deny_mask(target.mode, loopback_ok=target.loopback_ok)
    v4: list[str] = []
    v6: list[str] = []
    for answer in answers:
        flags, ip = inspect_ip(answer)
        if flags & deny or ip is None:
            if target.mode == "trusted" and flags & LOOPBACK and not flags & TRUSTED_DENY:
                hint = (
                    f"The configured host {target.host.value} is not a loopback name, so its "
                    "DNS answers may not be loopback; use localhost or 127.0.0.1 in the baseUrl."
                )
            else:
                hint = _flag_hint(flags, policy)
            raise _block(BLOCKED_ANSWER, target.origin, hint)
        bucket = v4 if is_ipv4(ip) else v6
        if ip not in bucket:
            bucket.append(ip)
    return (*v4, *v6)


def system_resolver(host: str, port: int) -> list[str]:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


def _resolution_failed(target: Target) -> UnreachableError:
    return UnreachableError(
        f"Unable to resolve hostname: {target.host.value}",
        hint="Check the host name in the URL and your DNS settings.",
    )


def _resolve_timeout_error(target: Target, timeout: float) -> RequestTimeoutError:
    return RequestTimeoutError(
        f"DNS lookup for {target.host.value} timed out after {timeout:g}s",
        hint="Check your DNS settings.",
    )


_executor = None
_executor_lock = threading.Lock()


def _lookup(resolver: Resolver, host: str, port: int) -> list[str]:
    # Runs in the worker thread. Answers become strings so check_answers judges (and refuses)
    # whatever odd values a resolver returns instead of crashing on them.
    return [str(answer) for answer in resolver(host, port)]


def resolve_sync(target: Target, resolver: Resolver | None, timeout: float | None) -> list[str]:
    """One lookup (in a worker thread, with a timeout). IP literals resolve to themselves."""
    if target.host.kind is not HostKind.NAME:
        return [target.host.value]
    fn = resolver or system_resolver
    global _executor
    with _executor_lock:
        if _executor is None:
            from concurrent.futures import ThreadPoolExecutor

            _executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="openclaw-dns")
    future = _executor.submit(_lookup, fn, target.host.value, target.port)
    from concurrent.futures import TimeoutError as FutureTimeout

    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        raise _resolve_timeout_error(target, timeout or 0) from None
    except Exception:  # a resolver that fails in any way refuses the request (fail closed)
        raise _resolution_failed(target) from None


async def resolve_async(
    target: Target, resolver: Resolver | None, timeout: float | None
) -> list[str]:
    if target.host.kind is not HostKind.NAME:
        return [target.host.value]
    import anyio
    import anyio.to_thread

    fn = resolver or system_resolver
    try:
        with anyio.fail_after(timeout):
            return await anyio.to_thread.run_sync(
                _lookup, fn, target.host.value, target.port, abandon_on_cancel=True
            )
    except TimeoutError:
        raise _resolve_timeout_error(target, timeout or 0) from None
    except Exception:  # as in resolve_sync
        raise _resolution_failed(target) from None


def check_url_sync(
    url: str | httpx2.URL,
    policy: NetPolicy,
    resolver: Resolver | None = None,
    timeout: float | None = 10.0,
) -> tuple[Target, tuple[str, ...]]:
    target = check_target(url, policy)
    answers = resolve_sync(target, resolver, timeout)
    return target, check_answers(target, answers, policy)


# --- redirects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedirectStep:
    url: httpx2.URL
    method: str
    keep_body: bool
    cross_origin: bool


def origin_key(url: httpx2.URL) -> tuple[str, str, int]:
    scheme = url.scheme
    try:
        raw = url.raw_host.decode("ascii")
    except UnicodeDecodeError:
        raw = ""
    return scheme, parse_host(raw).value, url.port or DEFAULT_PORTS.get(scheme, 0)


def redirect_step(
    current: httpx2.URL,
    location: str | None,
    status: int,
    *,
    method: str,
    followed: int,
    visited: set[str],
    policy: NetPolicy,
    first_host: str,
    max_redirects: int = MAX_REDIRECTS,
) -> RedirectStep:
    """Where a redirect response leads, or why it is not followed.

    ``followed`` is the number of redirects already followed; ``visited`` holds
    ``"METHOD url"`` keys of every hop so far (updated here).
    """
    cur_origin = format_origin(*origin_key(current))
    if followed + 1 > max_redirects:
        raise NetworkError(
            f"Too many redirects (limit: {max_redirects}) from {cur_origin}",
            hint="Point the URL at the final location instead.",
        )
    if not location:
        raise NetworkError(f"Redirect missing location header ({status}) from {cur_origin}")
    check_raw_url(location)
    try:
        target = current.join(location.strip())
    except Exception:
        raise _block(BAD_URL, cur_origin, "The redirect Location cannot be parsed.") from None
    if target.scheme not in DEFAULT_PORTS:
        raise _block(BAD_SCHEME, cur_origin, "Redirects may lead only to http:// or https:// URLs.")
    next_key = origin_key(target)
    next_origin = format_origin(*next_key)
    if policy.same_host_redirects_only:
        allowed_host = policy.base_host or first_host
        if next_key[1] != allowed_host:
            raise _block(
                OTHER_HOST_REDIRECT,
                next_origin,
                f"The server at {cur_origin} redirected to another host; point the provider's "
                "baseUrl at the final server instead.",
            )
    upper = method.upper()
    new_method = upper
    if (status == 303 and upper not in ("GET", "HEAD")) or (
        status in (301, 302) and upper == "POST"
    ):
        new_method = "GET"
    keep_body = new_method == upper and upper not in ("GET", "HEAD")
    cross_origin = next_key != origin_key(current)
    if cross_origin and keep_body:
        raise NetworkError(
            f"Refusing to resend a {upper} body to another origin ({next_origin}) on redirect",
            hint="Send the request to the final URL directly.",
        )
    key = f"{new_method} {target}"
    if key in visited:
        raise NetworkError(f"Redirect loop detected at {next_origin}")
    visited.add(key)
    return RedirectStep(target, new_method, keep_body, cross_origin)


def redirect_headers(
    headers: Sequence[tuple[str, str]], *, cross_origin: bool, keep_body: bool
) -> list[tuple[str, str]]:
    out = []
    for name, value in headers:
        low = name.lower()
        if low in ("host", "cookie", "cookie2"):
            continue
        if cross_origin and low not in SAFE_REDIRECT_HEADERS:
            continue
        if not keep_body and low in BODY_HEADERS:
            continue
        out.append((name, value))
    return out


# --- the chain, as `openclaw net check` reports it -------------------------------------------


@dataclass
class HopReport:
    url: str
    allowed: bool
    reason: str
    addresses: list[str] = field(default_factory=list)
    hint: str | None = None
    mode: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "allowed": self.allowed,
            "reason": self.reason,
            "addresses": list(self.addresses),
        }


_MODE_REASONS = {
    "strict": "public address",
    "trusted": "configured baseUrl origin (exact-origin trust)",
    "opt_in": "private network allowed for this provider (request.allowPrivateNetwork)",
}


def _error_reason(exc: NetworkError) -> str:
    return exc.reason if isinstance(exc, SsrfBlockedError) else exc.message


def _display_location(current: httpx2.URL, location: str) -> str:
    try:
        return display_url(current.join(location.strip()))
    except Exception:
        return display_raw_url(location)


def evaluate_chain(
    url: str,
    policy: NetPolicy,
    resolver: Resolver | None,
    redirects: Sequence[str] = (),
    *,
    timeout: float | None = 10.0,
) -> list[HopReport]:
    """Decide a request and the redirects it would see, exactly as the client would, without
    connecting. Stops at the first refused hop."""
    hops: list[HopReport] = []
    try:
        target, addresses = check_url_sync(url, policy, resolver, timeout)
    except NetworkError as exc:
        return [HopReport(display_raw_url(url), False, _error_reason(exc), hint=exc.hint)]
    hops.append(
        HopReport(
            display_url(target.url),
            True,
            _MODE_REASONS[target.mode],
            list(addresses),
            mode=target.mode,
        )
    )
    current = target.url
    visited = {f"GET {current}"}
    method = "GET"
    first_host = target.host.value
    for index, location in enumerate(redirects):
        try:
            step = redirect_step(
                current,
                location,
                302,
                method=method,
                followed=index,
                visited=visited,
                policy=policy,
                first_host=first_host,
            )
        except NetworkError as exc:
            hops.append(
                HopReport(
                    _display_location(current, location), False, _error_reason(exc), hint=exc.hint
                )
            )
            return hops
        try:
            target, addresses = check_url_sync(step.url, policy, resolver, timeout)
        except NetworkError as exc:
            hops.append(HopReport(display_url(step.url), False, _error_reason(exc), hint=exc.hint))
            return hops
        hops.append(
            HopReport(
                display_url(target.url),
                True,
                _MODE_REASONS[target.mode],
                list(addresses),
                mode=target.mode,
            )
        )
        current, method = step.url, step.method
    return hops
