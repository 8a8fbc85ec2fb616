"""Address tables and classification, written out as explicit CIDR lists.

Nothing here asks ``ipaddress`` whether an address is "private" or "global": those answers
changed between CPython releases. Every block this project refuses is listed below (spec
ssrf.md §1.4), and embedded IPv4 addresses inside IPv6 are pulled out and judged by the IPv4
table.

``classify(ip)`` returns a bit set of ``Flag`` values. ``BLOCKED`` is set when the strict
(public-only) rules refuse the address; the other bits say *why*, so the policy can apply the
narrower checks for trusted origins and for ``allowPrivateNetwork``.
"""

from __future__ import annotations

import ipaddress
import re
from enum import IntFlag
from functools import lru_cache


class Flag(IntFlag):
    NONE = 0
    BLOCKED = 1  # refused by the strict (public-only) table
    UNSPECIFIED = 2
    LOOPBACK = 4
    LINK_LOCAL = 8
    METADATA = 16
    NAT64_LOCAL = 32  # RFC 8215 local-use NAT64 64:ff9b:1::/48
    MULTICAST = 64
    BROADCAST = 128
    MALFORMED = 256  # not an address at all (fail closed)


# Plain-int masks (IntFlag arithmetic costs microseconds; these run on every request).
#: Never reachable, whatever the config (also under allowPrivateNetwork: true).
NEVER = int(Flag.LINK_LOCAL | Flag.METADATA | Flag.NAT64_LOCAL | Flag.MALFORMED)
#: Not a destination anyone means: refused even for trusted origins and under the opt-in.
NOT_A_DESTINATION = int(Flag.UNSPECIFIED | Flag.MULTICAST | Flag.BROADCAST)
#: What the trusted-origin answer check refuses (loopback is added unless the host is loopback).
TRUSTED_DENY = NEVER | NOT_A_DESTINATION
#: What allowPrivateNetwork: true still refuses.
OPT_IN_DENY = NEVER | NOT_A_DESTINATION
BLOCKED = int(Flag.BLOCKED)
LOOPBACK = int(Flag.LOOPBACK)
MALFORMED = int(Flag.MALFORMED)

B = Flag.BLOCKED

# (CIDR, flags) - IPv4, ssrf.md §1.4.
IPV4_TABLE: tuple[tuple[str, Flag], ...] = (
    ("0.0.0.0/8", B | Flag.UNSPECIFIED),
    ("10.0.0.0/8", B),
    ("100.64.0.0/10", B),  # CGNAT / tailnets
    ("100.100.100.200/32", B | Flag.METADATA),  # Alibaba Cloud metadata
    ("127.0.0.0/8", B | Flag.LOOPBACK),
    ("169.254.0.0/16", B | Flag.LINK_LOCAL),  # incl. 169.254.169.254, 169.254.170.2
    ("172.16.0.0/12", B),
    ("192.0.0.0/24", B),
    ("192.0.2.0/24", B),
    ("192.88.99.0/24", B),
    ("192.168.0.0/16", B),
    ("198.18.0.0/15", B),
    ("198.51.100.0/24", B),
    ("203.0.113.0/24", B),
    ("224.0.0.0/4", B | Flag.MULTICAST),
    ("240.0.0.0/4", B),
    ("255.255.255.255/32", B | Flag.BROADCAST),
)

# (CIDR, flags) - IPv6. Teredo (2001::/32) is judged by its embedded client address only.
IPV6_TABLE: tuple[tuple[str, Flag], ...] = (
    ("::/128", B | Flag.UNSPECIFIED),
    ("::1/128", B | Flag.LOOPBACK),
    ("fe80::/10", B | Flag.LINK_LOCAL),
    ("fc00::/7", B),  # ULA
    ("fd00:ec2::254/128", B | Flag.METADATA),  # AWS IMDS over IPv6
    ("fec0::/10", B),  # deprecated site-local
    ("ff00::/8", B | Flag.MULTICAST),
    ("100::/64", B),  # discard-only
    ("2001:2::/48", B),  # benchmarking
    ("2001:20::/28", B),  # ORCHIDv2
    ("2001:db8::/32", B),  # documentation
    ("3fff::/20", B),  # documentation (RFC 9637)
    ("64:ff9b:1::/48", B | Flag.NAT64_LOCAL),  # local-use NAT64: blocked whole
)

# The rest of the IETF-reserved 2001::/23 is blocked, except these sub-blocks.
IETF_RESERVED_V6 = "2001::/23"
IETF_RESERVED_V6_EXCEPTIONS: tuple[str, ...] = (
    "2001::/32",  # Teredo: judged by the embedded address
    "2001:3::/32",  # AMT
    "2001:4:112::/48",  # AS112v6
    "2001:10::/28",  # deprecated ORCHID
    "2001:30::/28",  # drone remote ID
)

#: Cloud-metadata addresses (link-local ones are covered by 169.254.0.0/16 as a whole).
METADATA_ADDRESSES: tuple[str, ...] = (
    "169.254.169.254",
    "169.254.170.2",
    "100.100.100.200",
    "fd00:ec2::254",
)


