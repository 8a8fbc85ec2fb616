from __future__ import annotations

import json
import re

import json5
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw.config.parse import json5_to_json, parse_document

# json5 itself mis-decodes escaped surrogate pairs, so compare on the BMP only.
_text = st.text(alphabet=st.characters(max_codepoint=0xFFFF, blacklist_categories=("Cs",)))
_key = st.one_of(
    st.from_regex(r"[A-Za-z_$][A-Za-z0-9_$]{0,6}", fullmatch=True),
    _text.filter(lambda t: len(t) <= 6),
)
_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32), _text.filter(lambda t: len(t) <= 12),
)  # fmt: skip
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_key, inner, max_size=4)),
    max_leaves=12,
)
_BARE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def render(value: object, draw_style: st.DataObject) -> str:
    """Write ``value`` as JSON5 the way people do: bare keys, single quotes, comments, commas."""
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            bare = _BARE.match(key) and draw_style.draw(st.booleans())
            key_text = key if bare else quote(key, draw_style)
            parts.append(f"{key_text}: {render(item, draw_style)}")
        return "{" + comma_join(parts, draw_style) + "}"
    if isinstance(value, list):
        return "[" + comma_join([render(v, draw_style) for v in value], draw_style) + "]"
    if isinstance(value, str):
        return quote(value, draw_style)
    return json.dumps(value)


def quote(text: str, draw_style: st.DataObject) -> str:
    plain = not any(ch in text for ch in "'\\\n\r\u2028\u2029") and text.isprintable()
    if plain and draw_style.draw(st.booleans()):
        return "'" + text.replace('"', '"') + "'"
    return json.dumps(text)


def comma_join(parts: list[str], draw_style: st.DataObject) -> str:
    sep = draw_style.draw(st.sampled_from([", ", ",\n  // note\n  ", " /* c */ , "]))
    trailing = "," if parts and draw_style.draw(st.booleans()) else ""
    return sep.join(parts) + trailing


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_key, _value, max_size=5), st.data())
def test_fast_path_agrees_with_json5(value: dict, data: st.DataObject) -> None:
    text = "// header\n" + render(value, data)
    expected = json5.loads(text)
    parsed, was_json5 = parse_document(text, "t")
    assert was_json5
    assert parsed == expected
    converted = json5_to_json(text)
    assert converted is not None and json.loads(converted) == expected


def test_outside_the_subset_falls_back_to_json5() -> None:
    assert parse_document("{a: 0x10, b: 'it\\'s', c: +1, d: .5,}", "t")[0] == {
        "a": 16, "b": "it's", "c": 1, "d": 0.5,
    }  # fmt: skip
