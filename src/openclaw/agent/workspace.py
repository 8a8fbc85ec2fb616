"""Where an agent's workspace is: its ``agents.list[].workspace``, else
``agents.defaults.workspace``, else ``~/.openclaw/workspace`` (relative paths are under the
state directory)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig


def _agent_entry(cfg: LoadedConfig, agent_id: str) -> dict[str, Any]:
    agents = cfg.data.get("agents")
    items = agents.get("list") if isinstance(agents, dict) else None
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and item.get("id") == agent_id:
                return item
    return {}


def _defaults(cfg: LoadedConfig) -> dict[str, Any]:
    agents = cfg.data.get("agents")
    d = agents.get("defaults") if isinstance(agents, dict) else None
    return d if isinstance(d, dict) else {}


def workspace_dir(cfg: LoadedConfig, agent_id: str = "main") -> Path:
    for value in (_agent_entry(cfg, agent_id).get("workspace"), _defaults(cfg).get("workspace")):
        if isinstance(value, str) and value.strip():
            p = Path(value.strip()).expanduser()
            return p if p.is_absolute() else cfg.paths.state_dir / p
    return cfg.paths.workspace_dir
