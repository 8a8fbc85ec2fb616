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

from typing import TYPE_CHECKING, Literal

from openclaw.config.settings import positive_int

if TYPE_CHECKING:
    from openclaw.config.settings import ModelSettings

#: Upper bound for a context chosen on the user's behalf (an explicit num_ctx may exceed it).
NUM_CTX_CAP = 32768

NumCtxSource = Literal["params.num_ctx", "configured", "discovered", "default"]


def explicit_num_ctx(model: ModelSettings) -> int | None:
    """``params.num_ctx`` (the row's over the provider's) as written."""
    return positive_int(model.param("num_ctx"))


def resolve_num_ctx(
    model: ModelSettings, discovered_max: int | None = None
) -> tuple[int, NumCtxSource]:
    """The number to send as ``options.num_ctx`` and where it came from."""
    explicit = explicit_num_ctx(model)
    if explicit is not None:
        return explicit, "params.num_ctx"
    configured = model.configured_context
    if configured is not None:
        return min(NUM_CTX_CAP, configured), "configured"
    discovered = positive_int(discovered_max)
    if discovered is not None:
        return min(NUM_CTX_CAP, discovered), "discovered"
    return NUM_CTX_CAP, "default"


def num_ctx(model: ModelSettings, discovered_max: int | None = None) -> int:
    return resolve_num_ctx(model, discovered_max)[0]


__all__ = [
    "NUM_CTX_CAP",
    "explicit_num_ctx",
    "num_ctx",
    "resolve_num_ctx",
]
