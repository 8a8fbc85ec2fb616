"""``${VAR}`` substitution in config string values (core.md §1.5).

Only upper-case names are references; ``$${VAR}`` is an escape for the literal text;
``${VAR:-fallback}`` supplies a literal default; an empty variable counts as missing.
Substituted text is never re-scanned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openclaw.config.util import format_path
from openclaw.errors import MissingEnvVarError

# group "esc": an escaped reference; "name"/"fallback": a real one.
_REF = re.compile(r"(?P<esc>\$)?\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?::-(?P<fallback>[^${}]*))?\}")
_PLACEHOLDER = re.compile(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)\}")


@dataclass
class SubstitutionReport:
    missing: list[tuple[str, str]] = field(default_factory=list)  # (name, dotted path)


def substitute_string(
    text: str, env: Mapping[str, str], path: str, report: SubstitutionReport, strict: bool
) -> str:
    if "${" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        if match.group("esc"):
            return match.group(0)[1:]
        name = match.group("name")
        value = env.get(name)
        if value:
            return value
        fallback = match.group("fallback")
        if fallback is not None:
            return fallback
        if strict:
            raise MissingEnvVarError(name, path)
        report.missing.append((name, path))
        return match.group(0)

    return _REF.sub(replace, text)


def substitute(
    data: Any, env: Mapping[str, str], *, strict: bool = False
) -> tuple[Any, SubstitutionReport]:
    """Return a copy of ``data`` with references replaced, and what stayed unresolved."""
    report = SubstitutionReport()

    def walk(node: Any, segments: list[str | int]) -> Any:
        if isinstance(node, str):
            return substitute_string(node, env, format_path(segments), report, strict)
        if isinstance(node, dict):
            return {k: walk(v, [*segments, k]) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, [*segments, i]) for i, v in enumerate(node)]
        return node

    return walk(data, []), report


def unresolved_names(text: str) -> list[str]:
    """Names of ``${VAR}`` placeholders still present in an (already substituted) value."""
    return _PLACEHOLDER.findall(text)
