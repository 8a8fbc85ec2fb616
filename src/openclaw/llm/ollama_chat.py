"""Ollama's native chat over the network: ``POST {base}/api/chat``, NDJSON, through
``openclaw.net``. Request building and line processing live in ``ollama_wire``.

Ollama sends its response headers only after the model is loaded, so the first byte of a cold
chat may take minutes: the read timeout is :data:`FIRST_BYTE_TIMEOUT` (unless the provider sets
``timeoutSeconds``), and ``on_wait("start"|"end")`` lets the caller show a spinner meanwhile.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from openclaw.config.kinds import OLLAMA
from openclaw.errors import (
    MalformedResponseError,
    OpenClawError,
    ProviderNotFoundError,
)
from openclaw.llm.chat_errors import chat_error, is_cancel, read_prefix
from openclaw.llm.errors import classify_http_error, error_text
from openclaw.llm.ollama_wire import NdjsonProcessor, build_chat_body, printable
from openclaw.llm.types import ChatOptions, Context, Event, ModelSpec

if TYPE_CHECKING:
    from openclaw.net.client import GuardedAsyncClient

FIRST_BYTE_TIMEOUT = 300.0
CONNECT_TIMEOUT = 10.0
#: One NDJSON line (a token or a tool call) is small; a longer one is a broken server.
MAX_LINE_BYTES = 1024 * 1024
MAX_STREAM_BYTES = 256 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024

WaitHook = Callable[[str], None]
_NOT_FOUND = re.compile(r"model ['\"]?([^'\"]+?)['\"]? not found", re.I)


def start_hint(base_url: str) -> str:
    return OLLAMA.start_hint_for(base_url)


def native_base(base_url: str) -> str:
    """Ollama's root URL: a pasted ``/v1`` (or ``/api``) suffix is dropped."""
    base = base_url.rstrip("/")
    for suffix in ("/v1", "/api"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base


def auth_headers(spec: ModelSpec) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
    if spec.api_key:
        headers["Authorization"] = f"Bearer {spec.api_key}"
    headers.update(spec.headers)
    return headers


def not_installed_error(spec: ModelSpec, status: int, text: str) -> ProviderNotFoundError:
    model = spec.wire_model_id
    return ProviderNotFoundError(
        f"Model {model!r} is not installed on Ollama at {native_base(spec.base_url)}: "
        f"run `ollama pull {model}` and retry",
        status=status,
        body_excerpt=text,
    )


def http_error(spec: ModelSpec, status: int, raw: bytes, ctype: str) -> OpenClawError:
    text = printable(error_text(raw)) if raw.strip() else ""
    if status == 404 and _NOT_FOUND.search(text):
        return not_installed_error(spec, status, text)
    if status == 404 and not text:
        return ProviderNotFoundError(
            f"{spec.provider_id} at {native_base(spec.base_url)} has no /api/chat (HTTP 404)",
            status=status,
            hint=f"Set models.providers.{spec.provider_id}.baseUrl to Ollama's address "
            f"(http://HOST:{OLLAMA.default_port}, without /v1).",
        )
    return classify_http_error(
        status, printable(raw.decode("utf-8", "replace")).encode(), spec, ctype
    )


def chat_timeout(spec: ModelSpec) -> Any:
    import httpx2

    configured = spec.timeout_seconds if spec.timeout_seconds and spec.timeout_seconds > 0 else None
    read = float(configured or FIRST_BYTE_TIMEOUT)
    return httpx2.Timeout(connect=min(read, CONNECT_TIMEOUT), read=read, write=read, pool=read)


class LineSplitter:
    """Bytes in, complete lines out; a line longer than :data:`MAX_LINE_BYTES` is an error."""

    def __init__(self, provider_id: str) -> None:
        self.buffer = b""
        self.provider_id = provider_id

    def feed(self, chunk: bytes) -> list[bytes]:
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        if len(self.buffer) > MAX_LINE_BYTES or any(len(x) > MAX_LINE_BYTES for x in lines):
            raise MalformedResponseError(
                f"{self.provider_id} sent a stream line over {MAX_LINE_BYTES // 1024} KiB; "
                "the answer was not read further"
            )
        return [line for line in lines if line.strip()]

    def flush(self) -> list[bytes]:
        rest, self.buffer = self.buffer, b""
        return [rest] if rest.strip() else []


def decode_line(line: bytes, provider_id: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        shown = line[:80].decode("utf-8", "replace")
        raise MalformedResponseError(
            f"{provider_id} sent a stream line that is not JSON: {shown!r}",
            hint=f"Check that baseUrl points at Ollama itself (http://HOST:{OLLAMA.default_port}), "
            "not a proxy page.",
        ) from None


async def _consume(resp: Any, proc: NdjsonProcessor, spec: ModelSpec) -> AsyncIterator[Event]:
    splitter = LineSplitter(spec.provider_id)
    async for chunk in resp.aiter_bytes():
        for line in splitter.feed(chunk):
            proc.feed_line(decode_line(line, spec.provider_id))
        for event in proc.drain():
            yield event
        if proc.done:
            return
    for line in splitter.flush():
        proc.feed_line(decode_line(line, spec.provider_id))


def _input_chars(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", ""))) for m in body["messages"]) + len(
        json.dumps(body.get("tools", []))
    )


async def stream_chat(
    spec: ModelSpec,
    context: Context,
    options: ChatOptions,
    *,
    client: GuardedAsyncClient | None = None,
    on_wait: WaitHook | None = None,
) -> AsyncIterator[Event]:
    """Stream one ``/api/chat`` call. Never raises for HTTP, stream or network failures: ends
    with an ``ErrorEvent``; cancellation yields an ``aborted`` ErrorEvent and re-raises."""
    streaming = options.streaming is not False
    body = build_chat_body(spec, context, options, stream=streaming)
    names = frozenset(t["function"]["name"] for t in body.get("tools", []))
    proc = NdjsonProcessor(spec, input_chars=_input_chars(body), tool_names=names)
    own = client is None
    started = False
    waiting = False

    def wait(phase: str) -> None:
        nonlocal waiting
        if on_wait is not None and waiting != (phase == "start"):
            waiting = phase == "start"
            try:
                on_wait(phase)
            except Exception:  # a display hook never breaks a request
                pass

    try:
        for event in proc.drain():
            yield event
        timeout = chat_timeout(spec)
        if client is None:
            from openclaw.net.client import async_client

            client = async_client(spec.policy, timeout=timeout)
        wait("start")
        async with client.stream(
            "POST",
            native_base(spec.base_url) + "/api/chat",
            json=body,
            headers=auth_headers(spec),
            timeout=timeout,
            max_body_bytes=MAX_STREAM_BYTES,
        ) as resp:
            wait("end")
            if not 200 <= resp.status_code < 300:
                raw = await read_prefix(resp, MAX_ERROR_BODY_BYTES)
                ctype = resp.headers.get("content-type", "")
                yield proc.fail(http_error(spec, resp.status_code, raw, ctype.lower()))
                return
            started = True
            async for event in _consume(resp, proc, spec):
                yield event
        final = proc.finish()
        for event in proc.drain():
            yield event
        yield final
    except GeneratorExit:
        raise
    except BaseException as exc:
        wait("end")
        if is_cancel(exc):
            for event in proc.drain():
                yield event
            yield proc.fail(
                OpenClawError(f"The request to {spec.provider_id} was cancelled"), "aborted"
            )
            raise
        if not isinstance(exc, Exception):
            raise
        for event in proc.drain():
            yield event
        yield proc.fail(chat_error(exc, spec, started, waiting_for=" (model load)"))
    finally:
        wait("end")
        if own and client is not None:
            import anyio

            with anyio.CancelScope(shield=True):
                await client.aclose()


__all__ = [
    "FIRST_BYTE_TIMEOUT",
    "MAX_LINE_BYTES",
    "LineSplitter",
    "auth_headers",
    "native_base",
    "not_installed_error",
    "stream_chat",
]
