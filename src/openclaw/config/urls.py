"""Classifying base URLs: loopback, local, private (pure string/IP checks, no network).

The one place these predicates live; each says which notion of "local" it is."""

from __future__ import annotations

import ipaddress
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
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.endswith((".lan", ".home", ".internal", ".ts.net"))
    return address.is_private and not address.is_link_local
