"""Making a stored conversation safe to send again."""

from __future__ import annotations

from openclaw.llm.types import (
    AssistantMessage,
    Message,
    TextContent,
    ToolCall,
    ToolResultMessage,
    UserMessage,
)


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
