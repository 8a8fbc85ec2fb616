"""The one context rule for Ollama: the ``options.num_ctx`` sent with every request.

``num_ctx`` = an explicit ``params.num_ctx`` as written; otherwise the smaller of
:data:`NUM_CTX_CAP` and the configured ``contextTokens``/``contextWindow``; otherwise the
smaller of the cap and the model's maximum discovered from ``/api/show``. Never the raw
128k-256k maximum many rows carry: Ollama allocates the whole KV cache up front, so that asks
for tens of GiB and the load fails (ollama.md pain point 2). Ollama's own default (4k below
24 GiB of VRAM) silently cuts prompts (pain point 1), so a number is always sent.

Both the native ``/api/chat`` path and the ``/v1`` path (``options.num_ctx`` injection) use
:func:`num_ctx`, and the agent's budget sees the same number through the model spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

#: Upper bound for a context chosen on the user's behalf (an explicit num_ctx may exceed it).
NUM_CTX_CAP = 32768

NumCtxSource = Literal["params.num_ctx", "configured", "discovered", "default"]


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _param(row: Mapping[str, Any], provider_cfg: Mapping[str, Any], key: str) -> Any:
    """A model param: the row's ``params`` win over the provider's."""
    for source in (row.get("params"), provider_cfg.get("params")):
        if isinstance(source, Mapping) and key in source:
            return source[key]
    return None


def explicit_num_ctx(row: Mapping[str, Any], provider_cfg: Mapping[str, Any]) -> int | None:
    return _positive_int(_param(row, provider_cfg, "num_ctx"))


def configured_context(row: Mapping[str, Any], provider_cfg: Mapping[str, Any]) -> int | None:
    """The smallest configured ``contextTokens``/``contextWindow`` (row first, then provider)."""
    for source in (row, provider_cfg):
        found = (_positive_int(source.get(k)) for k in ("contextTokens", "contextWindow"))
        values = [v for v in found if v is not None]
        if values:
            return min(values)
    return None


def resolve_num_ctx(
    row: Mapping[str, Any],
    provider_cfg: Mapping[str, Any],
    discovered_max: int | None = None,
) -> tuple[int, NumCtxSource]:
    """The number to send as ``options.num_ctx`` and where it came from."""
    explicit = explicit_num_ctx(row, provider_cfg)
    if explicit is not None:
        return explicit, "params.num_ctx"
    configured = configured_context(row, provider_cfg)
    if configured is not None:
        return min(NUM_CTX_CAP, configured), "configured"
    discovered = _positive_int(discovered_max)
    if discovered is not None:
        return min(NUM_CTX_CAP, discovered), "discovered"
    return NUM_CTX_CAP, "default"


def num_ctx(
    row: Mapping[str, Any], provider_cfg: Mapping[str, Any], discovered_max: int | None = None
) -> int:
    return resolve_num_ctx(row, provider_cfg, discovered_max)[0]


__all__ = [
    "NUM_CTX_CAP",
    "configured_context",
    "explicit_num_ctx",
    "num_ctx",
    "resolve_num_ctx",
]
