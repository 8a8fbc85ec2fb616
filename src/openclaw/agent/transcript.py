"""JSONL transcripts: ``agents/<agentId>/sessions/<sessionId>.jsonl``.

Line 1 is a header ``{"type":"session","version":3,"id","timestamp","cwd"}``; every later line
is one entry ``{"type":"message","id","parentId","timestamp","message":{...}}`` whose message
uses OpenClaw's field names (``role``, ``content`` parts, ``provider``, ``model``, ``usage``,
``stopReason``). Each entry is appended with a single ``write`` of a whole line on an
``O_APPEND`` descriptor followed by ``fsync``: a crash can at worst leave a torn *last* line,
which readers skip with a warning; earlier lines are never touched.
"""

from __future__ import annotations

import json
import os
import secrets as _secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openclaw.auth.redact import REDACTED, redact_text
from openclaw.errors import ConfigError
from openclaw.llm.types import (
    AssistantMessage,
    ImageContent,
    Message,
    TextContent,
    ThinkingContent,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)

TRANSCRIPT_VERSION = 3


def _iso(ts: float | None = None) -> str:
    dt = datetime.fromtimestamp(ts, UTC) if ts is not None else datetime.now(UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(ts: float) -> int:
    # llm.types timestamps are seconds; transcripts store milliseconds like OpenClaw.
    return int(ts * 1000) if ts < 1e11 else int(ts)


def _secs(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value / 1000 if value > 1e11 else float(value)
    return 0.0


def _redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (longest first) by the sentinel; transcripts keep no part of it."""
    return redact_text(text, secrets, REDACTED)


# -- message <-> dict ---------------------------------------------------------------------
def usage_from_dict(data: Any) -> Usage:
    if not isinstance(data, dict):
        return Usage()

    def num(name: str) -> int:
        v = data.get(name)
        return int(v) if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 else 0

    cost = data.get("cost")
    cost_total = cost.get("total") if isinstance(cost, dict) else cost
    source = data.get("source")
    return Usage(
        input=num("input"),
        output=num("output"),
        cache_read=num("cacheRead"),
        cache_write=num("cacheWrite"),
        total=num("totalTokens") or num("total"),
        cost=float(cost_total) if isinstance(cost_total, int | float) else 0.0,
        source=source if source in ("reported", "timings", "estimated", "none") else "none",
    )


def _part_to_dict(part: Any, secrets: Iterable[str]) -> dict[str, Any]:
    if isinstance(part, TextContent):
        return {"type": "text", "text": _redact(part.text, secrets)}
    if isinstance(part, ThinkingContent):
        return {"type": "thinking", "thinking": _redact(part.thinking, secrets)}
    if isinstance(part, ToolCall):
        args = json.loads(_redact(json.dumps(part.arguments, ensure_ascii=False), secrets))
        return {"type": "toolCall", "id": part.id, "name": part.name, "arguments": args}
    if isinstance(part, ImageContent):
        return {"type": "image", "data": part.data, "mimeType": part.mime_type}
    return {"type": "text", "text": _redact(str(part), secrets)}


def _part_from_dict(data: Any) -> Any:
    if not isinstance(data, dict):
        return None
    kind = data.get("type")
    if kind == "text" and isinstance(data.get("text"), str):
        return TextContent(text=data["text"])
    if kind == "thinking" and isinstance(data.get("thinking"), str):
        return ThinkingContent(thinking=data["thinking"])
    if kind == "toolCall" and isinstance(data.get("name"), str):
        args = data.get("arguments")
        return ToolCall(
            id=str(data.get("id") or ""),
            name=data["name"],
            arguments=args if isinstance(args, dict) else {},
        )
    if kind == "image" and isinstance(data.get("data"), str):
        return ImageContent(data=data["data"], mime_type=str(data.get("mimeType") or "image/png"))
    return None


def message_to_dict(msg: Message, secrets: Iterable[str] = ()) -> dict[str, Any]:
    secrets = list(secrets)
    if isinstance(msg, UserMessage):
        content: Any
        if isinstance(msg.content, str):
            content = _redact(msg.content, secrets)
        else:
            content = [_part_to_dict(p, secrets) for p in msg.content]
        return {"role": "user", "content": content, "timestamp": _ms(msg.timestamp)}
    if isinstance(msg, AssistantMessage):
        out: dict[str, Any] = {
            "role": "assistant",
            "content": [_part_to_dict(p, secrets) for p in msg.content],
            "provider": msg.provider,
            "model": msg.model,
            "usage": msg.usage.to_dict(),
            "stopReason": msg.stop_reason,
            "timestamp": _ms(msg.timestamp),
        }
        if msg.error_message:
            out["errorMessage"] = _redact(msg.error_message, secrets)
        return out
    return {
        "role": "toolResult",
        "toolCallId": msg.tool_call_id,
        "toolName": msg.tool_name,
        "content": [_part_to_dict(p, secrets) for p in msg.content],
        "isError": bool(msg.is_error),
        "timestamp": _ms(msg.timestamp),
    }


def message_from_dict(data: Any) -> Message | None:
    if not isinstance(data, dict):
        return None
    role = data.get("role")
    ts = _secs(data.get("timestamp"))
    raw = data.get("content")
    parts = [p for p in (_part_from_dict(x) for x in raw)] if isinstance(raw, list) else []
    parts = [p for p in parts if p is not None]
    if role == "user":
        if isinstance(raw, str):
            return UserMessage(content=raw, timestamp=ts)
        user_parts = [p for p in parts if isinstance(p, TextContent | ImageContent)]
        return UserMessage(content=user_parts, timestamp=ts)
    if role == "assistant":
        stop = data.get("stopReason")
        err = data.get("errorMessage")
        return AssistantMessage(
            content=[p for p in parts if isinstance(p, TextContent | ThinkingContent | ToolCall)],
            provider=str(data.get("provider") or ""),
            model=str(data.get("model") or ""),
            usage=usage_from_dict(data.get("usage")),
            stop_reason=stop
            if stop in ("stop", "length", "toolUse", "error", "aborted")
            else "stop",
            error_message=err if isinstance(err, str) else None,
            timestamp=ts,
        )
    if role == "toolResult":
        return ToolResultMessage(
            tool_call_id=str(data.get("toolCallId") or ""),
            tool_name=str(data.get("toolName") or ""),
            content=[p for p in parts if isinstance(p, TextContent | ImageContent)],
            is_error=bool(data.get("isError")),
            timestamp=ts,
        )
    return None


# -- the file -----------------------------------------------------------------------------
@dataclass
class TranscriptData:
    header: dict[str, Any] | None
    entries: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)

    def messages(self) -> list[Message]:
        out: list[Message] = []
        for entry in self.entries:
            if entry.get("type") == "message":
                msg = message_from_dict(entry.get("message"))
                if msg is not None:
                    out.append(msg)
        return out


def read_transcript(path: Path) -> TranscriptData:
    """Parse a transcript; unreadable lines are skipped with a warning, never fatal."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return TranscriptData(None, [])
    except OSError as exc:
        raise ConfigError(
            f"Cannot read transcript {path}: {exc.strerror}",
            hint="Check the file, or start a new session with --new.",
        ) from None
    header: dict[str, Any] | None = None
    entries: list[dict[str, Any]] = []
    bad: list[int] = []
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            obj = None
        if not isinstance(obj, dict):
            bad.append(number)
            continue
        if obj.get("type") == "session" and header is None:
            header = obj
        else:
            entries.append(obj)
    warnings: list[str] = []
    last_line = max((n for n, line in enumerate(lines, 1) if line.strip()), default=0)
    if bad == [last_line] and not raw.endswith(b"\n"):
        warnings.append(f"{path.name}: skipped torn last line {bad[0]} (interrupted write)")
    elif bad:
        # One warning, however many lines are damaged (a corrupt file must not flood stderr).
        shown = ", ".join(str(n) for n in bad[:5]) + (", …" if len(bad) > 5 else "")
        warnings.append(f"{path.name}: skipped {len(bad)} unreadable line(s) ({shown})")
    return TranscriptData(header, entries, warnings)


class Transcript:
    """Append-only writer for one session's JSONL file."""

    def __init__(
        self,
        path: Path,
        session_id: str,
        secrets: Iterable[str] = (),
        *,
        existing: TranscriptData | None = None,
    ) -> None:
        """``existing``: the file as the caller already read it (saves a second read)."""
        self.path = path
        self.session_id = session_id
        self.secrets = [s for s in secrets if s]
        self._last_id: str | None = None
        self._checked = False
        self._existing = existing

    def _ensure_header(self) -> None:
        if self._checked:
            return
        self._checked = True
        from openclaw.config.atomic import ensure_private_dir

        ensure_private_dir(self.path.parent)
        data = self._existing if self._existing is not None else read_transcript(self.path)
        self._existing = None
        if data.header is None and not data.entries:
            self._append_line(
                {
                    "type": "session",
                    "version": TRANSCRIPT_VERSION,
                    "id": self.session_id,
                    "timestamp": _iso(),
                    "cwd": os.getcwd(),
                }
            )
        elif data.entries:
            last = data.entries[-1].get("id")
            self._last_id = last if isinstance(last, str) else None

    def _append_line(self, obj: dict[str, Any]) -> None:
        line = (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # A torn last line from an earlier crash must not swallow this entry.
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"short write to {self.path.name} ({written}/{len(line)} bytes)")
            os.fsync(fd)
        finally:
            os.close(fd)

    def append(self, msg: Message) -> str:
        self._ensure_header()
        entry_id = _secrets.token_hex(4)
        self._append_line(
            {
                "type": "message",
                "id": entry_id,
                "parentId": self._last_id,
                "timestamp": _iso(),
                "message": message_to_dict(msg, self.secrets),
            }
        )
        self._last_id = entry_id
        return entry_id
