"""Token usage from whatever a server reports (core.md §6.4, lmstudio.md §6.6).

Order: an OpenAI-shaped ``usage`` object (or the ``input_tokens``/``output_tokens`` spelling)
wins; else llama.cpp ``timings`` (any server); else an estimate from the text, about four
characters a token, marked ``estimated``.
"""

from __future__ import annotations

import math
from typing import Any

from openclaw.llm.types import Usage

CHARS_PER_TOKEN = 4


def _count(value: Any) -> int | None:
    """A sanitised token count: non-negative int, or None when absent / not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float) and math.isfinite(value):
        return max(int(value), 0)
    return None


def _details_cached(obj: Any) -> int:
    if isinstance(obj, dict):
        return _count(obj.get("cached_tokens")) or 0
    return 0


def from_openai_usage(usage: Any) -> Usage | None:
    """Normalise one reported usage object; None when it carries no token counts at all."""
    if not isinstance(usage, dict):
        return None
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    if prompt is not None or completion is not None:
        cached = _details_cached(usage.get("prompt_tokens_details"))
        prompt = prompt or 0
        cached = min(cached, prompt)
        result = Usage(
            input=prompt - cached,
            output=completion or 0,
            cache_read=cached,
            source="reported",
        )
    else:
        inp = _count(usage.get("input_tokens"))
        out = _count(usage.get("output_tokens"))
        if inp is None and out is None:
            return None
        inp = inp or 0
        if "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage:
            # Anthropic shape: input_tokens already excludes the cached prefix.
            result = Usage(
                input=inp,
                output=out or 0,
                cache_read=_count(usage.get("cache_read_input_tokens")) or 0,
                cache_write=_count(usage.get("cache_creation_input_tokens")) or 0,
                source="reported",
            )
        else:
            cached = min(_details_cached(usage.get("input_tokens_details")), inp)
            result = Usage(
                input=inp - cached, output=out or 0, cache_read=cached, source="reported"
            )
    if result.input == 0 and result.output == 0 and result.cache_read == 0:
        return None  # old LocalAI sends all-zero usage on early chunks: not a measurement
    return result


def from_timings(timings: Any) -> Usage | None:
    """llama.cpp ``timings``: ``prompt_n`` excludes the reused prefix (``cache_n``)."""
    if not isinstance(timings, dict):
        return None
    prompt = _count(timings.get("prompt_n"))
    predicted = _count(timings.get("predicted_n"))
    if prompt is None and predicted is None:
        return None
    return Usage(
        input=prompt or 0,
        output=predicted or 0,
        cache_read=_count(timings.get("cache_n")) or 0,
        source="timings",
    )


def estimate_tokens(chars: int) -> int:
    return (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN if chars > 0 else 0


def estimated(input_chars: int, output_chars: int) -> Usage:
    return Usage(
        input=estimate_tokens(input_chars),
        output=estimate_tokens(output_chars),
        source="estimated",
    )


def finalize(usage: Usage, cost_rates: Any) -> Usage:
    """Fill ``total`` and ``cost`` (USD; rates are per million tokens per bucket)."""
    usage.total = usage.input + usage.output + usage.cache_read + usage.cache_write
    cost = 0.0
    if isinstance(cost_rates, dict):
        for bucket, key in (
            (usage.input, "input"),
            (usage.output, "output"),
            (usage.cache_read, "cacheRead"),
            (usage.cache_write, "cacheWrite"),
        ):
            rate = cost_rates.get(key)
            if isinstance(rate, int | float) and not isinstance(rate, bool) and rate > 0:
                cost += bucket * float(rate) / 1_000_000
    usage.cost = cost
    return usage
