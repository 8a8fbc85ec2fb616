"""Where openclaw keeps its files (core.md §1.1).

Everything is derived from the environment so the global ``--profile`` flag (which sets
``OPENCLAW_PROFILE``) and the ``OPENCLAW_*`` overrides reach every command the same way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from openclaw.errors import ConfigError

DEFAULT_AGENT_ID = "main"
CONFIG_FILENAME = "openclaw.json"
AUTH_PROFILES_FILENAME = "auth-profiles.json"

# Agent ids become directory names; keep them to one safe path segment.
_AGENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PROFILE_RE = _AGENT_ID_RE


def _check_segment(kind: str, value: str) -> str:
    if not _AGENT_ID_RE.match(value) or value in {".", ".."}:
        raise ConfigError(
            f"Invalid {kind} {value!r}",
            hint="Use letters, digits, '-', '_' or '.' (at most 64 characters).",
        )
    return value


@dataclass(frozen=True)
class Paths:
    home: Path
    state_dir: Path
    config_path: Path

    def agent_dir(self, agent_id: str = DEFAULT_AGENT_ID) -> Path:
        return self.state_dir / "agents" / _check_segment("agent id", agent_id) / "agent"

    def sessions_dir(self, agent_id: str = DEFAULT_AGENT_ID) -> Path:
        return self.state_dir / "agents" / _check_segment("agent id", agent_id) / "sessions"

    def auth_profiles_path(self, agent_id: str = DEFAULT_AGENT_ID) -> Path:
        return self.agent_dir(agent_id) / AUTH_PROFILES_FILENAME

    def state_db_path(self) -> Path:
        """TS's shared SQLite state (its credentials live here once it exists)."""
        return self.state_dir / "state" / "openclaw.sqlite"

    def agent_db_path(self, agent_id: str = DEFAULT_AGENT_ID) -> Path:
        """TS's per-agent SQLite database."""
        return self.agent_dir(agent_id) / "openclaw-agent.sqlite"

    @property
    def workspace_dir(self) -> Path:
        return self.state_dir / "workspace"

    @property
    def state_dotenv_path(self) -> Path:
        return self.state_dir / ".env"

    def display(self, path: Path) -> str:
        """``~/.openclaw/openclaw.json`` for paths under home, the full path otherwise."""
        try:
            rel = Path(path).relative_to(self.home)
        except ValueError:
            return str(path)
        return "~" if str(rel) == "." else f"~/{rel.as_posix()}"


def _expand_user(value: str, home: Path) -> Path:
    if value == "~":
        return home
    if value.startswith("~/"):
        return home / value[2:]
    return Path(value)


def resolve_paths(env: Mapping[str, str] | None = None) -> Paths:
    environ = os.environ if env is None else env
    home_text = environ.get("OPENCLAW_HOME") or environ.get("HOME") or str(Path.home())
    home = _expand_user(home_text, Path(environ.get("HOME") or Path.home()))
    state_text = environ.get("OPENCLAW_STATE_DIR")
    profile = environ.get("OPENCLAW_PROFILE")
    if state_text:
        state_dir = _expand_user(state_text, home)
    elif profile and profile != "default":
        state_dir = home / f".openclaw-{_check_segment('profile name', profile)}"
    else:
        state_dir = home / ".openclaw"
    config_text = environ.get("OPENCLAW_CONFIG_PATH")
    config_path = _expand_user(config_text, home) if config_text else state_dir / CONFIG_FILENAME
    return Paths(home=home, state_dir=state_dir, config_path=config_path)
