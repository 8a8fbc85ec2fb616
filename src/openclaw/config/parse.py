"""Reading config text: JSON5 in, with a fast path for the plain JSON we write ourselves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from openclaw.errors import ConfigError


def parse_document(text: str, source: Path | str) -> tuple[dict, bool]:
    """Parse config text; returns (object, was_json5).

    Plain JSON goes through the C parser (files we wrote are plain JSON, and json5 is
    pure Python and slow); anything else falls back to JSON5 (comments, trailing commas,
    unquoted keys, single quotes).
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        # A 0-byte (or blank) file is an empty config for readers and the writer alike.
        return {}, False
    was_json5 = False
    try:
        value: Any = json.loads(text)
    except ValueError:
        was_json5 = True
        value = _parse_json5(text, source)
    except RecursionError:
        raise _too_deep(source) from None
    if not isinstance(value, dict):
        raise ConfigError(
            f"Failed to parse config at {source}: the top level must be an object",
            hint="Wrap the settings in { ... }.",
        )
    if too_deep(value):
        raise _too_deep(source)
    return value, was_json5


# Every later step (includes, ${VAR}, validation, the writer) walks the document
# recursively; no real config comes close to this.
MAX_NESTING = 64


def too_deep(document: Any) -> bool:
    """More than MAX_NESTING levels: what every reader refuses, so no writer may produce it."""
    return _depth_exceeds(document, MAX_NESTING)


def _depth_exceeds(document: Any, limit: int) -> bool:
    level: list[Any] = [document]
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, (dict, list))
        ]
        if not level:
            return False
    return True


# One token at a time: comments, strings, object keys without quotes, closing brackets,
# commas; everything else passes through in runs.
_JSON5_TOKEN = re.compile(
    r"""(?P<line_comment>//[^\n]*)
    |(?P<block_comment>/\*.*?\*/)
    |(?P<dstring>"(?:[^"\\\n]|\\.)*")
    |(?P<sstring>'(?:[^'\\\n]|\\.)*')
    |(?P<key>[A-Za-z_$][A-Za-z0-9_$]*)(?=\s*:)
    |(?P<close>[}\]])
    |(?P<comma>,)
    |(?P<other>[^"'/A-Za-z_$,}\]]+|.)""",
    re.VERBOSE | re.DOTALL,
)


def json5_to_json(text: str) -> str | None:
    """Rewrite the common JSON5 subset (comments, trailing commas, bare keys, single-quoted
    strings without escapes) as JSON, or None when the text needs the full JSON5 parser.

    The json5 package parses character by character in pure Python: ~0.4 s for a 50-model
    config. This rewrite plus the C JSON parser takes a few milliseconds.
    """
    out: list[str] = []
    pending_comma = False
    for match in _JSON5_TOKEN.finditer(text):
        kind = match.lastgroup
        token = match.group(0)
        if kind in ("line_comment", "block_comment"):
            continue
        if kind == "other" and token.isspace():
            out.append(token)
            continue
        if kind == "comma":
            if pending_comma:
                return None  # ",," is an error either way; let json5 report it
            pending_comma = True
            continue
        if pending_comma:
            if kind != "close":
                out.append(",")
            pending_comma = False
        if kind == "sstring":
            body = token[1:-1]
            if "\\" in body:
                return None
            out.append(json.dumps(body, ensure_ascii=False))
        elif kind == "key":
            out.append(f'"{token}"')
        else:
            out.append(token)
    if pending_comma:
        out.append(",")
    return "".join(out)


def _parse_json5(text: str, source: Path | str) -> Any:
    converted = json5_to_json(text)
    if converted is not None:
        try:
            return json.loads(converted)
        except ValueError:
            pass  # outside the fast subset (hex numbers, escapes, ...): use the full parser
        except RecursionError:
            raise _too_deep(source) from None
    import json5

    try:
        return json5.loads(text)
    except ValueError as exc:
        raise ConfigError(
            f"Failed to parse config at {_located(source, str(exc))}",
            hint="The file must be JSON5 (JSON with comments and trailing commas allowed).",
        ) from None
    except RecursionError:
        raise _too_deep(source) from None


# json5 names the text it parsed "<string>": "<string>:3 Unexpected "}" at column 5".
_JSON5_WHERE = re.compile(r"^<string>:(\d+) (.*)$", re.DOTALL)


def _located(source: Path | str, message: str) -> str:
    """``<file>:<line>: <what>`` in place of json5's ``<string>:<line> <what>``."""
    match = _JSON5_WHERE.match(message)
    if match is None:
        return f"{source}: {message}"
    return f"{source}:{match.group(1)}: {match.group(2)}"


def _too_deep(source: Path | str) -> ConfigError:
    return ConfigError(
        f"Failed to parse config at {source}: nested too deeply (more than {MAX_NESTING} levels)"
    )


MAX_CONFIG_BYTES = 16 * 1024 * 1024


def read_bytes(path: Path, *, max_bytes: int = MAX_CONFIG_BYTES) -> bytes | None:
    """The file's bytes, or None when it does not exist; ConfigError when unreadable or too big."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ConfigError(f"Config file {path} is larger than {max_bytes // (1024 * 1024)} MB")
    return data


def decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"Failed to parse config at {path}: not valid UTF-8",
            hint="Save the file as UTF-8.",
        ) from None


def read_text(path: Path, *, max_bytes: int = MAX_CONFIG_BYTES) -> str:
    data = read_bytes(path, max_bytes=max_bytes)
    if data is None:
        raise ConfigError(f"Cannot read config file {path}: No such file or directory")
    return decode(data, path)
