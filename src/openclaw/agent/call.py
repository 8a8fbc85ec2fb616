"""Step "stream" of a turn: one request to the model, streamed to the observer as it arrives.

The provider's plugin runs first when it must (LM Studio loads an unloaded model at the
configured context); the deadline and Ctrl-C cancel the stream and keep what arrived so far.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import anyio

from openclaw.agent.budget import estimate_prompt
from openclaw.agent.turn_types import AbortHandle, TurnObserver
from openclaw.errors import OpenClawError
from openclaw.llm.types import (
    AssistantMessage,
    ChatOptions,
    Context,
    DoneEvent,
    ErrorEvent,
    Event,
    ModelSpec,
    TextContent,
    TextDeltaEvent,
    ThinkingContent,
    ThinkingDeltaEvent,
    ToolCall,
    ToolCallEndEvent,
    ToolCallStartEvent,
    Usage,
)

StreamFn = Callable[[ModelSpec, Context, ChatOptions], AsyncIterator[Event]]
_SOURCE_RANK = {"reported": 3, "timings": 2, "estimated": 1, "none": 0}


@dataclass
class CallOutcome:
    message: AssistantMessage
    error: OpenClawError | None
    produced: bool  # any visible output streamed
    first_token_at: float | None
    ended_at: float
    timed_out: bool = False  # the turn's deadline cut this call off


class StreamAccumulator:
    """Collects one stream's events: the deltas shown so far and the final message."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.thinking: list[str] = []
        self.produced = False  # any visible output streamed
        self.first: float | None = None
        self.final: AssistantMessage | None = None
        self.error: OpenClawError | None = None

    def _visible(self) -> None:
        if self.first is None:
            self.first = time.monotonic()
        self.produced = True

    def take(self, ev: Event, obs: TurnObserver) -> None:
        if isinstance(ev, TextDeltaEvent):
            self.texts.append(ev.delta)
            self._visible()
            obs.on_text(ev.delta)
        elif isinstance(ev, ThinkingDeltaEvent):
            self.thinking.append(ev.delta)
            self._visible()
            obs.on_thinking(ev.delta)
        elif isinstance(ev, ToolCallStartEvent | ToolCallEndEvent):
            self._visible()
        elif isinstance(ev, DoneEvent):
            self.final = ev.message
            self.final.stop_reason = ev.stop_reason
            self.final.usage = ev.usage
        elif isinstance(ev, ErrorEvent):
            self.final = ev.message
            self.final.stop_reason = ev.stop_reason
            self.error = ev.error
            if not self.final.error_message:
                self.final.error_message = ev.error.message

    def partial_content(self) -> list[TextContent | ThinkingContent | ToolCall]:
        content: list[TextContent | ThinkingContent | ToolCall] = []
        if self.thinking:
            content.append(ThinkingContent(thinking="".join(self.thinking)))
        if self.texts:
            content.append(TextContent(text="".join(self.texts)))
        return content


async def stream_call(
    stream_fn: StreamFn,
    spec: ModelSpec,
    context: Context,
    options: ChatOptions,
    *,
    deadline: float | None,
    abort: AbortHandle,
    observer: TurnObserver,
    timeout_error: Callable[[], OpenClawError],
) -> CallOutcome:
    """Stream one request; a cut-off stream becomes an aborted or failed partial message."""
    acc = StreamAccumulator()
    gen = stream_fn(spec, context, options)
    scope = anyio.CancelScope(deadline=deadline if deadline else float("inf"))
    abort._scope = scope
    try:
        with scope:
            if abort.aborted:
                scope.cancel()
            async for ev in gen:
                acc.take(ev, observer)
    finally:
        abort._scope = None
        with anyio.CancelScope(shield=True):
            try:
                await gen.aclose()  # type: ignore[attr-defined]
            except Exception:
                pass
    ended = time.monotonic()
    final, error = acc.final, acc.error
    timed_out = False
    if scope.cancelled_caught or final is None:
        timed_out = not abort.aborted and scope.cancelled_caught
        if timed_out:
            error = timeout_error()
        elif not scope.cancelled_caught:
            from openclaw.errors import MalformedResponseError

            error = MalformedResponseError("The model stream ended without a result.")
        final = _partial_message(spec, acc, abort.aborted, error)
    if not final.provider:
        final.provider = spec.provider_id
    if not final.model:
        final.model = spec.model_id
    return CallOutcome(final, error, acc.produced, acc.first, ended, timed_out)


def _partial_message(
    spec: ModelSpec, acc: StreamAccumulator, aborted: bool, error: OpenClawError | None
) -> AssistantMessage:
    """What arrived before the stream was cut off (Ctrl-C, the deadline, no result)."""
    return AssistantMessage(
        content=acc.partial_content(),
        provider=spec.provider_id,
        model=spec.model_id,
        stop_reason="aborted" if aborted else "error",
        error_message=(
            "Interrupted by the user." if aborted else (error.message if error else None)
        ),
    )


def fix_usage(msg: AssistantMessage, context: Context) -> None:
    """Estimate usage a server did not report (the session's token count needs it)."""
    u = msg.usage
    if msg.stop_reason == "error" and not msg.content and u.input == 0 and u.output == 0:
        return  # nothing was processed (unreachable, refused): nothing to estimate
    if u.source == "none" or (u.input == 0 and u.output == 0):
        from openclaw.llm.usage import estimate_tokens

        out_chars = sum(
            len(p.text)
            if isinstance(p, TextContent)
            else len(p.thinking)
            if isinstance(p, ThinkingContent)
            else len(p.name) + len(str(p.arguments))
            for p in msg.content
        )
        inp = estimate_prompt(context.system_prompt, context.messages, context.tools)
        out = estimate_tokens(out_chars)
        msg.usage = Usage(input=inp, output=out, total=inp + out, source="estimated")
    elif not u.total:
        u.total = u.input + u.output + u.cache_read + u.cache_write


def add_usage(t: Usage, u: Usage, *, first: bool) -> None:
    """Add one call's usage to the turn's; the source is the least reliable one seen."""
    t.input += u.input
    t.output += u.output
    t.cache_read += u.cache_read
    t.cache_write += u.cache_write
    t.total += u.total or (u.input + u.output + u.cache_read + u.cache_write)
    t.cost += u.cost
    if first or _SOURCE_RANK.get(u.source, 0) < _SOURCE_RANK.get(t.source, 0):
        t.source = u.source


def default_stream(spec: ModelSpec, context: Context, options: ChatOptions) -> AsyncIterator[Event]:
    """The real model call: through the provider's plugin (``providers.runtime``)."""
    from openclaw.providers.runtime import stream_model

    return stream_model(spec, context, options)
