"""One agent turn: resolve the model, fit the prompt, stream, run tools, fall back, record.

``run_turn`` is the library entry point the CLI (one-shot and chat) is built on. It never prints:
everything the user should see goes through a :class:`TurnObserver`, and the outcome comes back
as a :class:`TurnResult` (errors included, so the transcript and summary can still be written).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio

from openclaw.agent.budget import (
    Budget,
    PromptTooLargeError,
    compute_budget,
    estimate_prompt,
    fit_history,
    split_turns,
)
from openclaw.agent.prompt import Injection, build_system_prompt
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

    async def _call(self, spec: ModelSpec, context: Context, options: ChatOptions) -> _CallOutcome:
        texts: list[str] = []
        thinking: list[str] = []
        produced = False
        first: float | None = None
        final: AssistantMessage | None = None
        error: OpenClawError | None = None
        gen = self.stream_fn(spec, context, options)
        scope = anyio.CancelScope(deadline=self.deadline if self.deadline else float("inf"))
        self.abort._scope = scope
        try:
            with scope:
                if self.abort.aborted:
                    scope.cancel()
                async for ev in gen:
                    if isinstance(ev, TextDeltaEvent):
                        texts.append(ev.delta)
                        if first is None:
                            first = time.monotonic()
                        produced = True
                        self.obs.on_text(ev.delta)
                    elif isinstance(ev, ThinkingDeltaEvent):
                        thinking.append(ev.delta)
                        if first is None:
                            first = time.monotonic()
                        produced = True
                        self.obs.on_thinking(ev.delta)
                    elif isinstance(ev, ToolCallStartEvent | ToolCallEndEvent):
                        if first is None:
                            first = time.monotonic()
                        produced = True
                    elif isinstance(ev, DoneEvent):
                        final = ev.message
                        final.stop_reason = ev.stop_reason
                        final.usage = ev.usage
                    elif isinstance(ev, ErrorEvent):
                        final = ev.message
                        final.stop_reason = ev.stop_reason
                        error = ev.error
                        if not final.error_message:
                            final.error_message = ev.error.message
        finally:
            self.abort._scope = None
            with anyio.CancelScope(shield=True):
                try:
                    await gen.aclose()  # type: ignore[attr-defined]
                except Exception:
                    pass
        ended = time.monotonic()
        if scope.cancelled_caught or final is None:
            content: list[TextContent | ThinkingContent | ToolCall] = []
            if thinking:
                content.append(ThinkingContent(thinking="".join(thinking)))
            if texts:
                content.append(TextContent(text="".join(texts)))
            timed_out = not self.abort.aborted and scope.cancelled_caught
            if timed_out:
                error = self._timeout_error()
            elif not scope.cancelled_caught:
                from openclaw.errors import MalformedResponseError

                error = MalformedResponseError("The model stream ended without a result.")
            final = AssistantMessage(
                content=content,
                provider=spec.provider_id,
                model=spec.model_id,
                stop_reason="aborted" if self.abort.aborted else "error",
                error_message=(
                    "Interrupted by the user."
                    if self.abort.aborted
                    else (error.message if error else None)
                ),
            )
            self.turn_timed_out = timed_out
        if not final.provider:
            final.provider = spec.provider_id
        if not final.model:
            final.model = spec.model_id
        return _CallOutcome(final, error, produced, first, ended)

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

    # -- main
    async def run(self) -> TurnResult:
        opts = self.opts
        started = time.monotonic()
        user = UserMessage(content=opts.message)
        stored = self.stored = read_transcript(self.store.transcript_path(self.session.session_id))
        for w in stored.warnings:
            self.notice(w, "warn")
        history = sanitize_history(stored.messages())

        explicit = opts.model
        if explicit is None:
            entry = self.session.entry
            prov, mod = entry.get("providerOverride"), entry.get("modelOverride")
            if isinstance(mod, str) and mod:
                explicit = f"{prov}/{mod}" if isinstance(prov, str) and prov else mod
        if explicit:
            chain: list[str | None] = [explicit]
        else:
            from openclaw.models.catalog import default_model_ref, fallback_refs

            primary = default_model_ref(self.cfg, opts.agent_id)
            fallbacks = fallback_refs(self.cfg, opts.agent_id)
            chain = [primary, *[f for f in fallbacks if f != primary]]
        thinking = opts.thinking or self.session.entry.get("thinkingLevel")
        if thinking is not None and thinking not in THINKING_LEVELS:
            thinking = None

        last_error: OpenClawError | None = None
        for index, ref in enumerate(chain):
            is_last = index == len(chain) - 1
            label = ref or "(default model)"
            try:
                spec = self.resolve_spec(self.cfg, ref, opts.agent_id)
            except FALLBACK_TRIGGERS as exc:
                last_error = exc
                if explicit or is_last:
                    break
                self.result.attempts.append(FallbackAttempt(label, exc.message))
                self.notice(f"{label} is unavailable: {exc.message}", "warn")
                continue
            except ModelRefError as exc:
                if index == 0 or is_last:
                    last_error = exc
                    if index == 0:
                        break
                self.result.attempts.append(FallbackAttempt(label, exc.message))
                self.notice(f"Skipping fallback {label}: {exc.message}", "warn")
                continue
            self.add_secrets(spec)
            fallback_from = self.result.attempts[0].ref if self.result.attempts else None
            self.obs.on_model(spec, fallback_from)
            outcome = await self._run_with_model(
                spec, history, user, thinking, allow_fallback=not explicit and not is_last
            )
            if outcome == "fallback":
                last_error = self.result.error
                self.result.attempts.append(
                    FallbackAttempt(spec.key, last_error.message if last_error else "failed")
                )
                self.notice(
                    f"{spec.key} failed: {last_error.message if last_error else 'error'}"
                    " — trying the next fallback model.",
                    "warn",
                )
                self.result.error = None
                continue
            last_error = None
            break
        if last_error is None and self.result.error is not None:
            last_error = self.result.error
        if last_error is not None:
            self.result.error = _with_hint(last_error, explicit=bool(explicit), chain=chain)
            if self.result.stop_reason != "aborted":
                self.result.stop_reason = "error"
        elif self.result.fell_back and self.result.model:
            self.notice(
                f"Answered by fallback model {self.result.provider}/{self.result.model} "
                f"(primary {self.result.attempts[0].ref} failed).",
                "warn",
            )
        self.result.duration_ms = int((time.monotonic() - started) * 1000)
        if any(self.secrets):  # an answer echoing the key must not carry it into --json
            from openclaw.auth.redact import redact_text

            self.result.text = redact_text(self.result.text, self.secrets)
        # Rates over a few milliseconds (an instant server, a two-token answer) mean nothing.
        if self.gen_seconds >= 0.05 and self.result.usage.output:
            self.result.tokens_per_second = self.result.usage.output / self.gen_seconds
        if self.transcript is not None:
            u = self.result.usage
            self.store.record_turn(
                self.session.key,
                self.session.session_id,
                provider=self.result.provider,
                model=self.result.model,
                usage=self.result.usage_dict() if self.result.model_calls else None,
                fresh=u.source in ("reported", "timings"),
                context_tokens=self.result.context_tokens,
            )
        return self.result

    async def _run_with_model(
        self,
        spec: ModelSpec,
        history: list[Message],
        user: UserMessage,
        thinking: str | None,
        *,
        allow_fallback: bool,
    ) -> Literal["done", "fallback"]:
        res = self.result
        budget: Budget = compute_budget(spec)
        res.context_tokens = budget.context
        if budget.small:
            self.notice(
                f"{spec.key} has a small context ({budget.context:,} tokens); the budget is "
                f"{budget.available:,} tokens for the prompt and {budget.reserve:,} for the answer.",
                "warn",
            )
        tools_enabled = (
            self.opts.tools != "none" and self.registry is not None and len(self.registry) > 0
        )
        tools_off: str | None = None  # why, for the summary and the system prompt
        if self.opts.tools == "none":
            tools_off = "--tools none"
        elif spec.compat.get("supportsTools") is False:
            tools_enabled = False
            tools_off = f"{spec.key} has compat.supportsTools: false"
        res.tools_enabled = tools_enabled
        res.tools_note = f"tools off ({tools_off})" if tools_off else None
        registry = self.registry if tools_enabled else None
        tool_specs = registry.specs() if registry else []
        prompt = build_system_prompt(
            workspace=self.workspace,
            tools=registry.summaries() if registry else [],
            model_key=spec.key,
            tools_disabled_reason=tools_off,
            injection=Injection.from_config(self.cfg.data, self.cfg.paths.state_dir),
        )
        for w in prompt.warnings:
            self.notice(w, "warn")
        options = ChatOptions(thinking=thinking)
        max_chars = 8000
        if budget.available:
            max_chars = max(1000, min(8000, budget.available))  # ≈ a quarter of the budget
        tctx = ToolContext(workspace=self.workspace, max_result_chars=max_chars)

        current: list[Message] = [user]
        rounds = 0
        overflow_retry_used = False
        extra_drop = 0
        trimmed_notice_given = False
        calls_with_model = 0
        while True:
            try:
                fit = fit_history(
                    prompt.text,
                    history,
                    current,
                    tool_specs,
                    budget,
                    provider_id=spec.provider_id,
                    extra_drop=extra_drop,
                )
            except PromptTooLargeError as exc:
                res.error = exc
                res.stop_reason = "error"
                return "done"
            if fit.notices and not trimmed_notice_given:
                trimmed_notice_given = True
                for n in fit.notices:
                    self.notice(n, "warn")
            if not res.sent:
                self.write(user)
            res.sent = True
            context = Context(system_prompt=prompt.text, messages=fit.messages, tools=tool_specs)
            call_started = time.monotonic()
            outcome = await self._call(spec, context, options)
            res.model_calls += 1
            calls_with_model += 1
            msg = outcome.message
            if outcome.first_token_at is not None:
                if res.ttft_ms is None:
                    res.ttft_ms = int((outcome.first_token_at - call_started) * 1000)
                self.gen_seconds += max(outcome.ended_at - outcome.first_token_at, 0.0)
            err = outcome.error
            if (
                isinstance(err, ContextOverflowError)
                and not overflow_retry_used
                and not outcome.produced
            ):
                overflow_retry_used = True
                turns = len(split_turns(history))
                if turns:
                    res.model_calls -= 1
                    if err.available:
                        # The server knows its loaded context better than the config does, and
                        # its token count tells how far off our estimate was.
                        loaded = err.available
                        sent_est = estimate_prompt(
                            context.system_prompt, context.messages, tool_specs
                        )
                        # (capped: a tokenizer rarely needs 3x our characters/4 estimate)
                        ratio = min(3.0, max(1.0, (err.requested or sent_est) / max(sent_est, 1)))
                        reserve0 = min(budget.reserve or loaded // 4, loaded // 4)
                        reserve = loaded - int((loaded - reserve0) / ratio)
                        budget = Budget(spec.key, loaded, reserve, "loaded")
                        res.context_tokens = loaded
                    try:
                        trial = fit_history(
                            prompt.text, history, current, tool_specs, budget,
                            provider_id=spec.provider_id,
                        ) if budget.available is not None else None  # fmt: skip
                    except PromptTooLargeError:
                        trial = None  # the next attempt reports it
                    if trial is None or trial.dropped_turns == 0:
                        extra_drop = max(1, (turns + 1) // 2)
                    self.notice(
                        f"{spec.key} reported a context overflow"
                        + (f" (loaded context {err.available:,} tokens)" if err.available else "")
                        + "; dropping older history and retrying once.",
                        "warn",
                    )
                    trimmed_notice_given = False
                    continue
            if (
                err is not None
                and allow_fallback
                and calls_with_model == 1
                and not outcome.produced
                and not self.abort.aborted
                and not self.turn_timed_out
                and isinstance(err, FALLBACK_TRIGGERS)
            ):
                res.model_calls -= 1
                res.error = err
                return "fallback"
            self._fix_usage(msg, context)
            self._add_usage(msg.usage)
            res.provider, res.model = msg.provider or spec.provider_id, msg.model or spec.model_id
            self.write(msg)
            self.obs.on_message_end(msg)
            current.append(msg)
            if msg.text:
                res.text = msg.text
            res.stop_reason = msg.stop_reason
            if err is not None or msg.stop_reason in ("error", "aborted"):
                res.error = None if self.abort.aborted else err
                if res.error is not None and isinstance(res.error, ContextOverflowError):
                    res.error = _overflow_error(res.error, budget, spec)
                return "done"
            calls = msg.tool_calls
            if not calls:
                return "done"
            if rounds >= self.opts.max_tool_rounds:
                self.notice(
                    f"Stopped after {self.opts.max_tool_rounds} tool rounds; the model kept "
                    "calling tools.",
                    "warn",
                )
                return "done"
            rounds += 1
            for call in calls:
                res.tool_calls += 1
                self.obs.on_tool_call(call)
                if registry is None:
                    result = ToolResultMessage(
                        tool_call_id=call.id,
                        tool_name=call.name,
                        content=[TextContent(text="Tools are disabled for this conversation.")],
                        is_error=True,
                    )
                else:
                    with anyio.CancelScope(
                        deadline=self.deadline if self.deadline else float("inf")
                    ) as tscope:
                        self.abort._scope = tscope
                        result = await registry.execute(call, tctx)
                    self.abort._scope = None
                    if tscope.cancelled_caught:
                        result = ToolResultMessage(
                            tool_call_id=call.id,
                            tool_name=call.name,
                            content=[TextContent(text="Interrupted.")],
                            is_error=True,
                        )
                self.write(result)
                self.obs.on_tool_result(result)
                current.append(result)
                past_deadline = self.deadline is not None and time.monotonic() >= self.deadline
                if self.abort.aborted or past_deadline:
                    res.stop_reason = "aborted" if self.abort.aborted else "error"
                    if not self.abort.aborted:
                        res.error = self._timeout_error()
                    return "done"


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
