"""``openclaw sessions list|show``: the session index and transcripts of one agent."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from openclaw.cli.common import echo_safe
from openclaw.errors import ConfigError, UsageError


def _store(agent_id: str) -> Any:
    from openclaw.agent.sessions import SessionStore, validate_id
    from openclaw.config.paths import resolve_paths

    validate_id(agent_id, "agent id")
    return SessionStore(resolve_paths().sessions_dir(agent_id))


def _is_valid_id(value: str) -> bool:
    from openclaw.agent.sessions import validate_id

    try:
        validate_id(value, "session id")
    except UsageError:
        return False
    return True


def _when(ms: Any) -> str:
    if not isinstance(ms, int | float):
        return "-"
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def _emit_json(data: Any) -> None:
    from openclaw.cli.common import echo_json

    echo_json(data)


@click.group("sessions")
def sessions() -> None:
    """List and show saved sessions."""


@sessions.command("list")
@click.option("--agent", "agent_id", default="main", metavar="ID", help="Agent id (default main).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_cmd(agent_id: str, as_json: bool) -> None:
    """Sessions of an agent, most recent first."""
    store = _store(agent_id)
    index = store.load()
    rows = sorted(index.items(), key=lambda kv: kv[1].get("updatedAt") or 0, reverse=True)
    if as_json:
        _emit_json(
            {
                "path": str(store.index_path),
                "count": len(rows),
                "sessions": [{"key": k, **v} for k, v in rows],
            }
        )
        return
    if not rows:
        click.echo('No sessions yet. Start one with: openclaw agent -m "hi"')
        archive = store.dir.parent / "session-sqlite-import-archive"
        if archive.is_dir():  # the TypeScript OpenClaw's doctor --fix moved them there
            click.echo(
                f"Earlier sessions were imported by the TypeScript OpenClaw; the files are in {archive}"
            )
        return
    for key, entry in rows:
        model = entry.get("model")
        prov = entry.get("modelProvider")
        model_text = f"{prov}/{model}" if prov and model else (model or "-")
        total = entry.get("totalTokens")
        echo_safe(
            f"{entry.get('sessionId', '?')}  {_when(entry.get('updatedAt'))}  {key}  "
            f"{model_text}  {total if isinstance(total, int) else '?'} tokens"
        )


@sessions.command("show")
@click.argument("session", metavar="ID")
@click.option("--agent", "agent_id", default="main", metavar="ID", help="Agent id (default main).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_cmd(session: str, agent_id: str, as_json: bool) -> None:
    """Print one transcript (ID is a session id or a session key)."""
    from openclaw.agent.sessions import validate_id
    from openclaw.agent.transcript import read_transcript

    store = _store(agent_id)
    try:
        entry = store.get(session)
    except ConfigError as exc:
        # A corrupt index must not hide the transcripts: an id still finds its file.
        if not _is_valid_id(session):
            raise
        click.echo(f"Warning: {exc.message}", err=True)
        entry = None
    session_id = entry.get("sessionId") if entry else session
    if not isinstance(session_id, str):
        raise UsageError(f"Session {session!r} has no transcript id.")
    validate_id(session_id, "session id")
    path = store.transcript_path(session_id)
    if not path.exists():
        raise UsageError(
            f"No transcript for session {session!r}",
            hint="List sessions with: openclaw sessions list",
        )
    data = read_transcript(path)
    for w in data.warnings:
        click.echo(f"Warning: {w}", err=True)
    if as_json:
        _emit_json({"header": data.header, "entries": data.entries})
        return
    if data.header:
        click.echo(f"session {data.header.get('id')}  started {data.header.get('timestamp')}")
    for entry_obj in data.entries:
        msg = entry_obj.get("message")
        if entry_obj.get("type") != "message" or not isinstance(msg, dict):
            continue
        echo_safe(_format_message(msg))


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    out: list[str] = []
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text":
                out.append(str(part.get("text", "")))
            elif part.get("type") == "toolCall":
                args = json.dumps(part.get("arguments", {}), ensure_ascii=False)
                out.append(f"→ {part.get('name')} {args}")
            elif part.get("type") == "image":
                out.append("[image]")
    return "\n".join(out)


def _format_message(msg: dict[str, Any]) -> str:
    role = msg.get("role")
    text = _text_of(msg.get("content"))
    if role == "user":
        return f"\nuser: {text}"
    if role == "assistant":
        usage = msg.get("usage") if isinstance(msg.get("usage"), dict) else {}
        tail = f"[{msg.get('provider')}/{msg.get('model')} · {msg.get('stopReason')}"
        if usage:
            tail += f" · {usage.get('input', 0)} in / {usage.get('output', 0)} out"
        tail += "]"
        if msg.get("errorMessage"):
            tail += f" error: {msg['errorMessage']}"
        return f"\nassistant: {text}\n  {tail}"
    if role == "toolResult":
        flag = " (error)" if msg.get("isError") else ""
        first = text.strip().splitlines()[0][:160] if text.strip() else ""
        return f"  tool {msg.get('toolName')}{flag}: {first}"
    return f"{role}: {text}"
