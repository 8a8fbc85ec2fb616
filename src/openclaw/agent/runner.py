"""One agent turn: resolve the model, fit the prompt, stream, run tools, fall back, record.

``run_turn`` is the library entry point the CLI (one-shot and chat) is built on. It never prints:
everything the user should see goes through a :class:`TurnObserver`, and the outcome comes back
as a :class:`TurnResult` (errors included, so the transcript and summary can still be written).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import anyio

from openclaw.agent.budget import (
    Budget,
    Fit,
    PromptTooLargeError,
    budget_from_server,
    compute_budget,
    fit_history,
    overflow_error,
    split_turns,
)
from openclaw.agent.call import (
    CallOutcome,
    StreamFn,
    add_usage,
    default_stream,
    fix_usage,
    stream_call,
)
from openclaw.agent.fallback import with_fallback_hint
from openclaw.agent.history import sanitize_history as sanitize_history
from openclaw.agent.prompt import Injection, build_system_prompt
from openclaw.agent.sessions import SessionRef, SessionStore, validate_id
from openclaw.agent.tools import ToolContext, ToolRegistry, default_registry, tool_error_result
from openclaw.agent.transcript import Transcript, TranscriptData, read_transcript
from openclaw.agent.turn_types import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from openclaw.agent.turn_types import MAX_TOOL_ROUNDS as MAX_TOOL_ROUNDS
from openclaw.agent.turn_types import (
    AbortHandle,
    FallbackAttempt,
    TurnObserver,
    TurnOptions,
    TurnResult,
)
from openclaw.agent.workspace import workspace_dir
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
    Message,
    ModelSpec,
    ToolCall,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig

SpecResolver = Callable[["LoadedConfig", str | None, str], ModelSpec]


def _default_resolver(cfg: LoadedConfig, ref: str | None, agent_id: str) -> ModelSpec:
    from openclaw.providers.runtime import resolve_model_spec

    return resolve_model_spec(cfg, ref, agent_id=agent_id)


# -- the turn ----------------------------------------------------------------------------------
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
            res.error = with_fallback_hint(last_error, explicit=bool(explicit), chain=chain)
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
            injection=Injection.from_config(self.cfg.data, self.cfg.paths.state_dir),
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

    async def _stream(self, run: _ModelRun, context: Context) -> CallOutcome:
        res = self.result
        call_started = time.monotonic()
        outcome = await stream_call(
            self.stream_fn,
            run.spec,
            context,
            run.options,
            deadline=self.deadline,
            abort=self.abort,
            observer=self.obs,
            timeout_error=self._timeout_error,
        )
        if outcome.timed_out:
            self.turn_timed_out = True
        res.model_calls += 1
        run.calls += 1
        if outcome.first_token_at is not None:
            if res.ttft_ms is None:
                res.ttft_ms = int((outcome.first_token_at - call_started) * 1000)
            self.gen_seconds += max(outcome.ended_at - outcome.first_token_at, 0.0)
        return outcome

    def _retry_after_overflow(
        self, run: _ModelRun, history: list[Message], context: Context, outcome: CallOutcome
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
            run.budget = budget_from_server(run.budget, err, context)
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

    def _should_fall_back(self, run: _ModelRun, outcome: CallOutcome) -> bool:
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
        self, run: _ModelRun, context: Context, outcome: CallOutcome
    ) -> AssistantMessage:
        res, msg = self.result, outcome.message
        fix_usage(msg, context)
        add_usage(res.usage, msg.usage, first=res.model_calls == 1)
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
                res.error = overflow_error(res.error, run.budget, run.spec)
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
            return tool_error_result(call, "Tools are disabled for this conversation.")
        with anyio.CancelScope(deadline=self.deadline if self.deadline else float("inf")) as scope:
            self.abort._scope = scope
            result = await run.registry.execute(call, run.tools)
        self.abort._scope = None
        if scope.cancelled_caught:
            return tool_error_result(call, "Interrupted.")
        return result


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
        stream_fn or default_stream,
        resolve_spec or _default_resolver,
        store,
        session,
    )
    return await turn.run()
