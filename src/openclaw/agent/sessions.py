"""The session index: ``agents/<agentId>/sessions/sessions.json``.

The index maps a session key (``agent:<agentId>:main`` by default) to an entry naming the
current transcript (``sessionId``) plus per-session overrides (model, thinking level) and
token totals. Writes take a file lock, re-read the document, apply one change and replace the
file atomically (``config.atomic``: temp file + fsync + rename), so two processes never lose each
other's updates.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openclaw.errors import ConfigError, UsageError

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def validate_id(value: str, what: str) -> str:
    """Session and agent ids become file names: letters, digits, ``.``, ``_``, ``-`` only."""
    if not _SAFE_ID.match(value) or ".." in value:
        raise UsageError(
            f"Invalid {what}: {value!r}",
            hint="Use letters, digits, '.', '_' or '-' (up to 128 characters).",
        )
    return value


def default_session_key(agent_id: str = "main") -> str:
    return f"agent:{agent_id}:main"


def new_session_id() -> str:
    return str(uuid.uuid4())


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class SessionRef:
    """Which session a turn runs in."""

    key: str
    session_id: str
    entry: dict[str, Any]
    created: bool


class SessionStore:
    """``sessions.json`` of one agent. Entries are plain dicts in OpenClaw's field names."""

    def __init__(self, sessions_dir: Path) -> None:
        self.dir = sessions_dir
        self.index_path = sessions_dir / "sessions.json"

    # -- reading ---------------------------------------------------------------------------
    def load(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.index_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"Cannot read {self.index_path}: {exc.strerror}") from None
        hint = "Move the file aside; transcripts (*.jsonl) are kept and stay readable."
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"Session index {self.index_path} is not valid JSON (line {exc.lineno})",
                hint=hint,
            ) from None
        if not isinstance(data, dict):  # never silently replaced (and lost) by the next write
            raise ConfigError(f"Session index {self.index_path} is not a JSON object", hint=hint)
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.load().get(key)

    def find_by_session_id(self, session_id: str) -> tuple[str, dict[str, Any]] | None:
        for key, entry in self.load().items():
            if entry.get("sessionId") == session_id:
                return key, entry
        return None

    def explicit_key(self, session_id: str, agent_id: str | None = None) -> str:
        """The key of a session named only by its id (``--session-id`` without a key)."""
        return f"agent:{agent_id or self.dir.parent.name}:explicit:{session_id}"

    def transcript_path(self, session_id: str) -> Path:
        return self.dir / f"{validate_id(session_id, 'session id')}.jsonl"

    # -- writing ---------------------------------------------------------------------------
    def update(self, mutate: Callable[[dict[str, dict[str, Any]]], None]) -> dict[str, Any]:
        """Lock, re-read, ``mutate(index)`` in place, write atomically. Returns the index."""
        from filelock import Timeout

        from openclaw.config.atomic import (
            atomic_write,
            ensure_private_dir,
            file_lock,
            remove_stale_temp_files,
        )

        ensure_private_dir(self.dir)
        try:
            with file_lock(self.index_path, timeout=10):
                remove_stale_temp_files(self.index_path)
                index = self.load()
                mutate(index)
                data = json.dumps(index, indent=2, ensure_ascii=False) + "\n"
                atomic_write(self.index_path, data.encode("utf-8"))
        except Timeout:
            raise ConfigError(
                f"Session index {self.index_path} is locked by another process",
                hint=f"Retry when the other openclaw command is done (lock: {self.index_path}.lock).",
            ) from None
        return index

    def resolve(
        self,
        *,
        agent_id: str = "main",
        key: str | None = None,
        session_id: str | None = None,
        new: bool = False,
    ) -> SessionRef:
        """Pick (or create) the session a turn runs in.

        ``session_id`` wins: an existing id is found under whatever key holds it; an unknown id
        starts a session with exactly that id (under ``key`` if given). ``new`` starts a fresh
        transcript under the key, keeping the old file (with an existing ``session_id``, it is
        a UsageError: that transcript cannot start afresh).
        """
        if session_id is not None:
            validate_id(session_id, "session id")
            found = self.find_by_session_id(session_id)
            if found is not None and new:
                raise UsageError(
                    f"Session {session_id} already exists; --new cannot start it afresh",
                    hint="Drop --new to continue it, or pass a new --session-id.",
                )
            if found is not None:
                return SessionRef(found[0], session_id, found[1], created=False)
            the_key = key or (found[0] if found else self.explicit_key(session_id, agent_id))
            return self._create(the_key, session_id)
        the_key = key or default_session_key(agent_id)
        entry = self.get(the_key)
        if entry and not new and isinstance(entry.get("sessionId"), str):
            sid = entry["sessionId"]
            try:
                validate_id(sid, "session id")
            except UsageError:
                pass
            else:
                return SessionRef(the_key, sid, entry, created=False)
        return self._create(the_key, new_session_id())

    def _create(self, key: str, session_id: str) -> SessionRef:
        # Nothing is written yet: a turn that fails its checks must leave no trace.
        # ``activate`` persists the entry right before the first transcript line.
        entry: dict[str, Any] = {"sessionId": session_id, "updatedAt": now_ms()}
        return SessionRef(key, session_id, entry, created=True)

    def activate(self, ref: SessionRef, **overrides: Any) -> None:
        """Make ``ref`` the key's current session (and apply overrides) in the index."""

        def mutate(index: dict[str, dict[str, Any]]) -> None:
            entry = index.get(ref.key)
            if not isinstance(entry, dict) or entry.get("sessionId") != ref.session_id:
                entry = dict(ref.entry)
                index[ref.key] = entry
            entry["updatedAt"] = now_ms()
            for name, value in overrides.items():
                if value is None:
                    entry.pop(name, None)
                else:
                    entry[name] = value
            ref.entry = dict(entry)

        self.update(mutate)
        ref.created = False

    def record_turn(
        self,
        key: str,
        session_id: str,
        *,
        provider: str | None,
        model: str | None,
        usage: dict[str, int] | None,
        fresh: bool,
        context_tokens: int | None = None,
    ) -> None:
        """After a turn: bump updatedAt, remember the model that answered and add token totals."""

        def mutate(index: dict[str, dict[str, Any]]) -> None:
            entry = index.get(key)
            if isinstance(entry, dict) and entry.get("sessionId") != session_id:
                # Another process moved the key to a new session during this turn (--new,
                # /new): keep its entry and file this session under its own id.
                entry = index.setdefault(self.explicit_key(session_id), {"sessionId": session_id})
            elif not isinstance(entry, dict):
                entry = index[key] = {"sessionId": session_id}
            entry["updatedAt"] = now_ms()
            if provider:
                entry["modelProvider"] = provider
            if model:
                entry["model"] = model
            if context_tokens:
                entry["contextTokens"] = context_tokens
            if usage is not None:
                for field, src in (
                    ("inputTokens", "input"),
                    ("outputTokens", "output"),
                    ("cacheRead", "cacheRead"),
                    ("cacheWrite", "cacheWrite"),
                    ("totalTokens", "total"),
                ):
                    prev = entry.get(field)
                    base = prev if isinstance(prev, int) else 0
                    entry[field] = base + int(usage.get(src, 0))
            entry["totalTokensFresh"] = bool(fresh)

        self.update(mutate)

    def set_overrides(self, key: str, session_id: str, **fields: Any) -> None:
        """Set (value) or clear (None) override fields such as thinkingLevel, modelOverride."""

        def mutate(index: dict[str, dict[str, Any]]) -> None:
            entry = index.get(key)
            if not isinstance(entry, dict) or entry.get("sessionId") != session_id:
                entry = {"sessionId": session_id, "updatedAt": now_ms()}
                index[key] = entry
            for name, value in fields.items():
                if value is None:
                    entry.pop(name, None)
                else:
                    entry[name] = value

        self.update(mutate)
