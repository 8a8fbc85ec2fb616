"""What a failed chat call says, for every wire dialect (openai-completions, Ollama native).

The network layer (``net.errors``) names what happened to the connection; this rewords it for
a chat call — which provider, at which URL, whether the answer had started, which config key to
raise, how to start this kind of server — so every dialect says the same thing the same way.
"""

from __future__ import annotations

import asyncio
from typing import Any

from openclaw.config.kinds import kind_for
from openclaw.errors import (
    ConnectionClosedError,
    MalformedResponseError,
    NetworkError,
    OpenClawError,
    RequestTimeoutError,
    UnreachableError,
)
from openclaw.llm.types import ModelSpec

#: Used when the provider sets no timeoutSeconds (the OpenAI SDK's default; local prompt
#: processing can be slow).
DEFAULT_TIMEOUT_SECONDS = 600.0


def is_cancel(exc: BaseException) -> bool:
    """A cancellation (Ctrl-C, an anyio cancel scope), which must propagate, not be reported."""
    if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
        return True
    try:
        import anyio

        return isinstance(exc, anyio.get_cancelled_exc_class())
    except Exception:
        return False


async def read_prefix(response: Any, limit: int) -> bytes:
    """The first ``limit`` bytes of an error body; the rest is not read (a huge error page
    still classifies by its status instead of failing as "too large")."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def start_hint(spec: ModelSpec) -> str:
    """How to start this provider's kind of server, on the port actually configured."""
    return kind_for(spec.provider_id, spec.provider_config).start_hint_for(spec.base_url)


def timeout_error(spec: ModelSpec, started: bool, *, waiting_for: str = "") -> RequestTimeoutError:
    seconds = spec.timeout_seconds or DEFAULT_TIMEOUT_SECONDS
    phase = "while streaming the answer" if started else f"before answering{waiting_for}"
    return RequestTimeoutError(
        f"{spec.provider_id} at {spec.base_url} timed out {phase} (timeout {seconds:g} s)",
        hint=f"Raise models.providers.{spec.provider_id}.timeoutSeconds for slow models.",
    )


def cut_error(spec: ModelSpec) -> MalformedResponseError:
    return MalformedResponseError(
        f"The connection to {spec.provider_id} at {spec.base_url} closed before the answer "
        "finished; the partial answer was kept",
        hint="The server may have crashed or restarted; check its log.",
    )


def chat_error(
    exc: BaseException, spec: ModelSpec, started: bool, *, waiting_for: str = ""
) -> OpenClawError:
    """Any failure of a chat call as the project's error (never raises, never a traceback).

    ``waiting_for`` names what a slow first byte means for this dialect (Ollama: a model load).
    """
    from openclaw.net.errors import map_transport_error, transport_error_types

    if not isinstance(exc, OpenClawError):
        if not isinstance(exc, transport_error_types()):
            return MalformedResponseError(
                f"Could not read the answer from {spec.provider_id}: {type(exc).__name__}: {exc}"
            )
        # (reads normally map inside the client; this is what slips past it)
        exc = map_transport_error(exc, spec.base_url, "body")
    if isinstance(exc, RequestTimeoutError):
        return timeout_error(spec, started, waiting_for=waiting_for)
    if started and (isinstance(exc, ConnectionClosedError) or type(exc) is NetworkError):
        return cut_error(spec)
    if isinstance(exc, UnreachableError):
        exc.hint = start_hint(spec) or exc.hint
    return exc


__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "chat_error",
    "cut_error",
    "is_cancel",
    "read_prefix",
    "start_hint",
    "timeout_error",
]
