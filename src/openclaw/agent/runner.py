"""One agent turn: resolve the model, fit the prompt, stream, run tools, fall back, record.

``run_turn`` is the library entry point the CLI (one-shot and chat) is built on. It never prints:
everything the user should see goes through a :class:`TurnObserver`, and the outcome comes back
as a :class:`TurnResult` (errors included, so the transcript and summary can still be written).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio

from openclaw.agent.budget import (
    Budget,
    Fit,
    PromptTooLargeError,
    compute_budget,
    estimate_prompt,
    fit_history,
    split_turns,
)
from openclaw.agent.prompt import build_system_prompt
from openclaw.agent.sessions import SessionRef, SessionStore, validate_id
from openclaw.agent.tools import ToolContext, ToolRegistry, default_registry
from openclaw.agent.transcript import Transcript, TranscriptData, read_transcript
from openclaw.errors import (
    FALLBACK_TRIGGERS,
    ContextOverflowError,
    ModelRefError,
    OpenClawError,
    RequestTimeoutError,
    UsageError,
)
from openclaw.llm.types import (
    THINKING_LEVELS,
    AssistantMessage,
    ChatOptions,
    Context,
    DoneEvent,
    ErrorEvent,
    Event,
    Message,
    ModelSpec,
    TextContent,
    TextDeltaEvent,
    ThinkingContent,
    ThinkingDeltaEvent,
    ToolCall,
    ToolCallEndEvent,
    ToolCallStartEvent,
    ToolResultMessage,
    ToolSpec,
    Usage,
    UserMessage,
)

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig

StreamFn = Callable[[ModelSpec, Context, ChatOptions], AsyncIterator[Event]]
SpecResolver = Callable[["LoadedConfig", str | None, str], ModelSpec]

MAX_TOOL_ROUNDS = 8
DEFAULT_TIMEOUT = 600.0
_SOURCE_RANK = {"reported": 3, "timings": 2, "estimated": 1, "none": 0}


class TurnObserver:
    """Callbacks for rendering a turn as it happens. All no-ops by default."""

    def on_notice(self, text: str, level: Literal["info", "warn"] = "info") -> None: ...
    def on_model(self, spec: ModelSpec, fallback_from: str | None) -> None: ...
    def on_text(self, delta: str) -> None: ...
    def on_thinking(self, delta: str) -> None: ...
    def on_message_end(self, message: AssistantMessage) -> None: ...
    def on_tool_call(self, call: ToolCall) -> None: ...
    def on_tool_result(self, result: ToolResultMessage) -> None: ...


class AbortHandle:
    """Lets a signal handler (Ctrl-C) stop the stream that is running right now."""

    def __init__(self) -> None:
        self.aborted = False
        self._scope: anyio.CancelScope | None = None

    def abort(self) -> None:
        self.aborted = True
        if self._scope is not None:
            self._scope.cancel()


@dataclass
class TurnOptions:
    message: str
    agent_id: str = "main"
    model: str | None = None  # explicit ref: never falls back
    thinking: str | None = None
    session_key: str | None = None
    session_id: str | None = None
    new_session: bool = False
    timeout: float | None = DEFAULT_TIMEOUT
    tools: Literal["none", "default"] = "default"
    max_tool_rounds: int = MAX_TOOL_ROUNDS


@dataclass
class FallbackAttempt:
    ref: str
    error: str


@dataclass
class TurnResult:
    session_key: str
    session_id: str
    text: str = ""
    provider: str | None = None
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    stop_reason: str = "stop"
    error: OpenClawError | None = None
    duration_ms: int = 0
    ttft_ms: int | None = None
    tokens_per_second: float | None = None
    attempts: list[FallbackAttempt] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    tools_enabled: bool = False
    tools_note: str | None = None
    tool_calls: int = 0
    model_calls: int = 0
    context_tokens: int | None = None
    transcript_path: Path | None = None
    sent: bool = False  # whether any request reached a model

    @property
    def fell_back(self) -> bool:
        return bool(self.attempts) and self.error is None

    @property
    def aborted(self) -> bool:
        return self.stop_reason == "aborted"

    def usage_dict(self) -> dict[str, Any]:
        u = self.usage
        return {
            "input": u.input,
            "output": u.output,
            "cacheRead": u.cache_read,
            "cacheWrite": u.cache_write,
            "total": u.total,
            "source": u.source,
        }


# -- configuration helpers ---------------------------------------------------------------------
def _agent_entry(cfg: LoadedConfig, agent_id: str) -> dict[str, Any]:
    agents = cfg.data.get("agents")
    items = agents.get("list") if isinstance(agents, dict) else None
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and item.get("id") == agent_id:
                return item
    return {}


def _defaults(cfg: LoadedConfig) -> dict[str, Any]:
    agents = cfg.data.get("agents")
    d = agents.get("defaults") if isinstance(agents, dict) else None
    return d if isinstance(d, dict) else {}


def workspace_dir(cfg: LoadedConfig, agent_id: str = "main") -> Path:
    for value in (_agent_entry(cfg, agent_id).get("workspace"), _defaults(cfg).get("workspace")):
        if isinstance(value, str) and value.strip():
            p = Path(value.strip()).expanduser()
            return p if p.is_absolute() else cfg.paths.state_dir / p
    return cfg.paths.workspace_dir


def _default_resolver(cfg: LoadedConfig, ref: str | None, agent_id: str) -> ModelSpec:
    from openclaw.providers.runtime import resolve_model_spec

    return resolve_model_spec(cfg, ref, agent_id=agent_id)


def _default_stream(
    spec: ModelSpec, context: Context, options: ChatOptions
) -> AsyncIterator[Event]:
    from openclaw.providers.runtime import stream_model

    return stream_model(spec, context, options)


# -- history -------------------------------------------------------------------------------------
def sanitize_history(messages: list[Message]) -> list[Message]:
    """Make a stored history safe to replay.

    Failed or aborted assistant entries keep only their text; tool calls without a result get a
    synthetic error result; results without a call are dropped. A user message that never got an
    answer (the turn failed or was interrupted before any text) is left out: replaying it would
    put two user messages in a row, which strict chat templates (Gemma, Mistral) reject.
    """
    out: list[Message] = []
    pending: dict[str, ToolCall] = {}

    def flush() -> None:
        for call in pending.values():
            out.append(
                ToolResultMessage(
                    tool_call_id=call.id,
                    tool_name=call.name,
                    content=[TextContent(text="No result: the turn was interrupted.")],
                    is_error=True,
                )
            )
        pending.clear()

    for msg in messages:
        if isinstance(msg, ToolResultMessage):
            if msg.tool_call_id in pending:
                pending.pop(msg.tool_call_id)
                out.append(msg)
            continue
        flush()
        if isinstance(msg, AssistantMessage):
            if msg.stop_reason in ("error", "aborted"):
                text = msg.text
                if not text.strip():
                    continue
                msg = AssistantMessage(
                    content=[TextContent(text=text)],
                    provider=msg.provider,
                    model=msg.model,
                    usage=msg.usage,
                    stop_reason=msg.stop_reason,
                    error_message=msg.error_message,
                    timestamp=msg.timestamp,
                )
            else:
                for call in msg.tool_calls:
                    pending[call.id] = call
        out.append(msg)
    flush()
    return [
        msg
        for i, msg in enumerate(out)
        if not (
            isinstance(msg, UserMessage)
            and (i + 1 == len(out) or isinstance(out[i + 1], UserMessage))
        )
    ]


# -- the turn ----------------------------------------------------------------------------------
@dataclass
class _CallOutcome:
    message: AssistantMessage
    error: OpenClawError | None
    produced: bool  # any visible output streamed
    first_token_at: float | None
    ended_at: float


class _StreamAccumulator:
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


@dataclass
class _ModelRun:
    """The state of one model's attempt at the turn (tool rounds, overflow retry)."""

    spec: ModelSpec
    budget: Budget
    prompt_text: str
    registry: ToolRegistry | None
    tool_specs: list[ToolSpec]
    options: ChatOptions
    tools: ToolContext
    allow_fallback: bool
    current: list[Message]
    rounds: int = 0
    calls: int = 0
    overflow_retry_used: bool = False
    extra_drop: int = 0
    trimmed_notice_given: bool = False
    room_checked: bool = False


