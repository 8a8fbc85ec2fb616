"""Classifying base URLs: loopback, local, private (pure string/IP checks, no network).

The one place these predicates live; each says which notion of "local" it is."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "0.0.0.0", "::1"}


def base_url_host(base_url: str | None) -> str | None:
    if not base_url:
        return None
    text = base_url if "://" in base_url else f"http://{base_url}"
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return host.lower().rstrip(".") if host else None


def is_loopback_base_url(base_url: str | None) -> bool:
    """Loopback only (``localhost``, ``*.localhost``, ``127.0.0.0/8``, ``::1``): the class of
    endpoint that gets local-server compat defaults (core.md §7.3)."""
    host = base_url_host(base_url)
    if host is None:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        import ipaddress

        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_local_base_url(base_url: str | None) -> bool:
    """The `models list` notion of local (core.md §3.4): loopback names or ``*.local``."""
    host = base_url_host(base_url)
    if host is None:
        return False
    if host in _LOOPBACK_NAMES or host.endswith(".local"):
        return True
    try:
        import ipaddress

        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_private_base_url(base_url: str | None) -> bool:
    """Local or on a private network / bare LAN hostname: servers that often run keyless."""
    host = base_url_host(base_url)
    if host is None:
        return False
    if is_local_base_url(base_url) or "." not in host:
        return True
    try:
        import ipaddress

        address = ipaddress.ip_address(host)
    except ValueError:
        return host.endswith((".lan", ".home", ".internal", ".ts.net"))
    return address.is_private and not address.is_link_local


# scheme://userinfo@...: anything before an "@" in the authority (also when it won't parse).
_USERINFO = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)@")


def url_has_credentials(url: str) -> bool:
    """``http://user:KEY@host/v1``: a user name or password in the URL's authority."""
    return _USERINFO.match(url) is not None


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, never its userinfo, path or query (for messages)."""
    text = _USERINFO.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)], url.strip(), count=1)
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*)", text)
    return match.group(1) if match else "(not a URL)"


def provider_url_fields(data: Any) -> Iterator[tuple[list[str | int], str]]:
    """(path segments, value) of every base URL a provider or model row declares."""
    from openclaw.config.util import provider_fields

    for segments, value in provider_fields(data, ("baseUrl", "baseURL"), ("baseUrl",)):
        if isinstance(value, str):
            yield segments, value


def credential_url_issues(data: Any) -> list[tuple[str, str]]:
    """(dotted path, message) for each provider URL that carries credentials (core.md §4:
    keys live in apiKey or an auth profile, where they are masked; a URL is printed)."""
    from openclaw.config.util import format_path

    issues = []
    for segments, url in provider_url_fields(data):
        if url_has_credentials(url):
            key_path = format_path([*segments[:3], "apiKey"])
            issues.append(
                (
                    format_path(segments),
                    f"a user name or password in the URL is refused ({url_origin(url)}); "
                    f"remove it and put the key in {key_path} or an auth profile",
                )
            )
    return issues
