"""The interactive chat's session controls (`/model`, `/think`, `/new`, `/usage`).

A :class:`ChatSession` keeps the options the next turn runs with and the per-session
overrides in the session index; the CLI only reads lines and prints what these return.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from openclaw.agent.sessions import SessionStore
from openclaw.agent.turn_types import TurnOptions, TurnResult
from openclaw.llm.types import THINKING_LEVELS

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig


def configured_timeout(cfg: LoadedConfig) -> float | None:
    """agents.defaults.timeoutSeconds caps a turn when --timeout is not given."""
    agents = cfg.data.get("agents")
    defaults = agents.get("defaults") if isinstance(agents, dict) else None
    value = defaults.get("timeoutSeconds") if isinstance(defaults, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


@dataclass
class SessionUsage:
    input: int
    output: int
    cache_read: int
    total: int


class ChatSession:
    def __init__(self, cfg: LoadedConfig, opts: TurnOptions) -> None:
        self.cfg = cfg
        self.store = SessionStore(cfg.paths.sessions_dir(opts.agent_id))
        session = self.store.resolve(
            agent_id=opts.agent_id,
            key=opts.session_key,
            session_id=opts.session_id,
            new=opts.new_session,
        )
        self.key, self.session_id = session.key, session.session_id
        self.base = replace(
            opts, session_key=self.key, session_id=self.session_id, new_session=False
        )
        self.last: TurnResult | None = None

    def _entry(self) -> dict[str, Any]:
        return self.store.get(self.key) or {}

    def options_for(self, message: str) -> TurnOptions:
        return replace(self.base, message=message)

    def finished(self, result: TurnResult) -> None:
        self.last = result
        self.session_id = result.session_id
        self.base = replace(self.base, session_id=self.session_id)

    def new_session(self) -> str:
        from openclaw.agent.sessions import new_session_id

        self.session_id = new_session_id()
        self.base = replace(self.base, session_id=self.session_id)
        return self.session_id

    def default_model(self) -> str | None:
        from openclaw.models.catalog import resolved_default_ref

        return resolved_default_ref(self.cfg, self.base.agent_id)

    def current_model(self) -> str | None:
        entry = self._entry()
        if self.base.model:
            return self.base.model
        if entry.get("modelOverride"):
            return f"{entry.get('providerOverride')}/{entry.get('modelOverride')}"
        return self.default_model()

    def clear_model(self) -> None:
        self.store.set_overrides(
            self.key, self.session_id, providerOverride=None, modelOverride=None
        )
        self.base = replace(self.base, model=None)

    def set_model(self, ref: str) -> str:
        """Pin ``ref`` for this session; OpenClawError when it does not resolve."""
        from openclaw.providers.runtime import resolve_model_spec

        spec = resolve_model_spec(self.cfg, ref, agent_id=self.base.agent_id)
        self.store.set_overrides(
            self.key,
            self.session_id,
            providerOverride=spec.provider_id,
            modelOverride=spec.model_id,
        )
        self.base = replace(self.base, model=spec.key)
        return spec.key

    def thinking(self) -> str | None:
        return self.base.thinking or self._entry().get("thinkingLevel")

    def set_thinking(self, level: str) -> bool:
        if level not in THINKING_LEVELS:
            return False
        self.store.set_overrides(self.key, self.session_id, thinkingLevel=level)
        self.base = replace(self.base, thinking=level)
        return True

    def usage(self) -> SessionUsage:
        entry = self._entry()
        return SessionUsage(
            entry.get("inputTokens", 0),
            entry.get("outputTokens", 0),
            entry.get("cacheRead", 0),
            entry.get("totalTokens", 0),
        )
