"""``openai-completions`` stream processing: server chunks in, :data:`Event` values out.

:class:`StreamProcessor` turns the server's chunks (SSE payloads or a whole non-streamed
``chat.completion``) into events and the final :class:`AssistantMessage` (core.md §6.3, §6.4).
It is synchronous and pure, so the same code serves streamed and non-streamed answers and can
be tested on raw bytes (:func:`parse_sse_bytes`).

Its state is named: a :class:`ThinkTagSplitter` (``think_tags.ThinkState``) separates
``<think>`` blocks written into the content, and a :class:`ToolPhase` says whether text may
still be a tool call written as text, native tool calls are streaming, or they have ended.

The answer is bounded: past :func:`answer_cap` bytes of text, thinking and tool arguments
(a generous multiple of the request's ``max_tokens``, at most 4 MiB) the stream ends with a
``ResponseTooLargeError`` and the partial answer is kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import Enum
from typing import Any

from openclaw.errors import (
    MalformedResponseError,
    OpenClawError,
    ProviderError,
    ResponseTooLargeError,
)
from openclaw.llm import usage as usage_mod
from openclaw.llm.errors import stream_error
from openclaw.llm.sse import SSEDecoder, SSEProtocolError
from openclaw.llm.text_toolcalls import could_be_tool_call, new_call_id, parse_text_tool_calls
from openclaw.llm.think_tags import PLAIN, ThinkTagSplitter
from openclaw.llm.types import (
    AssistantMessage,
    DoneEvent,
    ErrorEvent,
    Event,
    ModelSpec,
    StartEvent,
    StopReason,
    TextContent,
    TextDeltaEvent,
    TextEndEvent,
    TextStartEvent,
    ThinkingContent,
    ThinkingDeltaEvent,
    ThinkingEndEvent,
    ThinkingStartEvent,
    ToolCall,
    ToolCallDeltaEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
    Usage,
)

#: Per-call cap on streamed tool-call arguments (core.md §6.3).
MAX_TOOL_ARGUMENT_BYTES = 256 * 1024
#: Hard cap on one answer (text + thinking + tool arguments, UTF-8 bytes), whatever max_tokens.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
#: With a max_tokens, the cap is this many times it, at this many bytes a token: well above
#: any honest answer (a token is 3-4 bytes of English on average), far below a runaway one.
ANSWER_TOKEN_MULTIPLE = 8
BYTES_PER_TOKEN = 4
#: Never below this, so tiny max_tokens values (probes) still leave room for a thinking block.
MIN_ANSWER_BYTES = 64 * 1024


def answer_cap(max_tokens: int | None) -> int:
    """The size bound of one answer for a request with this ``max_tokens``."""
    if not max_tokens or max_tokens <= 0:
        return MAX_ANSWER_BYTES
    by_tokens = max_tokens * ANSWER_TOKEN_MULTIPLE * BYTES_PER_TOKEN
    return min(MAX_ANSWER_BYTES, max(MIN_ANSWER_BYTES, by_tokens))


def answer_too_long(spec: ModelSpec, cap: int, max_tokens: int | None) -> ResponseTooLargeError:
    if max_tokens and cap < MAX_ANSWER_BYTES:
        why = f"{ANSWER_TOKEN_MULTIPLE}x the request's max_tokens of {max_tokens:,}"
    else:
        why = "the limit for one answer"
    return ResponseTooLargeError(
        f"The answer from {spec.provider_id} passed {cap:,} bytes ({why}) and was cut; "
        "the partial answer was kept",
        hint="The model is probably repeating itself, or the server ignores max_tokens; "
        "lower maxTokens or check the server's stop settings.",
    )


class ToolPhase(Enum):
    WATCHING = "watching"  # answer text is held back: it may be a tool call written as text
    TEXT = "text"  # answer text flows straight out
    CALLING = "calling"  # tool calls (native or promoted from text) are open
    ENDED = "ended"  # tool calls closed and their arguments parsed


# (module names for the members: an Enum attribute lookup is slow, and these run per delta)
WATCHING, TEXT, CALLING, ENDED = (
    ToolPhase.WATCHING,
    ToolPhase.TEXT,
    ToolPhase.CALLING,
    ToolPhase.ENDED,
)

_FINISH: dict[str, StopReason] = {
    "stop": "stop",
    "end": "stop",
    "eos": "stop",
    "eos_token": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "load": "stop",
    "length": "length",
    "max_tokens": "length",
    "tool_calls": "toolUse",
    "function_call": "toolUse",
    "tool_call": "toolUse",
    "tool_use": "toolUse",
}


class _Call:
    __slots__ = ("block", "content_index", "parts", "size", "stream_index")

    def __init__(self, block: ToolCall, content_index: int, stream_index: int | None) -> None:
        self.block = block
        self.content_index = content_index
        self.stream_index = stream_index
        self.parts: list[str] = []
        self.size = 0


class StreamProcessor:
    """Chunks in, events out. Call ``feed_payload`` / ``feed_chunk`` / ``feed_response``, take
    ``drain()`` after each, and end with ``finish()`` or ``fail()`` (each returns the final
    event, after any block-closing events left in ``events``)."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        tool_names: frozenset[str] = frozenset(),
        input_chars: int | Callable[[], int] = 0,
        max_tokens: int | None = None,
    ) -> None:
        self.spec = spec
        self.message = AssistantMessage(provider=spec.provider_id, model=spec.model_id)
        self.events: list[Event] = [StartEvent()]
        self.tool_names = tool_names
        self.input_chars = input_chars
        self.finish_reason: str | None = None
        self.saw_done = False
        self.error: OpenClawError | None = None
        self._kind: str | None = None  # "text" | "thinking" while such a block is open
        self._parts: list[str] = []
        self._block: TextContent | ThinkingContent | None = None
        self._index = -1
        self._calls: list[_Call] = []
        self._by_index: dict[int, _Call] = {}
        self._reported: Usage | None = None
        self._timings: Usage | None = None
        promote = bool(tool_names) and spec.compat.get("promoteTextToolCalls", True) is not False
        self._tools = WATCHING if promote else TEXT
        self._held: list[str] = []
        self._held_text = ""
        self._think = ThinkTagSplitter(
            spec.compat.get("thinkTagsInContent", True) is not False,
            thinking=self._thinking,
            text=self._plain_text,
        )
        self._answer_bytes = 0
        self._answer_cap = answer_cap(max_tokens)
        self._max_tokens = max_tokens
        visible = spec.compat.get("visibleReasoningDetailTypes")
        self._detail_types = (
            frozenset(t for t in visible if isinstance(t, str))
            if isinstance(visible, list)
            else frozenset({"reasoning.text", "reasoning.summary"})
        )

    # -- feeding --

    def drain(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    def feed_payload(self, data: bytes) -> bool:
        """One SSE ``data`` payload. True when the stream is over ([DONE] or an error)."""
        if data[:6] == b"[DONE]" or data.strip() == b"[DONE]":
            self.saw_done = True
            return True
        try:
            obj = json.loads(data)
        except ValueError:
            self.error = MalformedResponseError(
                f"{self.spec.provider_id} sent a stream event that is not JSON: "
                f"{data[:120].decode('utf-8', 'replace')!r}",
                hint="The server is probably not OpenAI-compatible at this URL.",
            )
            return True
        if not isinstance(obj, dict):
            self.error = MalformedResponseError(
                f"{self.spec.provider_id} sent a stream event that is not a JSON object"
            )
            return True
        return self.feed_chunk(obj)

    def feed_chunk(self, obj: dict[str, Any]) -> bool:
        err = obj.get("error")
        if err:
            self.error = stream_error(err, self.spec)
            return True
        if obj.get("object") == "error" and isinstance(obj.get("message"), str):
            self.error = stream_error(obj, self.spec)
            return True
        choices = obj.get("choices")
        if choices and isinstance(choices, list):
            choice = choices[0]
            if len(choices) > 1:
                choice = next(
                    (c for c in choices if isinstance(c, dict) and c.get("index") == 0), choice
                )
            if isinstance(choice, dict):
                delta = choice.get("delta")
                if delta is None:
                    delta = choice.get("message")
                if isinstance(delta, dict) and delta:
                    self._delta(delta)
                    if self.error is not None:
                        return True
                fr = choice.get("finish_reason")
                if fr and isinstance(fr, str):
                    self.finish_reason = fr
                cu = choice.get("usage")
                if cu:
                    self._usage(cu)
        usage = obj.get("usage")
        if usage:
            self._usage(usage)
        timings = obj.get("timings")
        if timings:
            t = usage_mod.from_timings(timings)
            if t is not None:
                self._timings = t
        return False

    def feed_response(self, obj: Any) -> None:
        """A whole non-streamed ``chat.completion`` object."""
        if not isinstance(obj, dict):
            self.error = MalformedResponseError(
                f"{self.spec.provider_id} answered with JSON that is not a chat completion"
            )
            return
        choices = obj.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            message = choices[0].get("message")
            if isinstance(message, dict) and isinstance(message.get("tool_calls"), list):
                calls = []
                for i, tc in enumerate(message["tool_calls"]):
                    if isinstance(tc, dict) and "index" not in tc:
                        tc = {**tc, "index": i}
                    calls.append(tc)
                choices = [{**choices[0], "message": {**message, "tool_calls": calls}}]
                obj = {**obj, "choices": choices}
        elif "error" not in obj and obj.get("object") != "error":
            self.error = MalformedResponseError(
                f"{self.spec.provider_id} answered without any choices: {json.dumps(obj)[:200]}"
            )
            return
        self.feed_chunk(obj)
        if self.error is None and self.finish_reason is None:
            self.finish_reason = "stop"

    def _usage(self, raw: Any) -> None:
        u = usage_mod.from_openai_usage(raw)
        if u is not None:
            self._reported = u

    def _delta(self, delta: dict[str, Any]) -> None:
        details = delta.get("reasoning_details")
        if isinstance(details, list) and details:
            for d in details:
                if isinstance(d, dict) and d.get("type") in self._detail_types:
                    text = d.get("text")
                    if not isinstance(text, str):
                        text = d.get("summary")
                    if isinstance(text, str) and text:
                        self._reasoning(text)
        else:
            for key in ("reasoning_content", "reasoning", "reasoning_text"):
                value = delta.get(key)
                if value and isinstance(value, str):
                    self._reasoning(value)
                    break
        content = delta.get("content")
        if content:
            if isinstance(content, str):
                self._text(content)
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, dict):
                        text = part.get("text")
                        if isinstance(text, str) and text:
                            if part.get("type") in ("reasoning", "thinking"):
                                self._reasoning(text)
                            else:
                                self._text(text)
                    elif isinstance(part, str) and part:
                        self._text(part)
        calls = delta.get("tool_calls")
        if calls is None:
            fc = delta.get("function_call")
            if isinstance(fc, dict):
                calls = [{"index": 0, "function": fc}]
        if isinstance(calls, list):
            for tc in calls:
                if isinstance(tc, dict):
                    self._tool_delta(tc)
                    if self.error is not None:
                        return

    # -- blocks --

    def _close(self) -> None:
        kind = self._kind
        if kind is None:
            return
        block = self._block
        text = "".join(self._parts)
        if kind == "text" and isinstance(block, TextContent):
            block.text = text
            self.events.append(TextEndEvent(self._index, text))
        elif isinstance(block, ThinkingContent):
            block.thinking = text
            self.events.append(ThinkingEndEvent(self._index, text))
        self._kind = None
        self._block = None
        self._parts = []

    def _open(self, kind: str) -> None:
        self._close()
        block: TextContent | ThinkingContent = (
            TextContent("") if kind == "text" else ThinkingContent("")
        )
        self.message.content.append(block)
        self._index = len(self.message.content) - 1
        self._block = block
        self._kind = kind
        self.events.append(
            TextStartEvent(self._index) if kind == "text" else ThinkingStartEvent(self._index)
        )

    def _emit_text(self, s: str) -> None:
        if self._kind != "text":
            self._open("text")
        self._parts.append(s)
        self.events.append(TextDeltaEvent(self._index, s))

    def _text(self, s: str) -> None:
        self._spend(s)
        if self._think.state is PLAIN:
            self._plain_text(s)
        else:
            self._think.feed(s)

    def _reasoning(self, s: str) -> None:
        self._spend(s)
        self._thinking(s)

    def _spend(self, s: str) -> None:
        """Count answer text against the size bound; past it the stream ends with an error."""
        self._answer_bytes += len(s) if s.isascii() else len(s.encode("utf-8", "replace"))
        if self._answer_bytes > self._answer_cap and self.error is None:
            self.error = answer_too_long(self.spec, self._answer_cap, self._max_tokens)

    def _plain_text(self, s: str) -> None:
        if self._tools is WATCHING:
            self._held.append(s)
            self._held_text += s
            if not could_be_tool_call(self._held_text):
                self._flush_held()
            return
        self._emit_text(s)

    def _flush_held(self) -> None:
        if self._tools is WATCHING:
            self._tools = TEXT
        held, self._held, self._held_text = self._held, [], ""
        for s in held:
            self._emit_text(s)

    def _thinking(self, s: str) -> None:
        if self._held:
            self._flush_held()
        if self._kind != "thinking":
            self._open("thinking")
        self._parts.append(s)
        self.events.append(ThinkingDeltaEvent(self._index, s))

    def _tool_delta(self, tc: dict[str, Any]) -> None:
        idx = tc.get("index")
        if not isinstance(idx, int) or isinstance(idx, bool):
            idx = None
        call_id = tc.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = None
        fn = tc.get("function")
        if not isinstance(fn, dict):
            fn = {}
        name = fn.get("name")
        args = fn.get("arguments")

        call: _Call | None = None
        if idx is not None:
            call = self._by_index.get(idx)
            if call is not None and call_id and call.block.id and call.block.id != call_id:
                call = None  # same index, new id: a new call (Ollama's index-0 bug)
        elif call_id:
            call = next((c for c in self._calls if c.block.id == call_id), None)
        elif self._calls:
            call = self._calls[-1]
        if call is None:
            if self._think.holding:
                self._think.flush()
            if self._held:
                self._flush_held()
            self._tools = CALLING
            self._close()
            block = ToolCall(
                id=call_id or "", name=name if isinstance(name, str) else "", arguments={}
            )
            self.message.content.append(block)
            call = _Call(block, len(self.message.content) - 1, idx)
            self._calls.append(call)
            if idx is not None:
                self._by_index[idx] = call
            self.events.append(ToolCallStartEvent(call.content_index, block.id, block.name))
        elif call_id and not call.block.id:
            call.block.id = call_id
        if isinstance(name, str) and name and not call.block.name:
            call.block.name = name
        if args is not None and args != "":
            if not isinstance(args, str):
                args = json.dumps(args, ensure_ascii=False)
            call.size += len(args)
            self._spend(args)
            if call.size > MAX_TOOL_ARGUMENT_BYTES:
                self.error = MalformedResponseError(
                    f"Tool call {call.block.name or '?'} from {self.spec.provider_id} exceeded "
                    f"the tool-call argument buffer limit ({MAX_TOOL_ARGUMENT_BYTES // 1024} KB)",
                    hint="The model is probably looping; lower maxTokens or try again.",
                )
                return
            call.parts.append(args)
            self.events.append(ToolCallDeltaEvent(call.content_index, args))

    def _end_tool_calls(self) -> None:
        seen: set[str] = set()
        for call in self._calls:
            block = call.block
            raw = "".join(call.parts)
            block.raw_arguments = raw
            try:
                parsed = json.loads(raw) if raw.strip() else {}
            except ValueError:
                parsed = {}
            block.arguments = parsed if isinstance(parsed, dict) else {}
            if not block.id or block.id in seen:
                block.id = block.id + f"_{len(seen)}" if block.id else new_call_id()
            seen.add(block.id)
            self.events.append(ToolCallEndEvent(call.content_index, block))
        self._tools = ENDED

    # -- ending --

    def _final_usage(self) -> Usage:
        u = self._reported or self._timings
        if u is None:
            out_chars = 0
            for c in self.message.content:
                if isinstance(c, TextContent):
                    out_chars += len(c.text)
                elif isinstance(c, ThinkingContent):
                    out_chars += len(c.thinking)
                else:
                    out_chars += len(c.raw_arguments) + len(c.name)
            chars = self.input_chars
            u = usage_mod.estimated(chars() if callable(chars) else chars, out_chars)
        return usage_mod.finalize(u, self.spec.model.cost)

    def finish(self) -> DoneEvent | ErrorEvent:
        """The stream ended (``[DONE]``, EOF or a whole non-streamed body)."""
        if self.error is not None:
            return self.fail(self.error)
        if not self.saw_done and self.finish_reason is None:
            return self.fail(
                MalformedResponseError(
                    f"The stream from {self.spec.provider_id} ended before the model finished "
                    "(no finish_reason and no [DONE]); the partial answer was kept",
                    hint="The server or a proxy closed the connection; check the server's log.",
                )
            )
        fr = self.finish_reason
        stop: StopReason = _FINISH.get(fr, "error") if fr else "stop"
        if stop == "error":
            return self.fail(ProviderError(f"Provider finish_reason: {fr}"))
        self._think.flush()
        if self._tools is WATCHING and self._held and stop != "length":
            # (a "tool_calls" finish with no native call is a server that left the parsing
            # to us, so it may promote too)
            promoted = parse_text_tool_calls(self._held_text, self.tool_names)
            if promoted:
                self._tools = CALLING
                self._held, self._held_text = [], ""
                for name, arguments in promoted:
                    raw = json.dumps(arguments, ensure_ascii=False)
                    block = ToolCall(id=new_call_id(), name=name, arguments=arguments)
                    self.message.content.append(block)
                    call = _Call(block, len(self.message.content) - 1, None)
                    call.parts.append(raw)
                    self._calls.append(call)
                    self.events.append(ToolCallStartEvent(call.content_index, block.id, name))
                    self.events.append(ToolCallDeltaEvent(call.content_index, raw))
        if self._held:
            self._flush_held()
        self._close()
        self._end_tool_calls()
        if self._calls and stop == "stop":
            stop = "toolUse"
        elif not self._calls and stop == "toolUse":
            stop = "stop"
        usage = self._final_usage()
        self.message.usage = usage
        self.message.stop_reason = stop
        return DoneEvent(self.message, stop, usage)

    def fail(self, error: OpenClawError, stop_reason: str = "error") -> ErrorEvent:
        """End with an error; everything received so far stays in the partial message."""
        self._think.flush()
        if self._held:
            self._flush_held()
        self._close()
        if self._tools is not ENDED:
            self._end_tool_calls()
        reason: Any = "aborted" if stop_reason == "aborted" else "error"
        self.message.usage = self._final_usage()
        self.message.stop_reason = reason
        self.message.error_message = error.message
        return ErrorEvent(self.message, reason, error)


def parse_sse_bytes(
    spec: ModelSpec,
    chunks: list[bytes],
    *,
    tool_names: frozenset[str] = frozenset(),
    input_chars: int = 0,
) -> list[Event]:
    """Run recorded SSE bytes (split any way) through the same decoder and processor that
    ``stream_chat`` uses; returns every event, the final ``done``/``error`` last."""
    proc = StreamProcessor(spec, tool_names=tool_names, input_chars=input_chars)
    decoder = SSEDecoder()
    events = proc.drain()
    finished = False
    try:
        for chunk in chunks:
            for payload in decoder.feed(chunk):
                if proc.feed_payload(payload):
                    finished = True
                    break
            events += proc.drain()
            if finished:
                break
        if not finished:
            for payload in decoder.flush():
                if proc.feed_payload(payload):
                    break
        final: Event = proc.finish()
    except SSEProtocolError as exc:
        final = proc.fail(MalformedResponseError(f"The stream is malformed: {exc}"))
    events += proc.drain()
    events.append(final)
    return events
