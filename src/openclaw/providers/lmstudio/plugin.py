"""The LM Studio provider plugin (``providers.get_plugin("lmstudio")`` -> :data:`PLUGIN`).

Chat goes through the core openai-completions transport; this plugin adds what LM Studio
needs around it (lmstudio.md §6): forced streaming usage, the ``pattern`` schema keyword
removed, the thinking-off effort, preload with instance routing, and one retry when a cached
readiness turned out stale (the model was unloaded or reloaded smaller meanwhile).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from openclaw.errors import (
    ContextOverflowError,
    OpenClawError,
    ProviderHTTPError,
    ProviderNotFoundError,
)
from openclaw.llm.types import error_event
from openclaw.providers.lmstudio import discovery, preload, reasoning
from openclaw.providers.lmstudio import models as wire
from openclaw.providers.lmstudio.urls import PROVIDER_ID, inference_base, normalize_provider_config

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.llm.types import ChatOptions, Context, Event, ModelSpec
    from openclaw.models.catalog import CatalogEntry

log = logging.getLogger("openclaw.providers.lmstudio")


def model_key_of(model_id: str) -> str:
    key = model_id.strip()
    if key.lower().startswith("lmstudio/"):
        key = key[len("lmstudio/") :].strip()
    return key


requested_context = wire.configured_context


def preload_enabled(spec: ModelSpec) -> bool:
    return spec.merged_params.get("preload") is not False


def ttl_seconds(spec: ModelSpec) -> int | None:
    value = spec.merged_params.get("ttlSeconds")
    return wire.positive_int(value) if isinstance(value, int) else None


def load_timeout(spec: ModelSpec) -> float:
    if spec.timeout_seconds and spec.timeout_seconds > 0:
        return float(spec.timeout_seconds)
    return preload.LOAD_TIMEOUT


def adjust_compat(compat: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every LM Studio call: streaming usage on, ``pattern`` unsupported in tool schemas (§6.4);
    and a binary-thinking model always knows its disabled effort (§4.5)."""
    out = dict(compat or {})
    out["supportsUsageInStreaming"] = True
    keywords: list[str] = []
    raw = out.get("unsupportedToolSchemaKeywords")
    for kw in raw if isinstance(raw, list) else []:
        if isinstance(kw, str) and kw not in keywords:
            keywords.append(kw)
    if "pattern" not in keywords:
        keywords.append("pattern")
    out["unsupportedToolSchemaKeywords"] = keywords
    off = reasoning.thinking_off_effort(out)
    mapping = out.get("reasoningEffortMap")
    if off is not None and isinstance(mapping, dict) and "off" not in mapping:
        out["reasoningEffortMap"] = {**mapping, "off": off}
    return out


def _is_stale_error(error: OpenClawError) -> bool:
    if isinstance(error, (ProviderNotFoundError, ContextOverflowError)):
        return True
    if isinstance(error, ProviderHTTPError):
        text = f"{error.message} {error.body_excerpt}".lower()
        return "not loaded" in text or "no models loaded" in text
    return False


