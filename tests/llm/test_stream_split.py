"""Splitting a recorded stream at any byte offsets never changes the events or the usage."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openclaw.llm.openai_stream import parse_sse_bytes
from openclaw.llm.sse import SSEDecoder, SSEProtocolError

from .support import STREAMS, make_spec, normalise

FILES = sorted(p.name for p in STREAMS.glob("*.sse"))
TOOLS = frozenset({"get_weather", "get_time"})


def _events(data: bytes, cuts: list[int]) -> list[dict]:
    points = sorted({c for c in cuts if 0 < c < len(data)})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return normalise(parse_sse_bytes(make_spec(), pieces, tool_names=TOOLS, input_chars=64))


def _payloads(data: bytes, cut: int) -> list[bytes]:
    dec = SSEDecoder()
    return dec.feed(data[:cut]) + dec.feed(data[cut:]) + dec.flush()


@pytest.mark.parametrize("name", FILES)
def test_every_single_split_point(name: str) -> None:
    data = (STREAMS / name).read_bytes()
    # Every offset: the decoder hands the processor the same payloads (the processor is a
    # pure function of them), checked cheaply for each byte ...
    payloads = _payloads(data, 0)
    for cut in range(1, len(data)):
        assert _payloads(data, cut) == payloads, f"split at byte {cut}"
    # ... and the full events and usage: every offset of the small files, a dense sample of
    # the 20 KB one.
    whole = _events(data, [])
    step = 1 if len(data) < 8000 else len(data) // 1500
    for cut in range(1, len(data), step):
        assert _events(data, [cut]) == whole, f"split at byte {cut}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(FILES), cuts=st.lists(st.integers(min_value=0, max_value=25000)))
def test_any_set_of_split_points(name: str, cuts: list[int]) -> None:
    data = (STREAMS / name).read_bytes()
    assert _events(data, [c % (len(data) + 1) for c in cuts]) == _events(data, [])


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from(["data", "event", "id", ":", "retry"]),
            st.text(
                alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                max_size=20,
            ),
        ),
        max_size=12,
    ),
    eol=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=500), max_size=8),
)
def test_decoder_is_split_invariant(
    lines: list[tuple[str, str]], eol: str, cuts: list[int]
) -> None:
    text = ""
    for i, (field, value) in enumerate(lines):
        text += (f":{value}" if field == ":" else f"{field}: {value}") + eol
        if i % 3 == 2:
            text += eol
    data = text.encode()
    whole = SSEDecoder()
    expected = whole.feed(data) + whole.flush()
    dec = SSEDecoder()
    got: list[bytes] = []
    last = 0
    for p in sorted({c % (len(data) + 1) for c in cuts}):
        got += dec.feed(data[last:p])
        last = p
    got += dec.feed(data[last:]) + dec.flush()
    assert got == expected


def test_decoder_line_endings_and_multiline_data() -> None:
    for eol in (b"\n", b"\r\n", b"\r"):
        dec = SSEDecoder()
        data = b": ping" + eol + b"event: x" + eol + b"data: a" + eol + b"data: b" + eol + eol
        assert dec.feed(data) + dec.flush() == [b"a\nb"]


def test_big_event_in_small_reads_is_linear() -> None:
    """A 3.9 MB event trickling in 512-byte reads is joined once, not re-copied per read."""
    payload = b'{"x":"' + b"a" * 3_900_000 + b'"}'
    data = b"data: " + payload + b"\n\n"
    dec = SSEDecoder()
    got: list[bytes] = []
    t0 = time.perf_counter()
    for i in range(0, len(data), 512):
        got += dec.feed(data[i : i + 512])
    assert (
        time.perf_counter() - t0 < 5
    )  # linear: a re-copy per read would move ~15 GB; bench/stream.py has figures
    assert got == [payload]
    # the 4 MB cap still holds for an event that never ends
    dec = SSEDecoder()
    with pytest.raises(SSEProtocolError, match="exceeded 4 MB"):
        for _ in range(5000):
            dec.feed(b"data: " if _ == 0 else b"a" * 1024)
