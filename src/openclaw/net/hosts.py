"""Host parsing: what kind of host a URL names, in the exact form the dialler will see.

Fail-closed rules (ssrf.md §1.4, §5): a host that looks numeric but is not canonical dotted
decimal IPv4 (``127.1``, ``0x7f000001``, ``2130706433``, ``0177.0.0.1``, ``8.8.2056``) is
refused even when it denotes a public address; so are malformed IPv6, backslashes,
whitespace, control characters, NUL and percent signs. Trailing dots are stripped before any
name check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from openclaw.net.addresses import canonical_ip, parse_ip


class HostKind(Enum):
    NAME = "name"
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    INVALID = "invalid"


@dataclass(frozen=True)
class Host:
    kind: HostKind
    value: str  # normalised: lower case, no trailing dots, no brackets; canonical for IPs
    problem: str | None = None  # why it is INVALID


BLOCKED_NAMES = frozenset({"localhost", "localhost.localdomain", "metadata.google.internal"})
BLOCKED_SUFFIXES = (".localhost", ".local", ".internal")
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

_NAME_CHARS = re.compile(r"[a-z0-9_\-.]+")
_NUMERIC_PART = re.compile(r"(?:0x[0-9a-z]*|[0-9]+)")


def normalize_host(host: str) -> str:
    """Trim, lower-case, strip every trailing dot and a pair of surrounding brackets, until
    nothing changes (so normalising twice gives the same host)."""
    text = host
    while True:
        new = text.strip().lower().rstrip(".")
        if len(new) >= 2 and new[0] == "[" and new[-1] == "]":
            new = new[1:-1]
        if new == text:
            return new
        text = new


def _looks_numeric(text: str) -> bool:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return False
    non_empty = [p for p in parts if p]
    if not non_empty:
        return True
    return all(_NUMERIC_PART.fullmatch(p) for p in non_empty)


@lru_cache(maxsize=4096)
def parse_host(raw: str) -> Host:
    """Classify a URL host (as the transport will dial it)."""
    if not raw:
        return Host(HostKind.INVALID, "", "empty host")
    if (
        any(ch in raw for ch in "\\%@/?#")
        or any(ord(ch) <= 0x20 or ord(ch) >= 0x7F for ch in raw)
        or raw.count("[") + raw.count("]") > 2
    ):
        return Host(HostKind.INVALID, raw, "forbidden character in host")
    text = normalize_host(raw)
    if not text:
        return Host(HostKind.INVALID, text, "empty host")
    if ":" in text:
        parsed = parse_ip(text)
        if parsed is None:
            return Host(HostKind.INVALID, text, "malformed IPv6 address")
        return Host(HostKind.IPV6, canonical_ip(text))
    if _looks_numeric(text):
        parsed = parse_ip(text)
        if parsed is None:
            return Host(HostKind.INVALID, text, "non-canonical numeric IPv4 address")
        return Host(HostKind.IPV4, text)
    if not _NAME_CHARS.fullmatch(text) or "" in text.split("."):
        return Host(HostKind.INVALID, text, "malformed host name")
    return Host(HostKind.NAME, text)


def is_blocked_name(name: str) -> bool:
    """Names refused by the strict classifier (before any DNS)."""
    return name in BLOCKED_NAMES or name.endswith(BLOCKED_SUFFIXES)


def is_metadata_name(name: str) -> bool:
    """Names never trusted: any label containing ``metadata``, or a label ``instance-data``."""
    return any("metadata" in label or label == "instance-data" for label in name.split("."))


def is_loopback_name(name: str) -> bool:
    return name in LOOPBACK_NAMES or name.endswith(".localhost")
