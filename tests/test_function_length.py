"""No function in src/openclaw/agent/ or src/openclaw/providers/ over 60 lines (DEVELOPERS.md):
a long function there is a turn step or provider job that should have a name of its own."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "openclaw"
PACKAGES = ("agent", "providers")
MAX_LINES = 60

#: Exceptions, as "path relative to src/openclaw::function" (none today; an entry must say why).
ALLOWED: frozenset[str] = frozenset()


def long_functions() -> dict[str, int]:
    found: dict[str, int] = {}
    for package in PACKAGES:
        for path in sorted((SRC / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    assert node.end_lineno is not None
                    length = node.end_lineno - node.lineno + 1
                    if length > MAX_LINES:
                        found[f"{path.relative_to(SRC).as_posix()}::{node.name}"] = length
    return found


def test_no_function_over_60_lines_in_agent_and_providers() -> None:
    offenders = {name: n for name, n in long_functions().items() if name not in ALLOWED}
    assert offenders == {}, f"functions over {MAX_LINES} lines: {offenders}"


def test_the_allowlist_only_names_functions_that_are_still_long() -> None:
    stale = sorted(ALLOWED - set(long_functions()))
    assert stale == [], f"split already; remove from ALLOWED: {stale}"
