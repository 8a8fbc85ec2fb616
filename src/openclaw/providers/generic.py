"""The plain openai-completions provider: vLLM, SGLang, llama.cpp, LocalAI, Jan, TabbyAPI,
text-generation-webui, Ollama's /v1 and any custom OpenAI-compatible endpoint."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from openclaw.errors import MalformedResponseError, UnreachableError

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.llm.types import ChatOptions, Context, Event, ModelSpec
    from openclaw.models.catalog import CatalogEntry


log = logging.getLogger("openclaw.providers")

SUPPORTED_APIS = frozenset({"openai-completions", "openai", "openai-compatible"})


def unsupported_api_event(spec: ModelSpec) -> Event:
    """An error event for a transport this build does not speak (e.g. native ``ollama``)."""
    from openclaw.errors import ProviderError
    from openclaw.llm.types import AssistantMessage, ErrorEvent

    hint = f'Set models.providers.{spec.provider_id}.api to "openai-completions"'
    if spec.api == "ollama":
        hint += " and its baseUrl to Ollama's OpenAI endpoint (http://127.0.0.1:11434/v1)"
    error = ProviderError(
        f'{spec.key}: the "{spec.api}" API is not supported; only "openai-completions" is',
        hint=hint + ".",
    )
    message = AssistantMessage(
        provider=spec.provider_id,
        model=spec.model_id,
        stop_reason="error",
        error_message=error.message,
    )
    return ErrorEvent(message, "error", error)


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
        """Models the server lists at ``GET {baseUrl}/models`` (ids only)."""
        from openclaw.auth.resolve import resolve_credential
        from openclaw.config.kinds import kind_for
        from openclaw.models.catalog import CatalogEntry, apply_row_defaults
        from openclaw.models.refs import SKIPPED_IDS_REASON, usable_model_ids
        from openclaw.net.client import async_client
        from openclaw.net.policy import policy_for_provider_config

        provider_cfg = cfg.provider(provider_id) or {}
        base = provider_cfg.get("baseUrl")
        if not isinstance(base, str) or not base:
            return []
        cred = resolve_credential(cfg, provider_id)
        headers = {"Authorization": f"Bearer {cred.key}"} if cred.key else {}
        policy = policy_for_provider_config(provider_id, provider_cfg)
        async with async_client(policy, timeout=5.0, max_body_bytes=4 * 1024 * 1024) as client:
            try:
                response = await client.request(
                    "GET", base.rstrip("/") + "/models", headers=headers
                )
            except UnreachableError as exc:  # say how to start this kind of server, on its port
                exc.hint = kind_for(provider_id, provider_cfg).start_hint_for(base) or exc.hint
                raise
        if response.status_code != 200:
            return []
        try:
            data: Any = response.json()
        except ValueError as exc:
            raise MalformedResponseError(f"{provider_id}: /models did not return JSON") from exc
        items = data.get("data") if isinstance(data, dict) else None
        listed = [
            item["id"]
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]
        ]
        ids, skipped = usable_model_ids(listed)
        if skipped:
            log.warning(
                "%s: skipped %d model(s) whose id has %s", provider_id, skipped, SKIPPED_IDS_REASON
            )
        return [
            CatalogEntry(
                provider_id, i, apply_row_defaults({"id": i}, provider_cfg), provider_cfg,
                origin="discovered",
            )
            for i in ids
        ]  # fmt: skip

    async def probe_details(self, spec: ModelSpec) -> dict:
        return {}


PLUGIN = GenericPlugin()

__all__ = ["PLUGIN", "GenericPlugin"]
