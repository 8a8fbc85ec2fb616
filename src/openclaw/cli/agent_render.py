"""How ``openclaw agent`` shows a turn: plain text when piped (stdout is only the answer;
notices, tool lines and the summary go to stderr), Markdown via rich on a terminal; the summary
line and the ``--json`` result. Server and model text is printed with control characters made
visible."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal, TextIO

from openclaw.agent.runner import TurnObserver
from openclaw.textsafe import visible

if TYPE_CHECKING:
    from openclaw.agent.runner import TurnResult
    from openclaw.llm.types import AssistantMessage, ModelSpec, ToolCall, ToolResultMessage


def isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# -- rendering -----------------------------------------------------------------------------------
class PlainRenderer(TurnObserver):
    """Piped output: answer text to stdout as it arrives, everything else to stderr."""

    def __init__(self, *, show_thinking: bool, quiet: bool = False) -> None:
        self.show_thinking = show_thinking
        self.quiet = quiet  # --json: nothing streamed, notices still on stderr
        self.out = sys.stdout
        self.err = sys.stderr
        self._text_open = False
        self._thinking_open = False
        self._seen_notices: set[str] = set()

    def seen(self, text: str) -> bool:
        """A chat repeats the same warnings every turn; show each one once."""
        if text in self._seen_notices:
            return True
        self._seen_notices.add(text)
        return False

    def _end_thinking(self) -> None:
        if self._thinking_open:
            self.err.write("\n")
            self.err.flush()
            self._thinking_open = False

    def on_notice(self, text: str, level: Literal["info", "warn"] = "info") -> None:
        if self.seen(text):
            return
        self._finish_text()
        self._end_thinking()
        prefix = "Warning: " if level == "warn" else ""
        self.err.write(f"{prefix}{visible(text)}\n")
        self.err.flush()

    def on_model(self, spec: ModelSpec, fallback_from: str | None) -> None:
        if fallback_from and not self.quiet:
            self.err.write(f"Trying fallback model {visible(spec.key)}…\n")
            self.err.flush()

    def on_text(self, delta: str) -> None:
        if self.quiet or not delta:
            return
        self._end_thinking()
        self.out.write(visible(delta))
        self.out.flush()
        self._text_open = not delta.endswith("\n")

    def on_thinking(self, delta: str) -> None:
        if self.quiet or not self.show_thinking or not delta:
            return
        if not self._thinking_open:
            self.err.write("[thinking] ")
            self._thinking_open = True
        self.err.write(visible(delta))
        self.err.flush()

    def _finish_text(self) -> None:
        if self._text_open:
            self.out.write("\n")
            self.out.flush()
            self._text_open = False

    def on_message_end(self, message: AssistantMessage) -> None:
        self._end_thinking()
        self._finish_text()

    def on_tool_call(self, call: ToolCall) -> None:
        if self.quiet:
            return
        from openclaw.agent.tools import describe_call

        self.err.write(f"→ {visible(describe_call(call))}\n")
        self.err.flush()

    def on_tool_result(self, result: ToolResultMessage) -> None:
        if self.quiet or not result.is_error:
            return
        text = "".join(getattr(p, "text", "") for p in result.content).strip()
        first = text.splitlines()[0] if text else "error"
        self.err.write(f"  ✗ {visible(first[:200])}\n")
        self.err.flush()

    def summary(self, line: str) -> None:
        self.err.write(visible(line) + "\n")
        self.err.flush()

    def close(self) -> None:
        self._end_thinking()
        self._finish_text()


class RichRenderer(PlainRenderer):
    """Terminal output: Markdown rendered live, thinking dimmed, tool calls as one line."""

    def __init__(self, *, show_thinking: bool) -> None:
        super().__init__(show_thinking=show_thinking)
        import os

        from rich.console import Console

        # NO_COLOR turns colour off, not streaming: the console stays a terminal.
        no_color = bool(os.environ.get("NO_COLOR"))
        self.console = Console(file=sys.stdout, no_color=no_color, highlight=False, soft_wrap=True)
        self.err_console = Console(
            file=sys.stderr, no_color=no_color, highlight=False, soft_wrap=True
        )
        # Live Markdown needs cursor control; a dumb terminal gets plain streamed text.
        self.live_ok = self.console.is_terminal and not self.console.is_dumb_terminal
        self._buffer = ""
        self._live: Any = None

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
            self._buffer = ""

    def on_notice(self, text: str, level: Literal["info", "warn"] = "info") -> None:
        if self.seen(text):
            return
        self._stop_live()
        self._end_thinking()
        self._finish_text()
        style = "yellow" if level == "warn" else "dim"
        prefix = "Warning: " if level == "warn" else ""
        self.err_console.print(f"{prefix}{visible(text)}", style=style, markup=False)

    def on_model(self, spec: ModelSpec, fallback_from: str | None) -> None:
        if fallback_from:
            self.err_console.print(
                f"Trying fallback model {visible(spec.key)}…", style="yellow", markup=False
            )

    def _end_thinking(self) -> None:
        if self._thinking_open:
            self.console.print()
            self._thinking_open = False

    def on_thinking(self, delta: str) -> None:
        if not self.show_thinking or not delta or self._live is not None:
            return
        self._thinking_open = True
        self.console.print(
            visible(delta), style="dim italic", end="", markup=False, highlight=False
        )

    def on_text(self, delta: str) -> None:
        if not delta:
            return
        if not self.live_ok:
            self._end_thinking()
            self.console.file.write(visible(delta))
            self.console.file.flush()
            self._text_open = not delta.endswith("\n")
            return
        from rich.live import Live
        from rich.markdown import Markdown

        self._end_thinking()
        self._buffer += visible(delta)
        if self._live is None:
            self._live = Live(
                Markdown(self._buffer),
                console=self.console,
                refresh_per_second=12,
                vertical_overflow="visible",
            )
            self._live.start()
        else:
            self._live.update(Markdown(self._buffer))

    def on_message_end(self, message: AssistantMessage) -> None:
        self._end_thinking()
        self._stop_live()
        self._finish_text()

    def _finish_text(self) -> None:
        if self._text_open:
            self.console.file.write("\n")
            self.console.file.flush()
            self._text_open = False

    def on_tool_call(self, call: ToolCall) -> None:
        from openclaw.agent.tools import describe_call

        self._stop_live()
        self._end_thinking()
        self._finish_text()
        self.console.print(f"→ {visible(describe_call(call))}", style="cyan", markup=False)

    def on_tool_result(self, result: ToolResultMessage) -> None:
        if not result.is_error:
            return
        text = "".join(getattr(p, "text", "") for p in result.content).strip()
        first = text.splitlines()[0] if text else "error"
        self.console.print(f"  ✗ {visible(first[:200])}", style="red", markup=False)

    def summary(self, line: str) -> None:
        self.console.print(visible(line), style="dim", markup=False)

    def close(self) -> None:
        self._stop_live()
        self._end_thinking()
        self._finish_text()


class WaitWatch(TurnObserver):
    """Passes every callback to ``inner`` and tells ``progress`` when a request goes out (a
    model is tried, a tool result is sent back) and when its first output arrives, so a silent
    server shows "Waiting for X to answer… Ns" instead of nothing."""

    def __init__(self, inner: TurnObserver, progress: Any) -> None:
        self.inner = inner
        self.progress = progress
        self.awaited = ""

    def on_model(self, spec: ModelSpec, fallback_from: str | None) -> None:
        self.inner.on_model(spec, fallback_from)
        self.awaited = spec.key
        self.progress.expect_output(self.awaited)

    def on_tool_result(self, result: ToolResultMessage) -> None:
        self.inner.on_tool_result(result)
        self.progress.expect_output(self.awaited)

    def on_notice(self, text: str, level: Literal["info", "warn"] = "info") -> None:
        self.progress.output_seen()
        self.inner.on_notice(text, level)

    def on_text(self, delta: str) -> None:
        self.progress.output_seen()
        self.inner.on_text(delta)

    def on_thinking(self, delta: str) -> None:
        self.progress.output_seen()
        self.inner.on_thinking(delta)

    def on_message_end(self, message: AssistantMessage) -> None:
        self.progress.output_seen()
        self.inner.on_message_end(message)

    def on_tool_call(self, call: ToolCall) -> None:
        self.progress.output_seen()
        self.inner.on_tool_call(call)


# -- formatting ---------------------------------------------------------------------------------
def summary_line(result: TurnResult) -> str:
    u = result.usage
    model = f"{result.provider}/{result.model}" if result.model else "no model"
    parts = [model]
    if result.fell_back:
        parts[0] += f" (fallback for {result.attempts[0].ref})"
    source = {"reported": "reported", "timings": "timings", "estimated": "estimated"}.get(
        u.source, "unknown"
    )
    parts.append(f"{u.input:,} in / {u.output:,} out / {u.cache_read:,} cached tokens ({source})")
    if result.ttft_ms is not None:
        parts.append(f"first token {result.ttft_ms / 1000:.2f} s")
    if result.tokens_per_second:
        parts.append(f"{result.tokens_per_second:.1f} tok/s")
    parts.append(f"{result.duration_ms / 1000:.2f} s")
    if result.tool_calls:
        parts.append(f"{result.tool_calls} tool call(s)")
    if result.tools_note:
        parts.append(result.tools_note)
    if result.aborted:
        parts.append("interrupted")
    return " · ".join(parts)


def worth_a_summary(result: TurnResult) -> bool:
    """A failed call that produced nothing gets the error only, not a line of zeros."""
    if not result.sent:
        return False
    return result.error is None or result.aborted or bool(result.usage.output or result.text)


def result_json(result: TurnResult) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "durationMs": result.duration_ms,
        "agentMeta": {
            "sessionId": result.session_id,
            "sessionKey": result.session_key,
            "provider": result.provider,
            "model": result.model,
            "usage": result.usage_dict(),
            "stopReason": result.stop_reason,
            "contextTokens": result.context_tokens,
            "ttftMs": result.ttft_ms,
            "tokensPerSecond": (
                round(result.tokens_per_second, 2) if result.tokens_per_second else None
            ),
            "toolCalls": result.tool_calls,
            "toolsEnabled": result.tools_enabled,
        },
    }
    if result.attempts:
        meta["fallbacks"] = [{"model": a.ref, "error": a.error} for a in result.attempts]
    if result.notices:
        meta["notices"] = list(result.notices)
    if result.error is not None:
        meta["error"] = {"message": result.error.message, "hint": result.error.hint}
    return {"payloads": [{"text": result.text}], "meta": meta}


# -- running ---------------------------------------------------------------------------------
