"""Dotted config paths: ``models.providers.lmstudio.apiKey``.

Keys that contain dots or slashes (model refs such as ``lmstudio/qwen/qwen3.5-9b``) are
written in brackets: ``agents.defaults.models["lmstudio/qwen/qwen3.5-9b"].alias``. A purely
numeric segment indexes a list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from openclaw.errors import UsageError

#: What `config get` shows instead of a secret; `config set` puts the stored value back where it
#: finds it (the writer), and auth's redaction writes it.
REDACTED = "__OPENCLAW_REDACTED__"

_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9_$-]+")


def split_path(dotted: str) -> list[str]:
    """Split a dotted path into segments; brackets hold quoted keys."""
    text = dotted.strip()
    if not text:
        raise UsageError("Empty config path", hint='Use a dotted path such as "models.providers".')
    segments: list[str] = []
    i = 0
    expect_segment = True
    while i < len(text):
        ch = text[i]
        if ch == "[":
            end = _closing_bracket(text, i)
            inner = text[i + 1 : end].strip()
            if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "\"'":
                inner = inner[1:-1]
            if not inner:
                raise _bad_path(dotted)
            segments.append(inner)
            i = end + 1
            expect_segment = False
        elif ch == ".":
            if expect_segment:
                raise _bad_path(dotted)
            expect_segment = True
            i += 1
        else:
            match = _PLAIN_SEGMENT.match(text, i)
            if not match or not expect_segment:
                raise _bad_path(dotted)
            segments.append(match.group(0))
            i = match.end()
            expect_segment = False
    if expect_segment:
        raise _bad_path(dotted)
    return segments


def _closing_bracket(text: str, start: int) -> int:
    quote = text[start + 1] if start + 1 < len(text) and text[start + 1] in "\"'" else None
    if quote:
        end = text.find(quote + "]", start + 2)
        if end < 0:
            raise _bad_path(text)
        return end + 1
    end = text.find("]", start)
    if end < 0:
        raise _bad_path(text)
    return end


def _bad_path(dotted: str) -> UsageError:
    return UsageError(
        f"Invalid config path: {dotted}",
        hint='Separate keys with dots; put keys containing dots in brackets: a.b["x.y"].',
    )


def format_path(segments: Iterable[str | int]) -> str:
    """Inverse of ``split_path``: ``("models", "providers", "a/b")`` -> ``models.providers["a/b"]``."""
    out = ""
    for seg in segments:
        text = str(seg)
        if _PLAIN_SEGMENT.fullmatch(text):
            out += f".{text}" if out else text
        else:
            out += f"[{json.dumps(text)}]"
    return out


def _step(node: Any, segment: str) -> Any:
    if isinstance(node, dict):
        return node[segment]
    if isinstance(node, list) and segment.isdigit():
        index = int(segment)
        if index < len(node):
            return node[index]
    raise KeyError(segment)


def get_path(data: dict, dotted: str) -> Any:
    """The value at ``dotted``; ``KeyError`` when any segment is absent."""
    node: Any = data
    for segment in split_path(dotted):
        node = _step(node, segment)
    return node


def set_path(data: dict, dotted: str, value: Any) -> None:
    """Set ``dotted`` to ``value``, creating intermediate objects as needed."""
    segments = split_path(dotted)
    node: Any = data
    for depth, segment in enumerate(segments[:-1]):
        if isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
            continue
        if not isinstance(node, dict):
            where = format_path(segments[:depth]) or "<root>"
            raise UsageError(f"Cannot set {dotted}: {where} is not an object")
        child = node.get(segment)
        if not isinstance(child, (dict, list)):
            child = {}
            node[segment] = child
        node = child
    last = segments[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) > len(node):
            raise UsageError(f"Cannot set {dotted}: list index out of range")
        if int(last) == len(node):
            node.append(value)
        else:
            node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise UsageError(f"Cannot set {dotted}: parent is not an object")


def unset_path(data: dict, dotted: str) -> bool:
    """Remove ``dotted``; returns False when it was not there."""
    segments = split_path(dotted)
    node: Any = data
    try:
        for segment in segments[:-1]:
            node = _step(node, segment)
    except KeyError:
        return False
    last = segments[-1]
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        del node[int(last)]
        return True
    return False


def deep_merge(base: Any, override: Any) -> Any:
    """Objects merge recursively (``override`` wins); arrays and scalars replace."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(merged[key], value) if key in merged else value
        return merged
    return override


def provider_fields(
    data: Any, provider_keys: Iterable[str], row_keys: Iterable[str]
) -> Iterator[tuple[list[str | int], Any]]:
    """(path segments, value) of each named key present on a provider (``provider_keys``) or
    on one of its model rows (``row_keys``) under ``models.providers`` of a raw config."""
    models = data.get("models") if isinstance(data, dict) else None
    providers = models.get("providers") if isinstance(models, dict) else None
    if not isinstance(providers, dict):
        return
    provider_keys, row_keys = tuple(provider_keys), tuple(row_keys)
    for provider_id, provider in providers.items():
        if not isinstance(provider, dict):
            continue
        base: list[str | int] = ["models", "providers", provider_id]
        for key in provider_keys:
            if key in provider:
                yield [*base, key], provider[key]
        rows = provider.get("models")
        for index, row in enumerate(rows if isinstance(rows, list) else []):
            for key in row_keys if isinstance(row, dict) else ():
                if key in row:
                    yield [*base, "models", index, key], row[key]
