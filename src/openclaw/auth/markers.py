"""Non-secret markers (core.md §4.4): values that say "no real secret here".

A marker satisfies "has auth" checks but is never put on the wire or reported as a leak.
"""

from __future__ import annotations

import re

NON_SECRET_MARKERS = frozenset(
    {"lmstudio-local", "ollama-local", "custom-local", "secretref-managed"}
)
SECRETREF_ENV_PREFIX = "secretref-env:"
OAUTH_PREFIX = "oauth:"

# An environment variable's name used as a value (onboarding writes apiKey "LM_API_TOKEN").
# Requiring an underscore keeps all-caps random keys from being mistaken for names.
_ENV_NAME_MARKER = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")


def is_env_name_marker(value: str) -> bool:
    return bool(_ENV_NAME_MARKER.match(value))


def marker_env_var(value: str) -> str | None:
    """The environment variable a marker points at, if any."""
    if value.startswith(SECRETREF_ENV_PREFIX):
        name = value[len(SECRETREF_ENV_PREFIX) :]
        return name or None
    if is_env_name_marker(value):
        return value
    return None


def is_marker(value: str) -> bool:
    return (
        value in NON_SECRET_MARKERS
        or value.startswith((SECRETREF_ENV_PREFIX, OAUTH_PREFIX))
        or is_env_name_marker(value)
    )
