"""The configured model catalog and the agent's model selection (core.md §2.3, §3.1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.config.settings import ModelSettings
from openclaw.errors import ModelRefError
from openclaw.models.refs import ModelRef, agent_defaults, model_key, parse_model_ref

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig

_ROW_DEFAULTS: dict[str, Any] = {
    "reasoning": False,
    "input": ["text"],
    "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
}
# Provider-wide values that fill in for rows that omit them.
_PROVIDER_FALLBACK_FIELDS = ("contextWindow", "contextTokens", "maxTokens")


@dataclass
class CatalogEntry:
    provider: str
    model_id: str
    row: dict
    provider_config: dict
    #: "config" for rows from openclaw.json, "discovered" for rows a provider reported.
    origin: str = "config"
    #: Display tags a discovery adds (e.g. "GGUF", "loaded").
    discovery_tags: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return model_key(self.provider, self.model_id)

    @property
    def settings(self) -> ModelSettings:
        """The row, typed, with its provider's settings."""
        return ModelSettings.read(self.row, self.provider_config)


def apply_row_defaults(row: dict, provider_cfg: dict) -> dict:
    filled = {key: _copy(value) for key, value in _ROW_DEFAULTS.items()}
    for key in _PROVIDER_FALLBACK_FIELDS:
        if isinstance(provider_cfg.get(key), int):
            filled[key] = provider_cfg[key]
    filled.update(row)
    if not isinstance(filled.get("name"), str) or not filled["name"]:
        filled["name"] = filled["id"]
    return filled


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


#: Rewrites a configured row the way its provider kind wants it read (providers supply it:
#: this layer knows no provider kind).
RowNormalizer = Callable[[str, dict, dict], dict]


def configured_catalog(
    cfg: LoadedConfig, normalize: RowNormalizer | None = None
) -> list[CatalogEntry]:
    entries: list[CatalogEntry] = []
    for provider_id, provider_cfg in cfg.providers().items():
        rows = provider_cfg.get("models")
        if not isinstance(rows, list):
            continue
        for row in rows:
            if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not row["id"]:
                continue
            filled = apply_row_defaults(row, provider_cfg)
            if normalize is not None:
                filled = normalize(provider_id, provider_cfg, filled)
            entries.append(CatalogEntry(provider_id, row["id"], filled, provider_cfg))
    return entries


def merge_discovered(configured: CatalogEntry, discovered: CatalogEntry) -> CatalogEntry:
    """A configured row keeps what the user wrote; discovery fills the fields it omits."""
    authored = next(
        (
            row
            for row in configured.provider_config.get("models") or []
            if isinstance(row, dict) and row.get("id") == configured.model_id
        ),
        {},
    )
    row = apply_row_defaults({**discovered.row, **authored}, configured.provider_config)
    return CatalogEntry(
        configured.provider,
        configured.model_id,
        row,
        configured.provider_config,
        origin="config",
        discovery_tags=list(discovered.discovery_tags),
    )


def _agent_override(cfg: LoadedConfig, agent_id: str | None, key: str) -> Any:
    if not agent_id:
        return None
    agents = cfg.data.get("agents")
    listed = agents.get("list") if isinstance(agents, dict) else None
    for agent in listed if isinstance(listed, list) else []:
        if isinstance(agent, dict) and agent.get("id") == agent_id and key in agent:
            return agent[key]
    return None


def _selection(cfg: LoadedConfig, key: str, agent_id: str | None) -> Any:
    override = _agent_override(cfg, agent_id, key)
    return override if override is not None else agent_defaults(cfg).get(key)


def _primary(selection: Any) -> str | None:
    if isinstance(selection, str) and selection.strip():
        return selection.strip()
    if isinstance(selection, dict):
        primary = selection.get("primary")
        if isinstance(primary, str) and primary.strip():
            return primary.strip()
    return None


def _fallbacks(selection: Any) -> list[str]:
    if isinstance(selection, dict) and isinstance(selection.get("fallbacks"), list):
        return [f for f in selection["fallbacks"] if isinstance(f, str) and f.strip()]
    return []


def default_model_ref(cfg: LoadedConfig, agent_id: str | None = None) -> str | None:
    """``agents.defaults.model`` (string or ``.primary``); a listed agent's own model wins."""
    return _primary(_selection(cfg, "model", agent_id))


def fallback_refs(cfg: LoadedConfig, agent_id: str | None = None) -> list[str]:
    return _fallbacks(_selection(cfg, "model", agent_id))


def image_model_ref(cfg: LoadedConfig, agent_id: str | None = None) -> str | None:
    return _primary(_selection(cfg, "imageModel", agent_id))


def image_fallback_refs(cfg: LoadedConfig, agent_id: str | None = None) -> list[str]:
    return _fallbacks(_selection(cfg, "imageModel", agent_id))


def resolved_default_ref(cfg: LoadedConfig, agent_id: str | None = None) -> str | None:
    """The default as a canonical key; with none configured, the first configured model."""
    configured = default_model_ref(cfg, agent_id)
    if configured:
        try:
            return parse_model_ref(configured, cfg).key
        except ModelRefError:  # an unparsable ref is reported by callers, not here
            return configured
    catalog = configured_catalog(cfg)
    return catalog[0].key if catalog else None


def find_entry(
    cfg: LoadedConfig, ref: str | ModelRef, normalize: RowNormalizer | None = None
) -> CatalogEntry | None:
    parsed = ref if isinstance(ref, ModelRef) else parse_model_ref(ref, cfg)
    catalog = configured_catalog(cfg, normalize)
    exact = (e for e in catalog if e.provider == parsed.provider and e.model_id == parsed.model)
    return next(exact, None) or next((e for e in catalog if e.key == parsed.key), None)
