"""``openclaw agent``: one turn with -m (or piped stdin), an interactive chat on a TTY.

Turns always run in this process (there is no gateway; ``--local`` is accepted for
compatibility). Output streams as it arrives: plain text when piped (stdout is only the answer;
notices, tool lines and the summary go to stderr), Markdown via rich on a terminal.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from openclaw.cli.agent_render import (
    PlainRenderer,
    RichRenderer,
    WaitWatch,
    isatty,
    result_json,
    summary_line,
    worth_a_summary,
)
from openclaw.errors import OpenClawError, UsageError
from openclaw.llm.types import THINKING_LEVELS
from openclaw.textsafe import json_text, visible

if TYPE_CHECKING:
    from openclaw.agent.chat import ChatSession
    from openclaw.agent.runner import TurnObserver, TurnOptions, TurnResult
    from openclaw.agent.tools import ToolRegistry
    from openclaw.config.loader import LoadedConfig

EXIT_INTERRUPTED = 130


def _run_one(
    cfg: LoadedConfig,
    opts: TurnOptions,
    renderer: PlainRenderer,
    registry: ToolRegistry | None = None,
) -> TurnResult:
    """One turn on a fresh event loop; SIGINT aborts the stream instead of killing us."""
    import signal

    import anyio

    from openclaw.agent.runner import AbortHandle, run_turn

    abort = AbortHandle()
    observer: TurnObserver = renderer

    async def main() -> TurnResult:
        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGINT) as signals:
                async for _ in signals:
                    abort.abort()

        failure: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            try:
                result = await run_turn(
                    cfg, opts, registry=registry, observer=observer, abort=abort
                )
            except Exception as exc:  # re-raised below, not wrapped in an ExceptionGroup
                failure = exc
            finally:
                tg.cancel_scope.cancel()
        if failure is not None:
            raise failure
        return result

    from openclaw.providers.progress import load_progress

    try:
        # A model load can take minutes, and so can a silent server: both show progress.
        with load_progress() as progress:
            observer = WaitWatch(renderer, progress)
            return anyio.run(main)
    finally:
        renderer.close()


def _load_config() -> LoadedConfig:
    from openclaw.config.loader import load_config

    cfg = load_config()
    for w in cfg.warnings:
        click.echo(f"Warning: {w}", err=True)
    return cfg


def _parse_timeout(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(
            f"--timeout must be a number of seconds, not {text!r}", hint="e.g. --timeout 120"
        ) from None
    if not value > 0 or value != value or value == float("inf"):
        raise UsageError(
            "--timeout must be a positive number of seconds", hint="e.g. --timeout 120"
        )
    return value


def _validate(thinking: str | None, tools: str) -> None:
    if thinking is not None and thinking not in THINKING_LEVELS:
        raise UsageError(
            f"Unknown thinking level {thinking!r}",
            hint="Use one of: " + ", ".join(THINKING_LEVELS) + ".",
        )
    if tools not in ("none", "default"):
        raise UsageError(f"Unknown tool set {tools!r}", hint="Use --tools default or --tools none.")


def _read_message(message: str | None, as_json: bool) -> str | None:
    """-m, else piped stdin; None means the interactive chat."""
    if message is None and not isatty(sys.stdin):
        message = sys.stdin.read()
        if not message.strip():
            raise UsageError("No message: stdin was empty.", hint='Use -m "your message".')
    if message is not None and not message.strip():
        raise UsageError("The message is empty.", hint='Use -m "your message".')
    if message is None and as_json:
        raise UsageError(
            "--json needs a message: the interactive chat has no JSON output.",
            hint='Use -m "your message" --json, or pipe the message on stdin.',
        )
    return message


@click.command("agent")
@click.option("-m", "--message", help="Run one turn with this message and exit.")
@click.option("--model", "model_ref", metavar="REF", help="Model to use (never falls back).")
@click.option("--thinking", metavar="LEVEL", help="off|minimal|low|medium|high|xhigh|adaptive|max")
@click.option("--session-id", metavar="ID", help="Continue (or start) the session with this id.")
@click.option("--session-key", metavar="KEY", help="Session key (default agent:<agent>:main).")
@click.option("--new", "new_session", is_flag=True, help="Start a fresh session under the key.")
@click.option("--timeout", "timeout_text", metavar="SECONDS", help="Cap for the whole turn (600).")
@click.option("--tools", "tools_mode", default="default", metavar="none|default", help="Tool set.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--local", is_flag=True, help="Accepted for compatibility; turns always run here.")
@click.option("--hide-thinking", is_flag=True, help="Do not show the model's reasoning.")
@click.option("--agent", "agent_id", default="main", metavar="ID", help="Agent id (default main).")
def agent(
    message: str | None,
    model_ref: str | None,
    thinking: str | None,
    session_id: str | None,
    session_key: str | None,
    new_session: bool,
    timeout_text: str | None,
    tools_mode: str,
    as_json: bool,
    local: bool,
    hide_thinking: bool,
    agent_id: str,
) -> int:
    """Talk to the default model: one turn with -m, a chat on a terminal."""
    from openclaw.agent.chat import configured_timeout
    from openclaw.agent.runner import DEFAULT_TIMEOUT, TurnOptions
    from openclaw.agent.sessions import validate_id

    timeout = _parse_timeout(timeout_text)
    _validate(thinking, tools_mode)
    validate_id(agent_id, "agent id")
    if session_id is not None:
        validate_id(session_id, "session id")
    message = _read_message(message, as_json)
    show_thinking = not hide_thinking and thinking != "off"
    cfg = _load_config()
    opts = TurnOptions(
        message=message or "",
        agent_id=agent_id,
        model=model_ref,
        thinking=thinking,
        session_key=session_key,
        session_id=session_id,
        new_session=new_session,
        timeout=timeout or configured_timeout(cfg) or DEFAULT_TIMEOUT,
        tools="none" if tools_mode == "none" else "default",
    )
    if message is None:
        return chat_loop(cfg, opts, show_thinking=show_thinking)

    tty = isatty(sys.stdout) and not as_json
    renderer: PlainRenderer = (
        RichRenderer(show_thinking=show_thinking)
        if tty
        else PlainRenderer(show_thinking=show_thinking, quiet=as_json)
    )
    result = _run_one(cfg, opts, renderer)
    if as_json:
        if result.sent or result.error is None:
            click.echo(json_text(result_json(result)))
    elif worth_a_summary(result):
        renderer.summary(summary_line(result))
    if result.aborted:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    if result.error is not None:
        raise result.error
    return 0


# -- chat ----------------------------------------------------------------------------------------
CHAT_HELP = """Commands:
  /new            start a fresh session
  /model [REF]    show or switch the model for this session (/model default clears it)
  /think [LEVEL]  show or set the thinking level (off|minimal|low|medium|high|xhigh|adaptive|max)
  /usage          token totals of this session
  /exit           leave (also Ctrl-D)"""


def chat_loop(cfg: LoadedConfig, opts: TurnOptions, *, show_thinking: bool) -> int:
    from openclaw.agent.chat import ChatSession

    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    chat = ChatSession(cfg, opts)
    renderer = RichRenderer(show_thinking=show_thinking)
    out = renderer.console
    out.print(
        f"openclaw chat · session {chat.session_id} · model "
        f"{opts.model or chat.default_model() or '(none configured)'}"
        " · /help for commands, /exit to leave",
        style="dim",
        markup=False,
    )
    interrupted_at_prompt = False
    while True:
        try:
            line = input("› ")
        except EOFError:
            out.print()
            return 0
        except KeyboardInterrupt:
            out.print()
            if interrupted_at_prompt:
                return 0
            interrupted_at_prompt = True
            out.print("(Ctrl-C again, Ctrl-D or /exit to leave)", style="dim", markup=False)
            continue
        interrupted_at_prompt = False
        text = line.strip()
        if not text:
            continue
        if text.startswith("/"):
            if _chat_command(chat, text, out) == "exit":
                return 0
            continue
        _chat_turn(cfg, chat, line, renderer)


def _chat_turn(cfg: LoadedConfig, chat: ChatSession, line: str, renderer: RichRenderer) -> None:
    try:
        result = _run_one(cfg, chat.options_for(line), renderer)
    except OpenClawError as exc:
        _print_error(exc)
        return
    chat.finished(result)
    if worth_a_summary(result):
        renderer.summary(summary_line(result))
    if result.error is not None:
        _print_error(result.error)


def _chat_command(chat: ChatSession, text: str, out: Any) -> str | None:
    """One slash command; "exit" when the chat should end."""
    cmd, _, arg = text.partition(" ")
    arg = arg.strip()
    if cmd in ("/exit", "/quit", "/q"):
        return "exit"
    if cmd == "/help":
        out.print(CHAT_HELP, markup=False)
    elif cmd == "/new":
        out.print(f"New session {chat.new_session()}.", style="dim", markup=False)
    elif cmd == "/model":
        _chat_model(chat, arg, out)
    elif cmd == "/think":
        _chat_think(chat, arg, out)
    elif cmd == "/usage":
        _chat_usage(chat, out)
    else:
        out.print(f"Unknown command {cmd}. /help lists the commands.", markup=False)
    return None


def _print_error(exc: OpenClawError) -> None:
    click.echo(f"Error: {visible(exc.message)}", err=True)
    if exc.hint:
        click.echo(f"Hint: {visible(exc.hint)}", err=True)


def _chat_model(chat: ChatSession, arg: str, out: Any) -> None:
    if not arg:
        out.print(f"Model: {chat.current_model() or '(none configured)'}", markup=False)
    elif arg == "default":
        chat.clear_model()
        out.print("Model override cleared; using the default (with fallbacks).", markup=False)
    else:
        try:
            key = chat.set_model(arg)
        except OpenClawError as exc:
            _print_error(exc)
            return
        out.print(f"Model set to {key} for this session.", markup=False)


def _chat_think(chat: ChatSession, arg: str, out: Any) -> None:
    if not arg:
        out.print(f"Thinking: {chat.thinking() or 'model default'}", markup=False)
    elif chat.set_thinking(arg):
        out.print(f"Thinking level: {arg}", markup=False)
    else:
        out.print("Use one of: " + ", ".join(THINKING_LEVELS), markup=False)


def _chat_usage(chat: ChatSession, out: Any) -> None:
    u = chat.usage()
    out.print(
        f"Session: {u.input:,} in / {u.output:,} out / {u.cache_read:,} cached / "
        f"{u.total:,} total tokens",
        markup=False,
    )
    if chat.last is not None:
        out.print("Last turn: " + summary_line(chat.last), markup=False)


__all__ = ["agent", "result_json", "summary_line"]
