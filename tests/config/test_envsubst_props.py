from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from openclaw.config.envsubst import SubstitutionReport, substitute_string

_names = st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True)
_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)


def run(text: str, env: dict[str, str]) -> tuple[str, SubstitutionReport]:
    report = SubstitutionReport()
    return substitute_string(text, env, "p", report, strict=False), report


@given(st.text(max_size=40).filter(lambda t: "${" not in t))
def test_text_without_references_is_untouched(text: str) -> None:
    assert run(text, {"A": "x"}) == (text, SubstitutionReport())


@given(_names, _values, st.text(max_size=10).filter(lambda t: "$" not in t))
def test_set_variable_replaced_once_and_not_rescanned(name: str, value: str, prefix: str) -> None:
    out, report = run(f"{prefix}${{{name}}}", {name: value})
    assert out == prefix + value and not report.missing


@given(_names, _values)
def test_escape_yields_the_literal_reference(name: str, value: str) -> None:
    assert run(f"$${{{name}}}", {name: value})[0] == f"${{{name}}}"


@given(_names)
def test_missing_or_empty_keeps_placeholder_and_reports(name: str) -> None:
    for env in ({}, {name: ""}):
        out, report = run(f"a ${{{name}}} b", env)
        assert out == f"a ${{{name}}} b"
        assert report.missing == [(name, "p")]
