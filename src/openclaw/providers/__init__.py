"""Provider plugins: what a provider adds around the core chat protocol.

``get_plugin(provider_id)`` returns the LM Studio plugin for LM Studio providers (imported
lazily, so other providers never load it) and the plain openai-completions plugin
(:mod:`openclaw.providers.generic`) for everything else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.llm.types import ChatOptions, Context, Event, ModelSpec
    from openclaw.models.catalog import CatalogEntry

LMSTUDIO_IDS = frozenset({"lmstudio", "lm-studio"})


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
    """LM Studio by id, by ``api: "lmstudio"``, or by its default port 1234 in baseUrl."""
    if provider_id.lower() in LMSTUDIO_IDS:
        return True
    if not isinstance(provider_cfg, dict):
        return False
    if provider_cfg.get("api") == "lmstudio":
        return True
    base = provider_cfg.get("baseUrl")
    if isinstance(base, str):
        try:
            return urlsplit(base.strip()).port == 1234
        except ValueError:
            return False
    return False


def get_plugin(provider_id: str, provider_cfg: dict | None = None) -> ProviderPlugin:
    if is_lmstudio(provider_id, provider_cfg):
        from openclaw.providers.lmstudio.plugin import PLUGIN

        return PLUGIN
    from openclaw.providers.generic import PLUGIN as GENERIC

    return GENERIC
