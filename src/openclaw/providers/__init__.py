"""Provider plugins: what a provider adds around the core chat protocol.

``get_plugin(provider_id, provider_cfg)`` returns the plugin of the provider's kind
(``config.kinds``): each kind names its plugin module, imported on first use so a command loads
only the kinds it talks to.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

from openclaw.config.kinds import LMSTUDIO, ProviderKind, kind_for

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.llm.types import ChatOptions, Context, Event, ModelSpec
    from openclaw.models.catalog import CatalogEntry


class ProviderPlugin(Protocol):
    id: str

    def normalize_model_row(self, row: dict, provider_cfg: dict) -> dict: ...

    def adjust_spec(self, spec: ModelSpec) -> ModelSpec: ...

    def stream(
        self, spec: ModelSpec, context: Context, options: ChatOptions
    ) -> AsyncIterator[Event]: ...

    async def discover(self, cfg: LoadedConfig, provider_id: str) -> list[CatalogEntry]: ...

    async def probe_details(self, spec: ModelSpec) -> dict: ...


def is_lmstudio(provider_id: str, provider_cfg: dict | None = None) -> bool:
    """LM Studio by id or alias, or by ``api: "lmstudio"`` (never guessed from a port)."""
    return kind_for(provider_id, provider_cfg) is LMSTUDIO


def get_plugin(provider_id: str, provider_cfg: dict | None = None) -> ProviderPlugin:
    """The plugin of the provider's kind, imported on first use."""
    return plugin_for_kind(kind_for(provider_id, provider_cfg))


_REASONING_COMPAT_KEYS = ("reasoningEffortMap", "supportedReasoningEfforts")


def normalize_row(provider_id: str, provider_cfg: dict, row: dict) -> dict:
    """A configured row as its kind reads it (``models.catalog.RowNormalizer``).

    Only LM Studio rewrites rows today (old off/on reasoning maps), so other rows never pay
    for importing a plugin."""
    compat = row.get("compat")
    if not (isinstance(compat, dict) and any(key in compat for key in _REASONING_COMPAT_KEYS)):
        return row
    if kind_for(provider_id, provider_cfg) is not LMSTUDIO:
        return row
    normalised = get_plugin(provider_id, provider_cfg).normalize_model_row(row, provider_cfg)
    return normalised if isinstance(normalised, dict) else row


def plugin_for_kind(kind: ProviderKind) -> ProviderPlugin:
    module = importlib.import_module(kind.plugin_module)
    plugin: ProviderPlugin = module.PLUGIN
    return plugin
