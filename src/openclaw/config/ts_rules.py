"""The TypeScript OpenClaw's rules for ``openclaw.json`` (interop-ts.md §e, R10).

TS validates the whole file against a strict JSON schema: one unknown key or a model row
without ``name`` makes every TS command refuse to run. ``ts_schema.json`` holds the parts of
that schema for the sections this project writes (``models``, ``agents``, ``auth``) plus the
root key list, taken from ``openclaw config schema`` of openclaw@2026.9.6
(``scripts/interop-ts --schema`` regenerates it).

``apply_ts_rules`` runs on every config write: it repairs what TS itself would repair the same
way (a model row without ``name`` gets its ``id``; a provider-level ``contextWindow`` /
``contextTokens`` moves into the rows; ``baseURL`` becomes ``baseUrl``) and refuses a write
that would add anything else TS rejects. Problems already in the file are left for
``openclaw doctor`` so an unrelated write is not blocked by them.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from openclaw.config.util import format_path
from openclaw.errors import ConfigError

TS_VERSION = "2026.9.6"
_PROVIDER_LEVEL_LIMITS = ("contextWindow", "contextTokens")


@dataclass(frozen=True)
class Issue:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@functools.cache
def _schema() -> dict:
    text = resources.files("openclaw.config").joinpath("ts_schema.json").read_text("utf-8")
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


# -- a small JSON-schema (draft 7) checker for the keywords TS's schema uses ------------------

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "null": lambda v: v is None,
}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _check(value: Any, schema: Any, path: list[str | int], out: list[Issue]) -> None:
    if not isinstance(schema, dict) or not schema:
        if schema is False:
            out.append(Issue(format_path(path), "not allowed"))
        return
    where = format_path(path)
    expected = schema.get("type")
    if expected is not None:
        kinds = expected if isinstance(expected, list) else [expected]
        if not any(_TYPES.get(k, lambda _v: True)(value) for k in kinds):
            out.append(Issue(where, f"expected {'|'.join(kinds)}, received {_describe(value)}"))
            return
    if "const" in schema and value != schema["const"]:
        out.append(Issue(where, f"expected {json.dumps(schema['const'])}"))
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"][:8])
        out.append(Issue(where, f"expected one of {allowed}"))
        return
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [_issues(value, branch, path) for branch in schema[key]]
            if all(branches):
                consts = [b.get("const") for b in schema[key] if isinstance(b, dict)]
                if all(isinstance(c, str) for c in consts) and len(consts) == len(schema[key]):
                    allowed = ", ".join(json.dumps(c) for c in consts[:8])
                    out.append(Issue(where, f"expected one of {allowed}"))
                    return
                best = min(branches, key=len)
                out.extend(best if len(best) == 1 else [Issue(where, "invalid value")])
                return
    if isinstance(value, str):
        _check_string(value, schema, where, out)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, where, out)
    elif isinstance(value, list):
        _check_array(value, schema, path, out)
    elif isinstance(value, dict):
        _check_object(value, schema, path, out)


def _issues(value: Any, schema: Any, path: list[str | int]) -> list[Issue]:
    out: list[Issue] = []
    _check(value, schema, path, out)
    return out


def _check_string(value: str, schema: dict, where: str, out: list[Issue]) -> None:
    if len(value) < schema.get("minLength", 0):
        out.append(Issue(where, f"must be at least {schema['minLength']} characters"))
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        out.append(Issue(where, f"must be at most {schema['maxLength']} characters"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            matched = re.search(pattern, value) is not None
        except re.error:
            matched = True  # a JS-only construct: do not guess
        if not matched:
            out.append(Issue(where, f"does not match {pattern}"))


def _check_number(value: float, schema: dict, where: str, out: list[Issue]) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        out.append(Issue(where, f"must be >= {schema['minimum']}"))
    if "maximum" in schema and value > schema["maximum"]:
        out.append(Issue(where, f"must be <= {schema['maximum']}"))
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        out.append(Issue(where, f"must be > {schema['exclusiveMinimum']}"))


def _check_array(value: list, schema: dict, path: list[str | int], out: list[Issue]) -> None:
    where = format_path(path)
    if len(value) < schema.get("minItems", 0):
        out.append(Issue(where, f"must have at least {schema['minItems']} items"))
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(Issue(where, f"must have at most {schema['maxItems']} items"))
    items = schema.get("items")
    if isinstance(items, list):
        for index, item in enumerate(value):
            sub = items[index] if index < len(items) else schema.get("additionalItems", {})
            _check(item, sub, [*path, index], out)
    elif isinstance(items, dict):
        for index, item in enumerate(value):
            _check(item, items, [*path, index], out)


def _check_object(value: dict, schema: dict, path: list[str | int], out: list[Issue]) -> None:
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            out.append(Issue(format_path([*path, name]), "expected string, received undefined"
                             if properties.get(name, {}).get("type") == "string"
                             else "required"))  # fmt: skip
    extra = schema.get("additionalProperties", {})
    names = schema.get("propertyNames")
    for key, item in value.items():
        if key == "$include":
            continue  # resolved by the loader; TS sees the included content
        if isinstance(names, dict):
            _check(key, names, [*path, key], out)
        if key in properties:
            _check(item, properties[key], [*path, key], out)
        elif extra is False:
            out.append(Issue(format_path(path), f'Unrecognized key "{key}"'))
        else:
            _check(item, extra, [*path, key], out)


# -- the rules ------------------------------------------------------------------------------


def ts_issues(document: dict, *, root_keys: bool = True) -> list[Issue]:
    """What TS 2026.9.6 would reject in the sections this project writes (``models``,
    ``agents``, ``auth``) and, with ``root_keys``, unknown top-level keys."""
    schema = _schema()
    out: list[Issue] = []
    known = set(schema["rootKeys"])
    for key in document if root_keys else ():
        if key not in known and not key.startswith("$"):
            out.append(Issue("", f'Unrecognized key "{key}"'))
    for section, section_schema in schema["sections"].items():
        if section in document:
            _check(document[section], section_schema, [section], out)
    return out


def _providers(document: dict) -> dict:
    models = document.get("models")
    providers = models.get("providers") if isinstance(models, dict) else None
    return providers if isinstance(providers, dict) else {}


def repair(document: dict) -> list[str]:
    """Make the changes TS itself would make; returns one line per change."""
    changes: list[str] = []
    for pid, provider in _providers(document).items():
        if not isinstance(provider, dict):
            continue
        base = format_path(["models", "providers", pid])
        if "baseURL" in provider:
            value = provider.pop("baseURL")
            provider.setdefault("baseUrl", value)
            changes.append(f"{base}.baseURL renamed to baseUrl (the TypeScript OpenClaw's name)")
        rows = provider.get("models")
        rows = rows if isinstance(rows, list) else []
        for field_name in _PROVIDER_LEVEL_LIMITS:
            if field_name in provider:
                value = provider.pop(field_name)
                for row in rows:
                    if isinstance(row, dict):
                        row.setdefault(field_name, value)
                changes.append(f"{base}.{field_name} moved into each model row")
        for index, row in enumerate(rows):
            if isinstance(row, dict) and isinstance(row.get("id"), str) and "name" not in row:
                row["name"] = row["id"]
                changes.append(f"{base}.models.{index}.name set to its id")
    return changes


def apply_ts_rules(candidate: dict, before: dict | None) -> list[str]:
    """Repair ``candidate`` in place and refuse it if the write adds a problem TS rejects.

    Returns warning lines (the repairs made). Problems the file had before stay warnings
    too: ``openclaw doctor`` reports and fixes them.
    """
    changes = repair(candidate)
    issues = ts_issues(candidate, root_keys=False)
    if not issues:
        return changes
    existing = {str(i) for i in ts_issues(before, root_keys=False)} if before else set()
    added = [i for i in issues if str(i) not in existing]
    if added:
        first = added[0]
        more = f" (and {len(added) - 1} more)" if len(added) > 1 else ""
        raise ConfigError(
            f"Refusing to write openclaw.json: the TypeScript OpenClaw {TS_VERSION} would "
            f"reject it: {first}{more}",
            hint="Both CLIs share this file. Remove that key (settings only this openclaw "
            "knows go in OPENCLAW_* environment variables).",
        )
    note = (
        f"openclaw.json already has {len(issues)} problem(s) the TypeScript OpenClaw rejects "
        f"(first: {issues[0]}); run `openclaw doctor --fix`."
    )
    return [*changes, note]
