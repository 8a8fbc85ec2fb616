"""Address tables, embedded IPv4 spellings and host parsing (property tests)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from openclaw.errors import SsrfBlockedError
from openclaw.net.addresses import IPV4_TABLE, IPV6_TABLE, NEVER, Flag, classify
from openclaw.net.guard import check_target
from openclaw.net.hosts import HostKind, normalize_host, parse_host
from openclaw.net.policy import STRICT_POLICY, provider_policy

V4_BLOCKED = [ipaddress.IPv4Network(c) for c, _ in IPV4_TABLE]
V6_BLOCKED = [ipaddress.IPv6Network(c) for c, _ in IPV6_TABLE]
OPT_IN = provider_policy("p", "http://192.168.1.10:1234/v1", True)


def v4_in(net: ipaddress.IPv4Network) -> st.SearchStrategy[ipaddress.IPv4Address]:
    base = int(net.network_address)
    return st.integers(0, net.num_addresses - 1).map(lambda i: ipaddress.IPv4Address(base + i))


def v6_in(net: ipaddress.IPv6Network) -> st.SearchStrategy[ipaddress.IPv6Address]:
    base = int(net.network_address)
    return st.integers(0, net.num_addresses - 1).map(lambda i: ipaddress.IPv6Address(base + i))


blocked_v4 = st.sampled_from(V4_BLOCKED).flatmap(v4_in)
public_v4 = (
    st.integers(0, 2**32 - 1)
    .map(ipaddress.IPv4Address)
    .filter(lambda a: not any(a in n for n in V4_BLOCKED))
)


def spellings(v4: ipaddress.IPv4Address, noise: int) -> list[str]:
    """Every IPv6 spelling that embeds ``v4`` (plus the plain literal)."""
    dotted = str(v4)
    n = int(v4)
    hi, lo = n >> 16, n & 0xFFFF
    inv = n ^ 0xFFFFFFFF
    server = noise & 0xFFFFFFFF
    prefix = 0x2400 | (noise >> 40) & 0x3FF  # some public /16 for ISATAP
    out = [
        dotted,
        f"::ffff:{dotted}",
        f"::ffff:{hi:x}:{lo:x}",
        f"0:0:0:0:0:ffff:{hi:x}:{lo:x}",
        f"::ffff:0:{dotted}",
        f"64:ff9b::{dotted}",
        f"64:ff9b::{hi:x}:{lo:x}",
        f"2002:{hi:x}:{lo:x}::{noise & 0xFFFF:x}",
        f"2001:0:{server >> 16:x}:{server & 0xFFFF:x}:0:0:{inv >> 16:x}:{inv & 0xFFFF:x}",
        f"{prefix:x}:1:2:3:0:5efe:{dotted}",
        f"{prefix:x}:1:2:3:200:5efe:{hi:x}:{lo:x}",
    ]
    if n > 1:
        out.append(f"::{dotted}")
    return out


def _blocked_url(host: str, policy=STRICT_POLICY) -> bool:  # type: ignore[no-untyped-def]
    url = f"http://[{host}]/" if ":" in host else f"http://{host}/"
    try:
        check_target(url, policy)
    except SsrfBlockedError:
        return True
    return False


@settings(max_examples=300)
@given(blocked_v4, st.integers(0, 2**64 - 1))
def test_every_blocked_ipv4_is_blocked_in_every_spelling(
    v4: ipaddress.IPv4Address, noise: int
) -> None:
    for text in spellings(v4, noise):
        assert classify(text) & Flag.BLOCKED, text
        assert _blocked_url(text), text


@settings(max_examples=300)
@given(public_v4, st.integers(0, 2**64 - 1))
def test_public_ipv4_is_allowed_in_every_spelling(v4: ipaddress.IPv4Address, noise: int) -> None:
    for text in spellings(v4, noise):
        assert not classify(text) & Flag.BLOCKED, text
        assert not _blocked_url(text), text


@settings(max_examples=200)
@given(st.sampled_from(V6_BLOCKED).flatmap(v6_in))
def test_every_blocked_ipv6_is_blocked(v6: ipaddress.IPv6Address) -> None:
    assert classify(str(v6)) & Flag.BLOCKED
    assert classify(v6.exploded) & Flag.BLOCKED
    assert _blocked_url(str(v6))


RESERVED = ipaddress.IPv6Network("2001::/23")
RESERVED_OPEN = [
    ipaddress.IPv6Network(c)
    for c in ("2001::/32", "2001:3::/32", "2001:4:112::/48", "2001:10::/28", "2001:30::/28")
]


reserved_v6 = st.tuples(
    st.integers(1, 0x1FF).filter(
        lambda h: h != 3 and not 0x10 <= h <= 0x1F and not 0x30 <= h <= 0x3F
    ),
    st.integers(0, 2**96 - 1),
).map(lambda t: ipaddress.IPv6Address((0x2001 << 112) | (t[0] << 96) | t[1]))


@settings(max_examples=200)
@given(reserved_v6)
def test_ietf_reserved_ipv6_blocked_except_listed_subblocks(v6: ipaddress.IPv6Address) -> None:
    assert v6 in RESERVED
    assume(not any(v6 in n for n in RESERVED_OPEN))
    assert classify(str(v6)) & Flag.BLOCKED


@settings(max_examples=300)
@given(st.integers(0, 2**122 - 1))
def test_random_public_ipv6_allowed(low: int) -> None:
    v6 = ipaddress.IPv6Address((0x2400 << 112) | low)  # 2400::/6: global unicast, no specials
    assume((low >> 32) & 0xFFFF != 0x5EFE)  # not ISATAP-shaped
    assert not classify(str(v6)) & Flag.BLOCKED
    assert not _blocked_url(str(v6))


@settings(max_examples=200)
@given(
    st.sampled_from(["169.254.0.0/16", "100.100.100.200/32"])
    .map(ipaddress.IPv4Network)
    .flatmap(v4_in),
    st.integers(0, 2**64 - 1),
)
def test_link_local_and_metadata_never_open_even_with_opt_in(
    v4: ipaddress.IPv4Address, noise: int
) -> None:
    for text in spellings(v4, noise):
        assert classify(text) & NEVER, text
        assert _blocked_url(text, OPT_IN), text


def test_local_use_nat64_blocked_whole_whatever_the_tail() -> None:
    for text in ["64:ff9b:1::8.8.8.8", "64:ff9b:1::a9fe:a9fe", "64:ff9b:1:ffff::1", "64:ff9b:1::"]:
        assert classify(text) & Flag.NAT64_LOCAL
        assert _blocked_url(text, OPT_IN)


def test_zone_ids_are_stripped_for_classification() -> None:
    assert classify("fe80::1%eth0") & Flag.LINK_LOCAL
    assert classify("fd00::1%lo0") & Flag.BLOCKED
    assert not classify("2606:4700:4700::1111%eth0") & Flag.BLOCKED


@pytest.mark.parametrize(
    "host",
    [
        "127.1",
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
        "8.8.2056",
        "0x08080808",
        "134744072",
        "010.8.8.8",
        "127..0.1",
        "0x7g.0.0.1",
        "08.0.0.1",
        "999.1.1.1",
        "1.2.3",
        "0",
        "0x7f.1",
    ],
)
def test_non_canonical_numeric_hosts_fail_closed(host: str) -> None:
    assert parse_host(host).kind is HostKind.INVALID
    assert _blocked_url(host)
    assert _blocked_url(host, OPT_IN)


@pytest.mark.parametrize(
    "host", ["0x.example.com", "1password.com", "abc.123.example", "1.2.3.4.5"]
)
def test_digit_or_hex_looking_names_are_names(host: str) -> None:
    assert parse_host(host).kind is HostKind.NAME


@pytest.mark.parametrize(
    "host", ["exa mple.com", "example.com\\", "a%2eb", "local\x00host", "tab\there", "[::1", "::gg"]
)
def test_forbidden_characters_and_malformed_ipv6(host: str) -> None:
    assert parse_host(host).kind is HostKind.INVALID


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "LOCALHOST.",
        "localhost...",
        "localhost.localdomain",
        "api.localhost",
        "printer.local",
        "db.corp.internal",
        "metadata.google.internal.",
    ],
)
def test_reserved_names_blocked_also_with_trailing_dots(host: str) -> None:
    assert _blocked_url(host)


@given(st.text(alphabet="aZ09.-_:[]%x \\", max_size=30))
def test_host_normalisation_is_idempotent(raw: str) -> None:
    once = normalize_host(raw)
    assert normalize_host(once) == once
    first = parse_host(raw)
    if first.kind is not HostKind.INVALID:
        again = parse_host(first.value)
        assert (again.kind, again.value) == (first.kind, first.value)


@given(
    st.from_regex(
        r"[A-Za-z][A-Za-z0-9-]{0,10}(\.[A-Za-z][A-Za-z0-9-]{0,10}){0,3}\.{0,3}", fullmatch=True
    )
)
def test_names_normalise_to_lower_case_without_trailing_dots(raw: str) -> None:
    host = parse_host(raw)
    assert host.kind is HostKind.NAME
    assert host.value == raw.lower().rstrip(".")
    assert parse_host(host.value) == host
