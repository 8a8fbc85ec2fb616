"""An honest token budget for small contexts.

The prompt is estimated (characters / 4, plus a few tokens of chat-template overhead per
message) against the model's context: ``contextTokens`` when configured, else
``contextWindow``, minus an output reserve (the smaller of the model's ``maxTokens`` and a
quarter of the context). History that does not fit is dropped oldest turn first; the system
prompt and the current turn always stay. When even that is too big the turn stops before
anything is sent.

The answer gets the model's ``maxTokens`` but never more than the context left after the
prompt (:meth:`Budget.answer_tokens`): sending the whole window as ``max_tokens`` lets a model
ramble until the context is full. The user is warned only when the prompt really leaves too
little room for an answer (:meth:`Budget.room_warning`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from openclaw.errors import ContextOverflowError, OpenClawError
from openclaw.llm.types import (
    AssistantMessage,
    Context,
    ImageContent,
    Message,
    ModelSpec,
    TextContent,
    ThinkingContent,
    ToolCall,
    ToolSpec,
    UserMessage,
)
from openclaw.llm.usage import estimate_tokens

#: Chat templates add role markers around every message; a small flat allowance per message.
PER_MESSAGE_OVERHEAD = 4
#: An image part, roughly (vision encoders vary widely).
IMAGE_TOKENS = 800
#: The reference refuses contexts below this (informational: :attr:`Budget.small`).
SMALL_CONTEXT = 16000
#: Warn when fewer tokens than this (or than the model's maxTokens, if smaller) are left for
#: the answer after the prompt.
MIN_ANSWER_ROOM = 1024


class PromptTooLargeError(ContextOverflowError):
    """The system prompt plus the current turn alone do not fit the model's context."""


def estimate_text(text: str) -> int:
    return estimate_tokens(len(text))


def estimate_message(msg: Message) -> int:
    total = PER_MESSAGE_OVERHEAD
    if isinstance(msg, UserMessage):
        if isinstance(msg.content, str):
            return total + estimate_text(msg.content)
        for part in msg.content:
            total += IMAGE_TOKENS if isinstance(part, ImageContent) else estimate_text(part.text)
        return total
    if isinstance(msg, AssistantMessage):
        for p in msg.content:
            if isinstance(p, TextContent):
                total += estimate_text(p.text)
            elif isinstance(p, ToolCall):
                total += estimate_text(p.name + json.dumps(p.arguments, ensure_ascii=False)) + 8
            elif isinstance(p, ThinkingContent):
                # Prior reasoning is not replayed by the protocol layer.
                continue
        return total
    for part in msg.content:
        total += IMAGE_TOKENS if isinstance(part, ImageContent) else estimate_text(part.text)
    return total


def tool_schema_chars(tools: Sequence[ToolSpec]) -> int:
    return sum(
        len(
            json.dumps(
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                },
                ensure_ascii=False,
            )
        )
        for t in tools
    )


def estimate_tools(tools: Sequence[ToolSpec]) -> int:
    return estimate_tokens(tool_schema_chars(tools))


def estimate_prompt(
    system: str | None, messages: Sequence[Message], tools: Sequence[ToolSpec]
) -> int:
    total = estimate_tools(tools)
    if system:
        total += PER_MESSAGE_OVERHEAD + estimate_text(system)
    return total + sum(estimate_message(m) for m in messages)


@dataclass(frozen=True)
class Budget:
    model_key: str
    context: int | None  # None: unknown, no trimming
    reserve: int
    context_field: str  # "contextTokens" | "contextWindow" | "loaded" | "unknown"
    max_tokens: int | None = None  # the model's configured maxTokens
    scale: float = 1.0  # real tokens per estimated token, once a server has told us

    @property
    def available(self) -> int | None:
        return None if self.context is None else max(self.context - self.reserve, 0)

    @property
    def small(self) -> bool:
        return self.context is not None and self.context < SMALL_CONTEXT

    def answer_room(self, prompt_tokens: int) -> int | None:
        """Tokens of context left after a prompt of about ``prompt_tokens`` (estimated)."""
        if self.context is None:
            return None
        return self.context - int(prompt_tokens * self.scale)

    def answer_tokens(self, prompt_tokens: int) -> int | None:
        """``max_tokens`` for the request: maxTokens capped by the room the prompt leaves."""
        room = self.answer_room(prompt_tokens)
        if room is None:
            return self.max_tokens
        room = max(room, 1)
        return min(self.max_tokens, room) if self.max_tokens else room

    def room_warning(self, prompt_tokens: int) -> str | None:
        room = self.answer_room(prompt_tokens)
        wanted = min(self.max_tokens or MIN_ANSWER_ROOM, MIN_ANSWER_ROOM)
        if room is None or self.context is None or room >= wanted:
            return None
        return (
            f"The prompt takes about {self.context - room:,} of {self.model_key}'s "
            f"{self.context:,} context tokens, leaving only {max(room, 0):,} for the answer; "
            "it may be cut short."
        )


