"""The ``openai-completions`` protocol over the network: :func:`stream_chat`.

Three parts, one module each: the request (``openai_request``: body and headers), the stream
processing (``openai_stream``: chunks to events, a state machine), and this transport, which
sends the request through ``openclaw.net`` and feeds the answer to the processor. Transport
failures arrive already mapped to openclaw's errors (``openclaw.net.errors``); here they are
only reworded for a chat call.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial
from typing import TYPE_CHECKING, Any

from openclaw.errors import (
    MalformedResponseError,
    OpenClawError,
    ResponseTooLargeError,
)
from openclaw.llm.chat_errors import (
    DEFAULT_TIMEOUT_SECONDS,
    chat_error,
    is_cancel,
    read_prefix,
)
from openclaw.llm.errors import classify_http_error, html_error, looks_like_html
from openclaw.llm.openai_request import (
    build_headers,
    build_request_body,
    build_tools,
    clean_tool_schema,
    convert_messages,
    input_chars,
    is_streaming,
    reasoning_effort,
    requested_max_tokens,
)
from openclaw.llm.openai_stream import (
    MAX_TOOL_ARGUMENT_BYTES,
    StreamProcessor,
    parse_sse_bytes,
)
from openclaw.llm.sse import SSEDecoder, SSEProtocolError
from openclaw.llm.types import ChatOptions, Context, Event, ModelSpec

if TYPE_CHECKING:
    from openclaw.net.client import GuardedAsyncClient

#: Cap on a whole non-streamed answer and on an error body we keep.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024
#: Cap on the raw bytes of a streamed answer (events are capped by the SSE decoder, the
#: answer text by the stream processor; this bounds keep-alives and empty events).
MAX_STREAM_BYTES = 256 * 1024 * 1024
CONNECT_TIMEOUT_SECONDS = 10.0


def _timeout(spec: ModelSpec) -> Any:
    import httpx2

    total = spec.timeout_seconds if spec.timeout_seconds and spec.timeout_seconds > 0 else None
    t = float(total) if total else DEFAULT_TIMEOUT_SECONDS
    return httpx2.Timeout(connect=min(t, CONNECT_TIMEOUT_SECONDS), read=t, write=t, pool=t)


async def _read_capped(response: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLargeError(
                f"The answer exceeded {limit // (1024 * 1024) or 1} MB and was not read further"
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def stream_chat(
    spec: ModelSpec,
    context: Context,
    options: ChatOptions,
    *,
    client: GuardedAsyncClient | None = None,
) -> AsyncIterator[Event]:
    """Stream one completion. Never raises for HTTP, stream or network failures: ends with an
    ``ErrorEvent``. Cancellation yields ``ErrorEvent(stop_reason="aborted")`` and re-raises."""
    body = build_request_body(spec, context, options)
    streaming = bool(body["stream"])
    tool_names = frozenset(t["function"]["name"] for t in body.get("tools", []))
    # the prompt size is measured only if the server reports no usage at all
    proc = StreamProcessor(
        spec,
        tool_names=tool_names,
        input_chars=partial(input_chars, body),
        max_tokens=requested_max_tokens(body),
    )
    url = spec.base_url.rstrip("/") + "/chat/completions"
    headers = build_headers(spec, streaming)
    own = client is None
    started = False
    try:
        for event in proc.drain():
            yield event
        timeout = _timeout(spec)
        if client is None:
            from openclaw.net.client import async_client

            client = async_client(spec.policy, timeout=timeout)
        async with client.stream(
            "POST",
            url,
            json=body,
            headers=headers,
            timeout=timeout,
            max_body_bytes=MAX_STREAM_BYTES if streaming else MAX_RESPONSE_BYTES,
        ) as resp:
            status = resp.status_code
            ctype = resp.headers.get("content-type", "").lower()
            if not 200 <= status < 300:
                raw = await read_prefix(resp, MAX_ERROR_BODY_BYTES)
                yield proc.fail(classify_http_error(status, raw, spec, ctype))
                return
            started = True
            if "text/html" in ctype:
                proc.error = html_error(spec)
            elif streaming and "json" not in ctype:
                async for event in _feed_stream(resp, proc, spec):
                    yield event
            else:
                await _feed_whole(resp, ctype, proc, spec)
            final = proc.finish()
            for event in proc.drain():
                yield event
            yield final
    except GeneratorExit:
        raise
    except BaseException as exc:
        cancelled = is_cancel(exc)
        if not cancelled and not isinstance(exc, Exception):
            raise
        for event in proc.drain():
            yield event
        if isinstance(exc, Exception) and not cancelled:
            yield proc.fail(_failure(exc, proc, spec, started))
        else:
            cancel = OpenClawError(f"The request to {spec.provider_id} was cancelled")
            yield proc.fail(cancel, "aborted")
            raise
    finally:
        if own and client is not None:
            import anyio

            with anyio.CancelScope(shield=True):
                await client.aclose()


async def _feed_stream(resp: Any, proc: StreamProcessor, spec: ModelSpec) -> AsyncIterator[Event]:
    """An SSE answer, fed as it arrives; each chunk's events are yielded at once. Reading stops
    at ``[DONE]`` (or what ends the answer) even if the server keeps the connection open."""
    decoder = SSEDecoder()
    first = True
    async for chunk in resp.aiter_bytes():
        if first:
            # An HTML page served as text/event-stream (or without a type); only the start
            # of the body can be one: a later chunk starting with "<html" is a model writing
            # HTML.
            first = False
            if looks_like_html(chunk):
                proc.error = html_error(spec)
                return
        finished = any(proc.feed_payload(payload) for payload in decoder.feed(chunk))
        for event in proc.drain():
            yield event
        if finished:
            return
    for payload in decoder.flush():
        if proc.feed_payload(payload):
            break


async def _feed_whole(resp: Any, ctype: str, proc: StreamProcessor, spec: ModelSpec) -> None:
    """A whole answer: a JSON completion, or an SSE stream sent in one piece."""
    raw = await _read_capped(resp, MAX_RESPONSE_BYTES)
    if looks_like_html(raw, ctype):
        proc.error = html_error(spec)
    elif raw.lstrip()[:5] == b"data:":
        decoder = SSEDecoder()
        for payload in decoder.feed(raw) + decoder.flush():
            if proc.feed_payload(payload):
                break
    else:
        try:
            data = json.loads(raw)
        except ValueError:
            proc.error = MalformedResponseError(
                f"{spec.provider_id} answered with a body that is not JSON: "
                f"{raw[:120].decode('utf-8', 'replace')!r}",
                hint=_CHECK_BASE_URL,
            )
        else:
            proc.feed_response(data)


_CHECK_BASE_URL = "Check that baseUrl points at an OpenAI-compatible /v1 endpoint."


def _failure(
    exc: Exception, proc: StreamProcessor, spec: ModelSpec, started: bool
) -> OpenClawError:
    """The error a failed call ends with: a broken SSE stream (an HTML page when nothing was
    answered yet), else the transport failure worded for a chat call."""
    if isinstance(exc, SSEProtocolError):
        if not proc.message.content and looks_like_html(exc.line):
            return html_error(spec)
        return MalformedResponseError(
            f"The stream from {spec.provider_id} is malformed: {exc}", hint=_CHECK_BASE_URL
        )
    return chat_error(exc, spec, started)


# Names importers used before the protocol was split into request / stream / transport.
__all__ = [
    "MAX_TOOL_ARGUMENT_BYTES",
    "StreamProcessor",
    "build_headers",
    "build_request_body",
    "build_tools",
    "clean_tool_schema",
    "convert_messages",
    "is_streaming",
    "parse_sse_bytes",
    "reasoning_effort",
    "stream_chat",
]
