"""The Ollama provider plugin (``providers.get_plugin`` for the ollama kind and for any
provider with ``api: "ollama"``) -> :data:`PLUGIN`.

Native ``/api/chat`` unless the provider says ``api: "openai-completions"`` (then Ollama's
``/v1`` through the core transport, which injects the same ``options.num_ctx``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from openclaw.providers.ollama import spec as spec_mod

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.llm.types import ChatOptions, Context, Event, ModelSpec
    from openclaw.models.catalog import CatalogEntry


def _wait_hook(spec: ModelSpec) -> Any:
    from openclaw.llm.ollama_context import num_ctx
    from openclaw.providers.load_events import LOAD_EVENTS

    ctx = num_ctx(spec.model)

    def hook(phase: str) -> None:
        LOAD_EVENTS.notify(phase, spec.wire_model_id, ctx, None, server="Ollama")

    return hook


class OllamaPlugin:
    id = "ollama"
    label = "Ollama"

    def normalize_model_row(self, row: dict, provider_cfg: dict) -> dict:
        return row

    def adjust_spec(self, spec: ModelSpec) -> ModelSpec:
        return spec_mod.adjust(spec)

    def finish_spec(self, cfg: LoadedConfig, spec: ModelSpec) -> ModelSpec:
        """Called by ``resolve_model_spec``: the context number the budget and the request
        share (``spec.context_tokens``), from config or the discovered maximum."""
        return spec_mod.finish(spec, cfg.paths.state_dir)

    async def stream(
        self, spec: ModelSpec, context: Context, options: ChatOptions
    ) -> AsyncIterator[Event]:
        spec = self.adjust_spec(spec)
        if spec_mod.uses_native(spec):
            from openclaw.llm.ollama_chat import stream_chat

            events = stream_chat(spec, context, options, on_wait=_wait_hook(spec))
        else:
            from openclaw.llm.openai_completions import stream_chat as stream_v1

            events = stream_v1(spec, context, options)
        async for event in events:
            yield event

    async def discover(self, cfg: LoadedConfig, provider_id: str) -> list[CatalogEntry]:
        from openclaw.providers.ollama.catalog import discover_entries

        return await discover_entries(cfg, provider_id)

    async def probe_details(self, spec: ModelSpec) -> dict:
        from openclaw.providers.ollama.catalog import probe_details

        return await probe_details(self.adjust_spec(spec))


PLUGIN = OllamaPlugin()

__all__ = ["PLUGIN", "OllamaPlugin"]
