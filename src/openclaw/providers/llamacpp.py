"""The llama.cpp kind: a user's own llama-server, or the built-in engine.

A provider with a ``localService`` block is served by an engine this project starts on demand
(``openclaw.local.engine``): before a chat, a probe or a discovery the engine is made to run,
then everything is plain OpenAI-compatible chat as for any llama-server. Without the block the
provider is a server the user runs, exactly the generic plugin. Discovery also lists the GGUF
files already in the Hugging Face cache, so `openclaw models list --refresh` shows what could
be served.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from openclaw.errors import OpenClawError
from openclaw.llm.types import error_event
from openclaw.providers.generic import GenericPlugin

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.llm.types import ChatOptions, Context, Event, ModelSpec
    from openclaw.models.catalog import CatalogEntry
    from openclaw.providers.onboarding import OnboardOutcome, OnboardRequest


async def ensure_local_engine(
    provider_id: str, provider_cfg: Mapping[str, Any], api_key: str | None = None
) -> bool:
    """Start the provider's engine when it has a ``localService`` block and none runs yet.

    Returns False for a provider without the block (nothing to do). Raises EngineError.
    """
    if not isinstance(provider_cfg.get("localService"), dict):
        return False  # a server the user runs: nothing to import or start
    import anyio

    from openclaw.config.paths import resolve_paths
    from openclaw.local.engine import engine_config, ensure_engine

    config = engine_config(provider_id, provider_cfg)
    if config is None:
        return False
    paths = resolve_paths()
    await anyio.to_thread.run_sync(
        lambda: ensure_engine(paths, config, api_key=api_key, announce=True)
    )
    return True


class LlamaCppPlugin(GenericPlugin):
    id = "llama-cpp"
    label = "llama.cpp"

    async def stream(
        self, spec: ModelSpec, context: Context, options: ChatOptions
    ) -> AsyncIterator[Event]:
        try:
            await ensure_local_engine(spec.provider_id, spec.provider_config, spec.api_key)
        except OpenClawError as exc:
            yield error_event(spec, exc)
            return
        async for event in super().stream(spec, context, options):
            yield event

    async def discover(self, cfg: LoadedConfig, provider_id: str) -> list[CatalogEntry]:
        from openclaw.auth.resolve import resolve_credential

        provider_cfg = cfg.provider(provider_id) or {}
        if "localService" in provider_cfg:
            key = resolve_credential(cfg, provider_id).key
            await ensure_local_engine(provider_id, provider_cfg, key)
        entries = await super().discover(cfg, provider_id)
        served = {entry.model_id for entry in entries}
        for entry in cached_gguf_entries(provider_id, provider_cfg):
            if entry.model_id not in served:
                entries.append(entry)
        return entries


def cached_gguf_entries(provider_id: str, provider_cfg: dict) -> list[CatalogEntry]:
    """Rows for the GGUF models in the Hugging Face cache (downloaded, not necessarily served)."""
    from openclaw.local.download import cached_models
    from openclaw.local.onboard import model_id_for_file
    from openclaw.models.catalog import CatalogEntry, apply_row_defaults

    entries = []
    for model in cached_models():
        model_id = model_id_for_file(model.path)
        row = apply_row_defaults({"id": model_id, "name": f"{model.repo} ({model.file})"}, {})
        entries.append(
            CatalogEntry(
                provider_id,
                model_id,
                row,
                provider_cfg,
                origin="discovered",
                discovery_tags=["GGUF", "downloaded"],
            )
        )
    return entries


def onboard(req: OnboardRequest) -> OnboardOutcome:
    """``openclaw onboard --auth-choice llama-cpp``: the built-in engine's setup
    (``openclaw.local.onboard``), reported in the onboarding contract's shape."""
    from openclaw.local.onboard import SetupRequest, setup_engine
    from openclaw.providers.onboarding import OnboardOutcome

    done = setup_engine(
        SetupRequest(
            model=req.model,
            model_path=req.model_path,
            context=req.context,
            interactive=req.interactive,
        )
    )
    return OnboardOutcome(
        provider_id=done.provider_id,
        default_ref=done.default_ref,
        config_path=done.config_path,
        backup_path=done.backup_path,
        workspace=done.workspace,
        sessions=done.sessions,
        auth="none",
        lines=done.lines,
        details=done.details,
    )


PLUGIN = LlamaCppPlugin()

__all__ = ["PLUGIN", "LlamaCppPlugin", "cached_gguf_entries", "ensure_local_engine", "onboard"]