def compute_budget(spec: ModelSpec) -> Budget:
    context = spec.context_tokens
    field_name = "unknown"
    if context is not None:
        field_name = "contextTokens" if spec.model.context_tokens == context else "contextWindow"
    max_tokens = spec.max_tokens
    if context is None:
        return Budget(spec.key, None, 0, field_name, max_tokens)
    quarter = context // 4
    reserve = min(max_tokens, quarter) if max_tokens else quarter
    return Budget(spec.key, context, reserve, field_name, max_tokens)


def split_turns(messages: Sequence[Message]) -> list[list[Message]]:
    """Group history into turns, each starting at a user message."""
    turns: list[list[Message]] = []
    for msg in messages:
        if isinstance(msg, UserMessage) or not turns:
            turns.append([msg])
        else:
            turns[-1].append(msg)
    return turns


@dataclass
class Fit:
    messages: list[Message]
    estimated: int
    dropped_turns: int = 0
    dropped_messages: int = 0
    notices: list[str] = field(default_factory=list)


def _too_large(budget: Budget, needed: int, provider_id: str) -> PromptTooLargeError:
    assert budget.context is not None
    return PromptTooLargeError(
        f"The prompt needs about {needed:,} tokens but {budget.model_key} has a "
        f"{budget.context:,}-token context ({budget.available:,} after reserving "
        f"{budget.reserve:,} for the answer).",
        requested=needed,
        available=budget.available,
        hint=(
            "Send less text, or load the model with a larger context and set "
            f"contextTokens for it in models.providers.{provider_id}.models[] "
            "(LM Studio: `lms load <model> --context-length 32768`; llama-server: -c 32768)."
        ),
    )


def fit_history(
    system: str | None,
    history: Sequence[Message],
    current: Sequence[Message],
    tools: Sequence[ToolSpec],
    budget: Budget,
    *,
    provider_id: str = "<provider>",
    extra_drop: int = 0,
) -> Fit:
    """Drop the oldest history turns until system + history + current fit ``budget``.

    ``extra_drop`` forces dropping that many more turns (used after the server itself reported
    a context overflow, since our estimate was evidently too low).
    """
    base = estimate_prompt(system, current, tools)
    turns = split_turns(history)
    sizes = [sum(estimate_message(m) for m in turn) for turn in turns]
    available = budget.available
    if available is not None and base > available:
        raise _too_large(budget, base, provider_id)
    keep_from = 0
    total = base + sum(sizes)
    if available is not None:
        while keep_from < len(turns) and total > available:
            total -= sizes[keep_from]
            keep_from += 1
    keep_from = min(len(turns), keep_from + extra_drop)
    total = base + sum(sizes[keep_from:])
    kept = [m for turn in turns[keep_from:] for m in turn]
    fit = Fit(kept + list(current), total)
    if keep_from:
        fit.dropped_turns = keep_from
        fit.dropped_messages = sum(len(t) for t in turns[:keep_from])
        ctx = f"{budget.context:,}-token context" if budget.context else "context"
        fit.notices.append(
            f"History trimmed: dropped the {keep_from} oldest turn(s) "
            f"({fit.dropped_messages} messages) to fit {budget.model_key}'s {ctx}."
        )
    return fit


def budget_from_server(budget: Budget, err: ContextOverflowError, context: Context) -> Budget:
    """The budget after an overflow: the server's loaded context, and our estimate scaled by
    how far off it was (capped: a tokenizer rarely needs 3x our characters/4 estimate)."""
    loaded = err.available or 0
    sent_est = estimate_prompt(context.system_prompt, context.messages, context.tools)
    ratio = min(3.0, max(1.0, (err.requested or sent_est) / max(sent_est, 1)))
    reserve0 = min(budget.reserve or loaded // 4, loaded // 4)
    reserve = loaded - int((loaded - reserve0) / ratio)
    return replace(budget, context=loaded, reserve=reserve, context_field="loaded", scale=ratio)


def overflow_error(err: ContextOverflowError, budget: Budget, spec: ModelSpec) -> OpenClawError:
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
