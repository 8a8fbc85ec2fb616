"""The plain openai-completions provider: vLLM, SGLang, llama.cpp, LocalAI, Jan, TabbyAPI,
text-generation-webui, Ollama's /v1 and any custom OpenAI-compatible endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from openclaw.providers.served import list_served_models

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.llm.types import ChatOptions, Context, Event, ModelSpec
    from openclaw.models.catalog import CatalogEntry


SUPPORTED_APIS = frozenset({"openai-completions", "openai", "openai-compatible"})


def unsupported_api_event(spec: ModelSpec) -> Event:
    """An error event for a wire API this build does not speak (e.g. ``anthropic-messages``)."""
    from openclaw.errors import ProviderError
    from openclaw.llm.types import error_event

    hint = f'Set models.providers.{spec.provider_id}.api to "openai-completions"'
    error = ProviderError(
        f'{spec.key}: the "{spec.api}" API is not supported; only "openai-completions" is',
        hint=hint + ".",
    )
    return error_event(spec, error)


class GenericPlugin:
    id = "generic"
    label = "OpenAI-compatible"

    def normalize_model_row(self, row: dict, provider_cfg: dict) -> dict:
        return row

    def adjust_spec(self, spec: ModelSpec) -> ModelSpec:
        return spec

    async def stream(
        self, spec: ModelSpec, context: Context, options: ChatOptions
    ) -> AsyncIterator[Event]:
        from openclaw.llm.openai_completions import stream_chat

        if spec.api not in SUPPORTED_APIS:
            yield unsupported_api_event(spec)
            return
        async for event in stream_chat(self.adjust_spec(spec), context, options):
            yield event

    async def discover(self, cfg: LoadedConfig, provider_id: str) -> list[CatalogEntry]:
        """Models the server lists at ``GET {baseUrl}/models``, each with the context it serves
        (served > training > unknown; a contextWindow in the config wins over both)."""
        from openclaw.errors import UnreachableError
        from openclaw.models.catalog import CatalogEntry, apply_row_defaults
        from openclaw.providers.endpoint import resolve_endpoint

        provider_cfg = cfg.provider(provider_id) or {}
        if not isinstance(provider_cfg.get("baseUrl"), str) or not provider_cfg["baseUrl"]:
            return []
        endpoint = resolve_endpoint(cfg, provider_id)
        try:
            served = await list_served_models(
                endpoint.base_url, headers=endpoint.request_headers(), policy=endpoint.policy
            )
        except UnreachableError as exc:  # say how to start this kind of server, on its port
            exc.hint = endpoint.kind.start_hint_for(endpoint.base_url) or exc.hint
            raise
        entries = []
        for model in served:
            row: dict[str, Any] = {"id": model.id, "name": model.id}
            if model.context is not None and not isinstance(provider_cfg.get("contextWindow"), int):
                row["contextWindow"] = model.context
            tags = [f"{model.context_source} ctx"] if model.context is not None else []
            entries.append(
                CatalogEntry(
                    provider_id,
                    model.id,
                    apply_row_defaults(row, provider_cfg),
                    provider_cfg,
                    origin="discovered",
                    discovery_tags=tags,
                )
            )
        return entries

    async def probe_details(self, spec: ModelSpec) -> dict:
        return {}


PLUGIN = GenericPlugin()

__all__ = ["PLUGIN", "GenericPlugin"]
