"""Untrusted text made safe for a terminal: control characters become visible escapes.

Model ids, error bodies, streamed answers and tool output come from servers and models; a
raw ESC, BEL or C1 byte in them can clear the screen, fake colours, set the window title or
write the clipboard (OSC 52). Every place that prints such text passes it through
:func:`visible` first. The escape is the one JSON uses (``\\u001b``), so ``--json`` output and
terminal output show the same thing. This module sits at the bottom of the layers (next to
``errors``): any layer may import it, and it imports nothing of ours.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls except tab and newline, DEL, and the C1 range (U+0080-U+009F: a terminal may
# take U+009B as CSI).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The same plus tab and newline: for values that must stay on one line (ids, names).
_CONTROLS_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# What json.dumps(ensure_ascii=False) leaves raw: DEL and C1 (it escapes C0 itself).
_JSON_RAW = re.compile(r"[\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def visible(text: str) -> str:
    """``text`` with every control character except newline and tab shown as ``\\u00XX``."""
    return _CONTROLS.sub(_escape, text)


def visible_line(text: str) -> str:
    """Like :func:`visible`, and newline and tab escaped too: one line, whatever came in."""
    return _CONTROLS_ONE_LINE.sub(_escape, text)


def has_controls(text: str) -> bool:
    """Any control character at all (newline and tab included)."""
    return _CONTROLS_ONE_LINE.search(text) is not None


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """JSON for a terminal: ``json.dumps`` escapes C0 itself; DEL and C1 are escaped here."""
    return _JSON_RAW.sub(_escape, json.dumps(data, indent=indent, ensure_ascii=False))


__all__ = ["has_controls", "json_text", "visible", "visible_line"]
