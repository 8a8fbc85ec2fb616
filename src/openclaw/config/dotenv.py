"""A small ``.env`` reader: ``NAME=value`` lines, optional ``export``, quotes and comments."""

from __future__ import annotations

import re
from pathlib import Path

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
MAX_DOTENV_BYTES = 1024 * 1024


def parse_dotenv(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            continue
        name, raw = match.group(1), match.group(2).strip()
        values[name] = _unquote(raw)
    return values


def _unquote(raw: str) -> str:
    if raw[:1] == '"':
        end = raw.find('"', 1)
        while end > 0 and raw[end - 1] == "\\":
            end = raw.find('"', end + 1)
        body = raw[1:end] if end > 0 else raw[1:]
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)
    if raw[:1] == "'":
        end = raw.find("'", 1)
        return raw[1:end] if end > 0 else raw[1:]
    # Unquoted: a " #" starts a comment.
    comment = re.search(r"\s#", raw)
    return (raw[: comment.start()] if comment else raw).strip()


def read_dotenv(path: Path) -> dict[str, str]:
    try:
        if not path.is_file() or path.stat().st_size > MAX_DOTENV_BYTES:
            return {}
        return parse_dotenv(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return {}
