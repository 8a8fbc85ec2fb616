"""What a failed turn tells the user about fallback models."""

from __future__ import annotations

from openclaw.errors import FALLBACK_TRIGGERS, OpenClawError


def with_fallback_hint(
    err: OpenClawError, *, explicit: bool, chain: list[str | None]
) -> OpenClawError:
    """Add to a model failure's hint: why nothing fell back, or that every fallback failed."""
    if not isinstance(err, FALLBACK_TRIGGERS):
        return err
    if explicit:
        extra = "An explicitly chosen model never falls back; drop --model to use the fallbacks."
    elif len(chain) <= 1:
        extra = "Or add a fallback model: openclaw models fallbacks add <provider/model>."
    else:
        extra = "Every configured fallback model failed too."
    hint = f"{err.hint} {extra}" if err.hint else extra
    err.hint = hint
    return err
