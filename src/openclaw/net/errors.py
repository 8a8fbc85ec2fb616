"""The one mapping from transport failures to openclaw's errors.

httpx2, httpcore2 and anyio each have their own exception families; nothing above ``net``
should know them. Every place that talks to the network (the guarded client's send and body
reads, and the callers that read a streamed body themselves) turns a transport failure into
one of these, always naming the origin only:

* ``RequestTimeoutError``   - nothing arrived in time, or the whole-request deadline passed
* ``UnreachableError``      - connection refused, no route (DNS failures come from the guard)
* ``ConnectionClosedError`` - the server closed (or reset) the connection: before answering,
                              or in the middle of the response
* ``ResponseTooLargeError`` - a body passed its cap (raised by the client, built here)
* ``NetworkError``          - anything else below HTTP (protocol violations, bad encoding)

``phase`` says where the failure happened, so the message can say what the user saw:
``"answer"`` (sending the request, waiting for the status line and headers) or ``"body"``
(reading the response body).
"""

from __future__ import annotations

from typing import Literal

from openclaw.errors import (
    ConnectionClosedError,
    NetworkError,
    RequestTimeoutError,
    ResponseTooLargeError,
    UnreachableError,
)

Phase = Literal["answer", "body"]

_SLOW_HINT = "The server did not answer in time; check that it is running and not overloaded."
_CLOSED_HINT = "The server (or a proxy in front of it) dropped the connection; check its log."


def too_large(origin: str, cap: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"Response from {origin} is larger than the {cap}-byte limit",
        hint="The server sent more data than expected; check the URL.",
    )


def deadline_passed(origin: str, seconds: float) -> RequestTimeoutError:
    """The whole request (connect, headers and body) took longer than its deadline."""
    return RequestTimeoutError(
        f"Request to {origin} did not complete within {seconds:g} s",
        hint="The server answers too slowly or sends its answer a trickle at a time; "
        "check that it is running and not overloaded.",
    )


def _timeout(origin: str, phase: Phase) -> RequestTimeoutError:
    if phase == "body":
        return RequestTimeoutError(
            f"{origin} stopped sending its response (read timed out)", hint=_SLOW_HINT
        )
    return RequestTimeoutError(f"Request to {origin} timed out", hint=_SLOW_HINT)


def _closed(origin: str, phase: Phase) -> ConnectionClosedError:
    if phase == "body":
        return ConnectionClosedError(
            f"The connection to {origin} closed in the middle of the response", hint=_CLOSED_HINT
        )
    return ConnectionClosedError(
        f"{origin} closed the connection without answering", hint=_CLOSED_HINT
    )


def map_transport_error(exc: BaseException, origin: str, phase: Phase = "answer") -> NetworkError:
    """The openclaw error for a transport exception (an openclaw error passes through)."""
    if isinstance(exc, NetworkError):
        return exc
    import anyio
    import httpcore2
    import httpx2

    if isinstance(exc, httpx2.TimeoutException | httpcore2.TimeoutException | TimeoutError):
        return _timeout(origin, phase)
    if isinstance(exc, httpx2.ConnectError | httpcore2.ConnectError):
        detail = str(exc).strip() or "connection failed"
        return UnreachableError(
            f"Cannot connect to {origin} ({detail})",
            hint="Is the server running and listening on that address and port?",
        )
    closed = (
        httpx2.RemoteProtocolError,
        httpx2.ReadError,
        httpx2.WriteError,
        httpx2.CloseError,
        httpcore2.RemoteProtocolError,
        httpcore2.ReadError,
        httpcore2.WriteError,
        anyio.EndOfStream,
        anyio.BrokenResourceError,
        ConnectionError,
    )
    if isinstance(exc, closed):
        return _closed(origin, phase)
    if isinstance(exc, httpx2.DecodingError):
        return NetworkError(f"Could not decode the response body from {origin}")
    return NetworkError(f"Network error talking to {origin}: {type(exc).__name__}")


def transport_error_types() -> tuple[type[BaseException], ...]:
    """What ``map_transport_error`` understands (for ``except`` clauses outside net)."""
    import anyio
    import httpcore2
    import httpx2

    return (
        httpx2.TransportError,
        httpx2.DecodingError,
        httpx2.StreamError,
        httpcore2.NetworkError,
        httpcore2.TimeoutException,
        httpcore2.ProtocolError,
        anyio.EndOfStream,
        anyio.BrokenResourceError,
        OSError,
    )