def _v4_rows(table: tuple[tuple[str, Flag], ...]) -> tuple[tuple[int, int, int], ...]:
    rows = []
    for cidr, flags in table:
        net = ipaddress.IPv4Network(cidr)
        rows.append((int(net.network_address), int(net.netmask), int(flags)))
    return tuple(rows)


def _v6_net(cidr: str) -> tuple[int, int]:
    net = ipaddress.IPv6Network(cidr)
    return int(net.network_address), int(net.netmask)


_V4_ROWS = _v4_rows(IPV4_TABLE)
_V6_ROWS = tuple((*_v6_net(c), int(f)) for c, f in IPV6_TABLE)
_V6_RESERVED = _v6_net(IETF_RESERVED_V6)
_V6_RESERVED_EXCEPTIONS = tuple(_v6_net(c) for c in IETF_RESERVED_V6_EXCEPTIONS)

_MAPPED = _v6_net("::ffff:0:0/96")
_RFC6145 = _v6_net("::ffff:0:0:0/96")
_NAT64 = _v6_net("64:ff9b::/96")
_SIX_TO_FOUR = _v6_net("2002::/16")
_TEREDO = _v6_net("2001::/32")
_COMPATIBLE = _v6_net("::/96")
_LOW32 = 0xFFFFFFFF

_CANONICAL_V4 = re.compile(
    r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
)


def classify_v4(value: int) -> int:
    """``Flag`` bits (a plain int: IntFlag arithmetic is slow) of an IPv4 address."""
    flags = 0
    for net, mask, row_flags in _V4_ROWS:
        if value & mask == net:
            flags |= row_flags
    return flags


def embedded_ipv4(value: int) -> int | None:
    """The IPv4 address an IPv6 address carries (mapped, RFC 6145, NAT64 /96, 6to4, Teredo,
    IPv4-compatible, ISATAP), or None. ``::`` and ``::1`` are not embeddings."""
    if value & _MAPPED[1] == _MAPPED[0] or value & _RFC6145[1] == _RFC6145[0]:
        return value & _LOW32
    if value & _NAT64[1] == _NAT64[0]:
        return value & _LOW32
    if value & _SIX_TO_FOUR[1] == _SIX_TO_FOUR[0]:
        return (value >> 80) & _LOW32
    if value & _TEREDO[1] == _TEREDO[0]:
        return (value & _LOW32) ^ _LOW32
    if value & _COMPATIBLE[1] == _COMPATIBLE[0]:
        return None if value <= 1 else value & _LOW32
    # ISATAP: interface id 0000:5efe:a.b.c.d (u/g bits of hextet 4 may be set: mask fcff).
    if (value >> 32) & 0xFFFF == 0x5EFE and (value >> 48) & 0xFCFF == 0:
        return value & _LOW32
    return None


def classify_v6(value: int) -> int:
    """``Flag`` bits of an IPv6 address, including those of an embedded IPv4 address."""
    flags = 0
    for net, mask, row_flags in _V6_ROWS:
        if value & mask == net:
            flags |= row_flags
    net, mask = _V6_RESERVED
    if value & mask == net and not any(value & m == n for n, m in _V6_RESERVED_EXCEPTIONS):
        flags |= BLOCKED
    inner = embedded_ipv4(value)
    if inner is not None:
        flags |= classify_v4(inner)
    return flags


def is_canonical_ipv4(text: str) -> bool:
    return _CANONICAL_V4.fullmatch(text) is not None


def parse_ip(text: str) -> tuple[int, int] | None:
    """(version, integer) for a canonical IPv4 or any IPv6 literal (brackets and zone id
    stripped); None when ``text`` is not one. Non-canonical IPv4 spellings return None."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        text = text.split("%", 1)[0]
        try:
            return 6, int(ipaddress.IPv6Address(text))
        except ValueError:
            return None
    if is_canonical_ipv4(text):
        a, b, c, d = (int(p) for p in text.split("."))
        return 4, (a << 24) | (b << 16) | (c << 8) | d
    return None


@lru_cache(maxsize=4096)
def inspect_ip(text: str) -> tuple[int, str | None]:
    """``(flags, canonical spelling)`` of an address string (a DNS answer or a host literal),
    parsed once. The flags are ``Flag`` bits as a plain int; anything that is not a canonical
    IPv4 or a valid IPv6 address is MALFORMED and BLOCKED (fail closed) and has no spelling.
    The spelling is compressed; IPv4-mapped IPv6 stays IPv6 (the dialer gets what DNS said)."""
    parsed = parse_ip(text)
    if parsed is None:
        return BLOCKED | MALFORMED, None
    version, value = parsed
    if version == 4:
        dotted = f"{value >> 24}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"
        return classify_v4(value), dotted
    return classify_v6(value), str(ipaddress.IPv6Address(value))


def classify(text: str) -> int:
    """``Flag`` bits (as a plain int) for an address string; see ``inspect_ip``."""
    return inspect_ip(text)[0]


def canonical_ip(text: str) -> str:
    """The canonical spelling of an address (see ``inspect_ip``). Raises ValueError for
    non-addresses."""
    canonical = inspect_ip(text)[1]
    if canonical is None:
        raise ValueError(f"not an IP address: {text!r}")
    return canonical


def is_ipv4(text: str) -> bool:
    return ":" not in text