class _Turn:
    def __init__(
        self,
        cfg: LoadedConfig,
        opts: TurnOptions,
        registry: ToolRegistry | None,
        observer: TurnObserver,
        abort: AbortHandle,
        stream_fn: StreamFn,
        resolve_spec: SpecResolver,
        store: SessionStore,
        session: SessionRef,
    ) -> None:
        self.cfg = cfg
        self.opts = opts
        self.registry = registry
        self.obs = observer
        self.abort = abort
        self.stream_fn = stream_fn
        self.resolve_spec = resolve_spec
        self.store = store
        self.session = session
        self.transcript: Transcript | None = None
        self.stored: TranscriptData | None = None  # the file as read at the start of the turn
        self.deadline = (
            time.monotonic() + opts.timeout if opts.timeout and opts.timeout > 0 else None
        )
        self.result = TurnResult(session_key=session.key, session_id=session.session_id)
        self.gen_seconds = 0.0
        self.workspace = workspace_dir(cfg, opts.agent_id)
        self.secrets: list[str] = []
        self.turn_timed_out = False

    # -- helpers
    def _timeout_error(self) -> RequestTimeoutError:
        return RequestTimeoutError(
            f"The turn took longer than {self.opts.timeout:g} s and was stopped.",
            hint="Raise the limit with --timeout SECONDS.",
        )

    def notice(self, text: str, level: Literal["info", "warn"] = "info") -> None:
        self.result.notices.append(text)
        self.obs.on_notice(text, level)

    def write(self, msg: Message) -> None:
        if self.transcript is None:
            thinking = self.opts.thinking
            self.store.activate(self.session, **({"thinkingLevel": thinking} if thinking else {}))
            self.transcript = Transcript(
                self.store.transcript_path(self.session.session_id),
                self.session.session_id,
                secrets=self.secrets,
                existing=self.stored,
            )
            self.result.transcript_path = self.transcript.path
        self.transcript.append(msg)

    def add_secrets(self, spec: ModelSpec) -> None:
        """The key and secret header values of a model never reach the transcript."""
        from openclaw.auth.redact import is_header_secret

        self.secrets.append(spec.api_key or "")
        self.secrets += [v for k, v in spec.headers.items() if is_header_secret(k)]
        if self.transcript is not None:
            self.transcript.secrets = [s for s in self.secrets if s]

    # -- step "stream": one model call -------------------------------------------------------
    async def _call(self, spec: ModelSpec, context: Context, options: ChatOptions) -> _CallOutcome:
        """Stream one request (the provider's plugin preloads the model first when it must)."""
        acc = _StreamAccumulator()
        gen = self.stream_fn(spec, context, options)
        scope = anyio.CancelScope(deadline=self.deadline if self.deadline else float("inf"))
        self.abort._scope = scope
        try:
            with scope:
                if self.abort.aborted:
                    scope.cancel()
                async for ev in gen:
                    acc.take(ev, self.obs)
        finally:
            self.abort._scope = None
            with anyio.CancelScope(shield=True):
                try:
                    await gen.aclose()  # type: ignore[attr-defined]
                except Exception:
                    pass
        ended = time.monotonic()
        final, error = acc.final, acc.error
        if scope.cancelled_caught or final is None:
            final, error = self._unfinished_message(spec, acc, scope.cancelled_caught)
        if not final.provider:
            final.provider = spec.provider_id
        if not final.model:
            final.model = spec.model_id
        return _CallOutcome(final, error, acc.produced, acc.first, ended)

    def _unfinished_message(
        self, spec: ModelSpec, acc: _StreamAccumulator, cancelled: bool
    ) -> tuple[AssistantMessage, OpenClawError | None]:
        """The partial answer of a stream that was cut off (Ctrl-C, the deadline, no result)."""
        error: OpenClawError | None = acc.error
        timed_out = not self.abort.aborted and cancelled
        if timed_out:
            error = self._timeout_error()
        elif not cancelled:
            from openclaw.errors import MalformedResponseError

            error = MalformedResponseError("The model stream ended without a result.")
        self.turn_timed_out = timed_out
        message = AssistantMessage(
            content=acc.partial_content(),
            provider=spec.provider_id,
            model=spec.model_id,
            stop_reason="aborted" if self.abort.aborted else "error",
            error_message=(
                "Interrupted by the user."
                if self.abort.aborted
                else (error.message if error else None)
            ),
        )
        return message, error

    def _fix_usage(self, msg: AssistantMessage, context: Context) -> None:
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

    def _add_usage(self, u: Usage) -> None:
        t = self.result.usage
        first = self.result.model_calls == 1
        t.input += u.input
        t.output += u.output
        t.cache_read += u.cache_read
        t.cache_write += u.cache_write
        t.total += u.total or (u.input + u.output + u.cache_read + u.cache_write)
        t.cost += u.cost
        if first or _SOURCE_RANK.get(u.source, 0) < _SOURCE_RANK.get(t.source, 0):
            t.source = u.source

    # -- the turn: resolve, then per model (fit → stream → tools)*, fallback, record ----------
    async def run(self) -> TurnResult:
        started = time.monotonic()
        user = UserMessage(content=self.opts.message)
        history = self._load_history()
        explicit, chain = self._model_chain()
        last_error = await self._try_chain(chain, explicit, history, user, self._thinking_level())
        self._conclude(last_error, explicit, chain)
        self.result.duration_ms = int((time.monotonic() - started) * 1000)
        self._record()
        return self.result

    def _load_history(self) -> list[Message]:
        stored = self.stored = read_transcript(self.store.transcript_path(self.session.session_id))
        for w in stored.warnings:
            self.notice(w, "warn")
        return sanitize_history(stored.messages())

    def _model_chain(self) -> tuple[str | None, list[str | None]]:
        """The explicit model (``--model`` or the session's override) alone, else the default
        model followed by its fallbacks."""
        explicit = self.opts.model
        if explicit is None:
            entry = self.session.entry
            prov, mod = entry.get("providerOverride"), entry.get("modelOverride")
            if isinstance(mod, str) and mod:
                explicit = f"{prov}/{mod}" if isinstance(prov, str) and prov else mod
        if explicit:
            return explicit, [explicit]
        from openclaw.models.catalog import default_model_ref, fallback_refs

        primary = default_model_ref(self.cfg, self.opts.agent_id)
        fallbacks = fallback_refs(self.cfg, self.opts.agent_id)
        return None, [primary, *[f for f in fallbacks if f != primary]]

    def _thinking_level(self) -> str | None:
        thinking = self.opts.thinking or self.session.entry.get("thinkingLevel")
        return thinking if thinking in THINKING_LEVELS else None

    async def _try_chain(
        self,
        chain: list[str | None],
        explicit: str | None,
        history: list[Message],
        user: UserMessage,
        thinking: str | None,
    ) -> OpenClawError | None:
        """Steps "resolve" and "fallback": each model in turn until one answers."""
        last_error: OpenClawError | None = None
        for index, ref in enumerate(chain):
            is_last = index == len(chain) - 1
            label = ref or "(default model)"
            try:
                spec = self.resolve_spec(self.cfg, ref, self.opts.agent_id)
            except FALLBACK_TRIGGERS as exc:
                last_error = exc
                if explicit or is_last:
                    break
                self._skip(label, exc, f"{label} is unavailable: {exc.message}")
                continue
            except ModelRefError as exc:
                if index == 0 or is_last:
                    last_error = exc
                if index == 0:
                    break
                self._skip(label, exc, f"Skipping fallback {label}: {exc.message}")
                continue
            self.add_secrets(spec)
            self.obs.on_model(spec, self.result.attempts[0].ref if self.result.attempts else None)
            allow_fallback = not explicit and not is_last
            if await self._run_with_model(spec, history, user, thinking, allow_fallback) == "done":
                return None
            last_error = self.result.error
            message = last_error.message if last_error else "failed"
            self._skip(spec.key, last_error, f"{spec.key} failed: {message} — trying the next "
                       "fallback model.")  # fmt: skip
            self.result.error = None
        return last_error

    def _skip(self, label: str, error: OpenClawError | None, notice: str) -> None:
        self.result.attempts.append(FallbackAttempt(label, error.message if error else "failed"))
        self.notice(notice, "warn")

    def _conclude(
        self, last_error: OpenClawError | None, explicit: str | None, chain: list[str | None]
    ) -> None:
        res = self.result
        if last_error is None and res.error is not None:
            last_error = res.error
        if last_error is not None:
            res.error = _with_hint(last_error, explicit=bool(explicit), chain=chain)
            if res.stop_reason != "aborted":
                res.stop_reason = "error"
        elif res.fell_back and res.model:
            self.notice(
                f"Answered by fallback model {res.provider}/{res.model} "
                f"(primary {res.attempts[0].ref} failed).",
                "warn",
            )
        if any(self.secrets):  # an answer echoing the key must not carry it into --json
            from openclaw.auth.redact import redact_text

            res.text = redact_text(res.text, self.secrets)
        # Rates over a few milliseconds (an instant server, a two-token answer) mean nothing.
        if self.gen_seconds >= 0.05 and res.usage.output:
            res.tokens_per_second = res.usage.output / self.gen_seconds

    def _record(self) -> None:
        """Step "record": the session index learns the turn's model, usage and context."""
        if self.transcript is None:
            return
        res = self.result
        self.store.record_turn(
            self.session.key,
            self.session.session_id,
            provider=res.provider,
            model=res.model,
            usage=res.usage_dict() if res.model_calls else None,
            fresh=res.usage.source in ("reported", "timings"),
            context_tokens=res.context_tokens,
        )

    # -- one model's attempt ---------------------------------------------------------------------
    async def _run_with_model(
        self,
        spec: ModelSpec,
        history: list[Message],
        user: UserMessage,
        thinking: str | None,
        allow_fallback: bool,
    ) -> Literal["done", "fallback"]:
        run = self._start_model(spec, user, thinking, allow_fallback)
        while True:
            fit = self._fit(run, history)
            if fit is None:
                return "done"
            context = Context(
                system_prompt=run.prompt_text, messages=fit.messages, tools=run.tool_specs
            )
            self._set_output_budget(run, fit)
            outcome = await self._stream(run, context)
            if self._retry_after_overflow(run, history, context, outcome):
                continue
            if self._should_fall_back(run, outcome):
                return "fallback"
            msg = self._take_answer(run, context, outcome)
            if self._answer_ends_turn(run, msg, outcome.error):
                return "done"
            if not await self._run_tools(run, msg.tool_calls):
                return "done"

    def _start_model(
        self, spec: ModelSpec, user: UserMessage, thinking: str | None, allow_fallback: bool
    ) -> _ModelRun:
        budget = compute_budget(spec)
        self.result.context_tokens = budget.context
        registry, tools_off = self._tools_for(spec)
        prompt = build_system_prompt(
            workspace=self.workspace,
            tools=registry.summaries() if registry else [],
            model_key=spec.key,
            tools_disabled_reason=tools_off,
        )
        for w in prompt.warnings:
            self.notice(w, "warn")
        max_chars = 8000
        if budget.available:
            max_chars = max(1000, min(8000, budget.available))  # ≈ a quarter of the budget
        return _ModelRun(
            spec=spec,
            budget=budget,
            prompt_text=prompt.text,
            registry=registry,
            tool_specs=registry.specs() if registry else [],
            options=ChatOptions(thinking=thinking),
            tools=ToolContext(workspace=self.workspace, max_result_chars=max_chars),
            allow_fallback=allow_fallback,
            current=[user],
        )

    def _tools_for(self, spec: ModelSpec) -> tuple[ToolRegistry | None, str | None]:
        """The tools this model gets, and why there are none (for the summary and prompt)."""
        enabled = self.opts.tools != "none" and self.registry is not None and len(self.registry) > 0
        off: str | None = None
        if self.opts.tools == "none":
            off = "--tools none"
        elif spec.compat.get("supportsTools") is False:
            enabled = False
            off = f"{spec.key} has compat.supportsTools: false"
        self.result.tools_enabled = enabled
        self.result.tools_note = f"tools off ({off})" if off else None
        return (self.registry if enabled else None), off

    def _fit(self, run: _ModelRun, history: list[Message]) -> Fit | None:
        """Step "fit": history trimmed to the budget; None when even the new turn is too big."""
        res = self.result
        try:
            fit = fit_history(
                run.prompt_text,
                history,
                run.current,
                run.tool_specs,
                run.budget,
                provider_id=run.spec.provider_id,
                extra_drop=run.extra_drop,
            )
        except PromptTooLargeError as exc:
            res.error = exc
            res.stop_reason = "error"
            return None
        if fit.notices and not run.trimmed_notice_given:
            run.trimmed_notice_given = True
            for n in fit.notices:
                self.notice(n, "warn")
        if not res.sent:
            self.write(run.current[0])  # the user message, once the turn is really sent
        res.sent = True
        return fit

    def _set_output_budget(self, run: _ModelRun, fit: Fit) -> None:
        """The answer may use the model's maxTokens, but never more than the prompt leaves."""
        run.options.max_tokens = run.budget.answer_tokens(fit.estimated)
        if not run.room_checked:
            run.room_checked = True
            warning = run.budget.room_warning(fit.estimated)
            if warning:
                self.notice(warning, "warn")

    async def _stream(self, run: _ModelRun, context: Context) -> _CallOutcome:
        res = self.result
        call_started = time.monotonic()
        outcome = await self._call(run.spec, context, run.options)
        res.model_calls += 1
        run.calls += 1
        if outcome.first_token_at is not None:
            if res.ttft_ms is None:
                res.ttft_ms = int((outcome.first_token_at - call_started) * 1000)
            self.gen_seconds += max(outcome.ended_at - outcome.first_token_at, 0.0)
        return outcome

    def _retry_after_overflow(
        self, run: _ModelRun, history: list[Message], context: Context, outcome: _CallOutcome
    ) -> bool:
        """The server said the prompt did not fit: drop older history and retry once."""
        err = outcome.error
        if not isinstance(err, ContextOverflowError) or run.overflow_retry_used:
            return False
        run.overflow_retry_used = True
        turns = len(split_turns(history))
        if outcome.produced or not turns:
            return False
        self.result.model_calls -= 1
        if err.available:
            # The server knows its loaded context better than the config does.
            run.budget = _budget_from_server(run.budget, err, context)
            self.result.context_tokens = err.available
        if not self._trims_history(run, history):
            run.extra_drop = max(1, (turns + 1) // 2)
        self.notice(
            f"{run.spec.key} reported a context overflow"
            + (f" (loaded context {err.available:,} tokens)" if err.available else "")
            + "; dropping older history and retrying once.",
            "warn",
        )
        run.trimmed_notice_given = False
        return True

    def _trims_history(self, run: _ModelRun, history: list[Message]) -> bool:
        """Whether the (corrected) budget alone already drops some history."""
        if run.budget.available is None:
            return False
        try:
            trial = fit_history(
                run.prompt_text, history, run.current, run.tool_specs, run.budget,
                provider_id=run.spec.provider_id,
            )  # fmt: skip
        except PromptTooLargeError:
            return False  # the next attempt reports it
        return trial.dropped_turns > 0

    def _should_fall_back(self, run: _ModelRun, outcome: _CallOutcome) -> bool:
        """A first call that failed before any output may go to the next model."""
        err = outcome.error
        if (
            err is None
            or not run.allow_fallback
            or run.calls != 1
            or outcome.produced
            or self.abort.aborted
            or self.turn_timed_out
            or not isinstance(err, FALLBACK_TRIGGERS)
        ):
            return False
        self.result.model_calls -= 1
        self.result.error = err
        return True

    def _take_answer(
        self, run: _ModelRun, context: Context, outcome: _CallOutcome
    ) -> AssistantMessage:
        res, msg = self.result, outcome.message
        self._fix_usage(msg, context)
        self._add_usage(msg.usage)
        res.provider, res.model = (
            msg.provider or run.spec.provider_id,
            msg.model or run.spec.model_id,
        )
        self.write(msg)
        self.obs.on_message_end(msg)
        run.current.append(msg)
        if msg.text:
            res.text = msg.text
        res.stop_reason = msg.stop_reason
        return msg

    def _answer_ends_turn(
        self, run: _ModelRun, msg: AssistantMessage, err: OpenClawError | None
    ) -> bool:
        res = self.result
        if err is not None or msg.stop_reason in ("error", "aborted"):
            res.error = None if self.abort.aborted else err
            if isinstance(res.error, ContextOverflowError):
                res.error = _overflow_error(res.error, run.budget, run.spec)
            return True
        if not msg.tool_calls:
            return True
        if run.rounds >= self.opts.max_tool_rounds:
            self.notice(
                f"Stopped after {self.opts.max_tool_rounds} tool rounds; the model kept "
                "calling tools.",
                "warn",
            )
            return True
        run.rounds += 1
        return False

    async def _run_tools(self, run: _ModelRun, calls: list[ToolCall]) -> bool:
        """Step "tools": run each call; False when the turn must stop (Ctrl-C, deadline)."""
        for call in calls:
            self.result.tool_calls += 1
            self.obs.on_tool_call(call)
            result = await self._run_tool(run, call)
            self.write(result)
            self.obs.on_tool_result(result)
            run.current.append(result)
            past_deadline = self.deadline is not None and time.monotonic() >= self.deadline
            if self.abort.aborted or past_deadline:
                self.result.stop_reason = "aborted" if self.abort.aborted else "error"
                if not self.abort.aborted:
                    self.result.error = self._timeout_error()
                return False
        return True

    async def _run_tool(self, run: _ModelRun, call: ToolCall) -> ToolResultMessage:
        if run.registry is None:
            return _tool_error(call, "Tools are disabled for this conversation.")
        with anyio.CancelScope(deadline=self.deadline if self.deadline else float("inf")) as scope:
            self.abort._scope = scope
            result = await run.registry.execute(call, run.tools)
        self.abort._scope = None
        if scope.cancelled_caught:
            return _tool_error(call, "Interrupted.")
        return result


def _tool_error(call: ToolCall, text: str) -> ToolResultMessage:
    return ToolResultMessage(
        tool_call_id=call.id,
        tool_name=call.name,
        content=[TextContent(text=text)],
        is_error=True,
    )


def _budget_from_server(budget: Budget, err: ContextOverflowError, context: Context) -> Budget:
    """The budget after an overflow: the server's loaded context, and our estimate scaled by
    how far off it was (capped: a tokenizer rarely needs 3x our characters/4 estimate)."""
    loaded = err.available or 0
    sent_est = estimate_prompt(context.system_prompt, context.messages, context.tools)
    ratio = min(3.0, max(1.0, (err.requested or sent_est) / max(sent_est, 1)))
    reserve0 = min(budget.reserve or loaded // 4, loaded // 4)
    reserve = loaded - int((loaded - reserve0) / ratio)
    return replace(budget, context=loaded, reserve=reserve, context_field="loaded", scale=ratio)


def _overflow_error(err: ContextOverflowError, budget: Budget, spec: ModelSpec) -> OpenClawError:
    ctx = err.available or budget.context
    where = f"a {ctx:,}-token context" if ctx else "its loaded context"
    return ContextOverflowError(
        f"{spec.key} could not fit the prompt into {where} even after trimming history: "
        f"{err.message}",
        requested=err.requested,
        available=err.available,
        hint=(
            "Load the model with a larger context (LM Studio: `lms load <model> --context-length "
            f"32768`) and set contextTokens in models.providers.{spec.provider_id}.models[], "
            "or start a new session with --new."
        ),
    )


def _with_hint(err: OpenClawError, *, explicit: bool, chain: list[str | None]) -> OpenClawError:
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


async def run_turn(
    cfg: LoadedConfig,
    opts: TurnOptions,
    *,
    registry: ToolRegistry | None = None,
    observer: TurnObserver | None = None,
    abort: AbortHandle | None = None,
    stream_fn: StreamFn | None = None,
    resolve_spec: SpecResolver | None = None,
) -> TurnResult:
    """Run one turn in the session chosen by ``opts``.

    ``registry`` defaults to :func:`default_registry` (read, ls, web_fetch under the strict
    network policy); pass another to inject test tools or policies. ``stream_fn`` and
    ``resolve_spec`` default to ``providers.runtime``.
    """
    validate_id(opts.agent_id, "agent id")
    if not opts.message.strip():
        raise UsageError("The message is empty.", hint='Pass some text: openclaw agent -m "hi"')
    if opts.thinking is not None and opts.thinking not in THINKING_LEVELS:
        raise UsageError(
            f"Unknown thinking level {opts.thinking!r}",
            hint="Use one of: " + ", ".join(THINKING_LEVELS) + ".",
        )
    store = SessionStore(cfg.paths.sessions_dir(opts.agent_id))
    session = store.resolve(
        agent_id=opts.agent_id,
        key=opts.session_key,
        session_id=opts.session_id,
        new=opts.new_session,
    )
    if registry is None and opts.tools != "none":
        registry = default_registry()
    turn = _Turn(
        cfg,
        opts,
        registry,
        observer or TurnObserver(),
        abort or AbortHandle(),
        stream_fn or _default_stream,
        resolve_spec or _default_resolver,
        store,
        session,
    )
    return await turn.run()
