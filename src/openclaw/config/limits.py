"""Bounds on numbers in the config that no real model reaches.

The TypeScript OpenClaw accepts any positive integer as a context size, so a file it wrote
may hold one above 2^31: reading such a file warns (naming the path), writing one is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: The largest context size (in tokens) taken at face value: 2^31.
MAX_CONTEXT_TOKENS = 2**31
CONTEXT_KEYS = ("contextWindow", "contextTokens")


def _context_values(data: Any) -> Iterator[tuple[list[str | int], Any]]:
    from openclaw.config.util import provider_fields

    return provider_fields(data, CONTEXT_KEYS, CONTEXT_KEYS)


def oversized_contexts(data: Any) -> dict[str, int | float]:
    """Dotted path -> value of each context size above MAX_CONTEXT_TOKENS."""
    from openclaw.config.util import format_path

    return {
        format_path(segments): value
        for segments, value in _context_values(data)
        if isinstance(value, int | float)
        and not isinstance(value, bool)
        and value > MAX_CONTEXT_TOKENS
    }


def oversized_message(path: str, value: int | float) -> str:
    shown = value if isinstance(value, int) else f"{value:g}"
    return (
        f"{path} is {shown}, above the largest plausible context of {MAX_CONTEXT_TOKENS:,} tokens"
    )