class LmstudioPlugin:
    id = PROVIDER_ID
    label = "LM Studio"

    # -- config / catalog ------------------------------------------------------------------
    def normalize_model_row(self, row: dict, provider_cfg: dict) -> dict:
        return wire.normalize_model_row(row)

    def normalize_config(self, provider_cfg: dict) -> dict:
        return normalize_provider_config(provider_cfg)

    def adjust_spec(self, spec: ModelSpec) -> ModelSpec:
        """Canonical base, LM Studio compat; a configured Authorization header wins over
        stored profile/env keys (header auth, lmstudio.md §9.1)."""
        api_key = spec.api_key
        if api_key and discovery.has_authorization(spec.headers):
            api_key = None
        return replace(
            spec,
            base_url=inference_base(spec.base_url),
            compat=adjust_compat(spec.compat),
            api_key=api_key,
        )

    # -- chat ------------------------------------------------------------------------------
    async def stream(
        self, spec: ModelSpec, context: Context, options: ChatOptions
    ) -> AsyncIterator[Event]:
        from openclaw.llm.openai_completions import stream_chat

        spec = self.adjust_spec(spec)
        key = model_key_of(spec.model_id)
        if not key or not preload_enabled(spec):
            async for event in stream_chat(spec, context, options):
                yield event
            return

        readiness = await self._ready(spec, key, force=False)
        if isinstance(readiness, OpenClawError):  # the required-context failure (§6.3)
            yield error_event(spec, readiness)
            return
        call = replace(spec, wire_model_id=readiness.wire_model)
        if readiness.checked:
            async for event in stream_chat(call, context, options):
                yield event
            return

        async for event in self._stream_cached(spec, key, readiness, context, options):
            yield event

    async def _stream_cached(
        self,
        spec: ModelSpec,
        key: str,
        readiness: preload.Readiness,
        context: Context,
        options: ChatOptions,
    ) -> AsyncIterator[Event]:
        """Readiness came from the 30 s cache: hold events back until content arrives, so a
        stale answer (model unloaded / reloaded smaller) can be retried once after a check."""
        from openclaw.llm.openai_completions import stream_chat

        held: list[Event] = []
        passing = False
        stale: Event | None = None
        call = replace(spec, wire_model_id=readiness.wire_model)
        async for event in stream_chat(call, context, options):
            if passing:
                yield event
                continue
            if event.type == "start":
                held.append(event)
                continue
            if event.type == "error" and _is_stale_error(event.error):
                stale = event
                break
            passing = True
            for h in held:
                yield h
            yield event
        if stale is None:
            if not passing:
                for h in held:
                    yield h
            return
        async for event in self._retry_stale(spec, key, readiness, stale, held, context, options):
            yield event

    async def _retry_stale(
        self,
        spec: ModelSpec,
        key: str,
        readiness: preload.Readiness,
        stale: Event,
        held: list[Event],
        context: Context,
        options: ChatOptions,
    ) -> AsyncIterator[Event]:
        from openclaw.llm.openai_completions import stream_chat

        fresh = await self._ready(spec, key, force=True)
        if isinstance(fresh, OpenClawError):
            yield error_event(spec, fresh)
            return
        overflow = stale.type == "error" and isinstance(stale.error, ContextOverflowError)
        if overflow and (fresh.wire_model, fresh.context) == (
            readiness.wire_model,
            readiness.context,
        ):
            # The check found the same instance: the prompt really is too long. Report it
            # (the agent trims and retries) instead of sending the same request again.
            for h in held:
                yield h
            yield stale
            return
        async for event in stream_chat(
            replace(spec, wire_model_id=fresh.wire_model), context, options
        ):
            yield event

    async def _ready(
        self, spec: ModelSpec, key: str, *, force: bool
    ) -> preload.Readiness | OpenClawError:
        try:
            readiness = await preload.ensure_ready(
                base_url=spec.base_url,
                model_key=key,
                requested_context=requested_context(spec.model),
                api_key=spec.api_key,
                headers=spec.headers,
                policy=spec.policy,
                timeout=load_timeout(spec),
                ttl_seconds=ttl_seconds(spec),
                force=force,
            )
        except preload.RequiredContextError as exc:
            return exc
        if readiness.warning:
            log.warning("%s", readiness.warning)
        return readiness

    # -- discovery / probe -----------------------------------------------------------------
    async def discover(self, cfg: LoadedConfig, provider_id: str) -> list[CatalogEntry]:
        from openclaw.models.catalog import CatalogEntry
        from openclaw.models.refs import SKIPPED_IDS_REASON
        from openclaw.providers.endpoint import resolve_endpoint

        endpoint = resolve_endpoint(cfg, provider_id)
        base = endpoint.base_url
        result = await discovery.fetch_models(
            base,
            api_key=discovery.runtime_api_key(endpoint),
            headers=endpoint.headers,
            policy=endpoint.policy,
        )
        if not result.reachable or (result.status is not None and result.status >= 400):
            raise discovery.catalog_error(result, base)
        provider_cfg = dict(endpoint.provider_config)
        provider_cfg["baseUrl"] = inference_base(base)
        provider_cfg.setdefault("api", "openai-completions")
        skipped = wire.count_unusable(result.models)
        if skipped:
            log.warning(
                "%s: skipped %d model(s) whose id has %s", provider_id, skipped, SKIPPED_IDS_REASON
            )
        _warn_impossible_contexts(provider_id, result.models)
        out: list[CatalogEntry] = []
        for entry in result.models:
            row = wire.map_entry(entry, runtime=True)
            if row is None:
                continue
            out.append(
                CatalogEntry(
                    provider=provider_id,
                    model_id=row["id"],
                    row=row,
                    provider_config=provider_cfg,
                    origin="discovered",
                    discovery_tags=wire.runtime_tags(entry),
                )
            )
        return out

    async def probe_details(self, spec: ModelSpec) -> dict:
        """Reachability, loaded instances and their contexts (``models status --probe``)."""
        spec = self.adjust_spec(spec)  # header auth wins here as on the chat path
        key = model_key_of(spec.model_id)
        result = await discovery.fetch_models(
            spec.base_url, api_key=spec.api_key, headers=spec.headers, policy=spec.policy
        )
        details: dict[str, Any] = {
            "server": inference_base(spec.base_url),
            "reachable": result.reachable,
        }
        if result.status is not None:
            details["status"] = result.status
        if not result.reachable or (result.status or 200) >= 400:
            details["error"] = discovery.catalog_error(result, spec.base_url).message
            return details
        loaded = []
        for item in result.models:
            for inst_id, ctx in wire.instances(item):
                loaded.append({"model": wire.entry_key(item), "instance": inst_id, "context": ctx})
        details["loaded"] = loaded
        canonical = wire.canonical_key(key, result.models)
        found = wire.find_entry(canonical, result.models)
        details["model"] = {
            "key": canonical,
            "installed": found is not None,
            "loaded": bool(found and wire.loaded_context(found) is not None),
            "loadedContext": wire.loaded_context(found) if found else None,
            "maxContext": wire.advertised_context(found) if found else None,
            "requestedContext": requested_context(spec.model),
        }
        return details


def _warn_impossible_contexts(provider_id: str, entries: list[Any]) -> None:
    for entry in entries:
        if wire.is_llm(entry) and wire.has_usable_key(entry):
            for what in wire.impossible_contexts(entry):
                log.warning(
                    "%s: %s reported an impossible %s; its context is shown as unknown",
                    provider_id,
                    wire.entry_key(entry),
                    what,
                )


PLUGIN = LmstudioPlugin()
