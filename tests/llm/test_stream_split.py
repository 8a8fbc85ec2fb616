"""Splitting a recorded stream at any byte offsets never changes the events or the usage."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openclaw.llm.openai_completions import parse_sse_bytes
from openclaw.llm.sse import SSEDecoder

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


@pytest.mark.parametrize("name", FILES)
def test_every_single_split_point(name: str) -> None:
    data = (STREAMS / name).read_bytes()
    whole = _events(data, [])
    step = max(1, len(data) // 1500)  # every byte for the small files
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
