"""Rows for `openclaw models list` (core.md §3.4, openclaw-observed.md §4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.config.settings import ProviderSettings
from openclaw.config.urls import is_local_base_url
from openclaw.models.catalog import (
    CatalogEntry,
    configured_catalog,
    default_model_ref,
    fallback_refs,
    image_fallback_refs,
    image_model_ref,
)
from openclaw.models.refs import agent_model_entries, try_parse

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig


@dataclass
class ListRow:
    key: str
    name: str
    input: str
    context_window: int | None
    context_tokens: int | None
    local: bool
    available: bool
    tags: list[str] = field(default_factory=list)
    missing: bool = False
    provider: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "name": self.name,
            "input": self.input,
            "contextWindow": self.context_window,
        }
        if self.context_tokens is not None:
            data["contextTokens"] = self.context_tokens
        data.update({"local": self.local, "available": self.available, "tags": self.tags})
        if self.missing:
            data["missing"] = True
        return data


def format_ctx(tokens: int | None, window: int | None) -> str:
    """``33k/262k``: contextTokens/contextWindow in thousands (rounded)."""

    def k(value: int) -> str:
        return f"{round(value / 1000)}k"

    if window and tokens and tokens != window:
        return f"{k(tokens)}/{k(window)}"
    if window or tokens:
        return k(int(window or tokens or 0))
    return "-"


def _canonical(ref: str, cfg: LoadedConfig) -> str:
    parsed = try_parse(ref, cfg)
    return parsed.key if parsed else ref


def selection_tags(cfg: LoadedConfig, agent_id: str | None = None) -> dict[str, list[str]]:
    """Canonical key -> tags from the agent's model selection, allowlist and aliases."""
    tags: dict[str, list[str]] = {}

    def add(ref: str | None, tag: str) -> None:
        if ref:
            tags.setdefault(_canonical(ref, cfg), []).append(tag)

    add(default_model_ref(cfg, agent_id), "default")
    for n, ref in enumerate(fallback_refs(cfg, agent_id), start=1):
        add(ref, f"fallback#{n}")
    add(image_model_ref(cfg, agent_id), "image")
    for n, ref in enumerate(image_fallback_refs(cfg, agent_id), start=1):
        add(ref, f"img-fallback#{n}")
    for ref, entry in agent_model_entries(cfg).items():
        add(ref, "configured")
        alias = entry.get("alias") if isinstance(entry, dict) else None
        if isinstance(alias, str) and alias:
            add(ref, f"alias:{alias}")
    return tags


def build_rows(
    cfg: LoadedConfig,
    *,
    entries: list[CatalogEntry] | None = None,
    provider: str | None = None,
    local_only: bool = False,
    agent_id: str = "main",
    auth_ok: dict[str, bool] | None = None,
) -> list[ListRow]:
    """One row per catalog model (the first of a key wins), then one ``missing`` row per model
    the agent's selection names that no provider has; filtered, sorted by key."""
    catalog = configured_catalog(cfg) if entries is None else entries
    tags = selection_tags(cfg, agent_id)
    available = _availability(cfg, agent_id, dict(auth_ok or {}))
    rows: dict[str, ListRow] = {}
    for entry in catalog:
        if entry.key not in rows:
            rows[entry.key] = _catalog_row(entry, tags, available(entry.provider))
    for key, key_tags in tags.items():
        if key not in rows:
            rows[key] = _missing_row(cfg, key, key_tags)
    out = list(rows.values())
    if provider:
        out = [r for r in out if r.provider == provider]
    if local_only:
        out = [r for r in out if r.local]
    out.sort(key=lambda r: r.key)
    return out


def _availability(
    cfg: LoadedConfig, agent_id: str, known: dict[str, bool]
) -> Callable[[str], bool]:
    """Whether a provider can be called (a usable key, or keyless and allowed to be), once
    per provider; ``known`` holds answers a caller already has."""
    from openclaw.auth.resolve import is_keyless_ok, resolve_credential

    def available(provider_id: str) -> bool:
        if provider_id not in known:
            provider_cfg = cfg.provider(provider_id)
            if provider_cfg is None:
                known[provider_id] = False
            else:
                cred = resolve_credential(cfg, provider_id, agent_id=agent_id)
                known[provider_id] = cred.usable or (
                    not cred.unresolved and is_keyless_ok(provider_id, provider_cfg)
                )
        return known[provider_id]

    return available


def _catalog_row(entry: CatalogEntry, tags: dict[str, list[str]], available: bool) -> ListRow:
    model = entry.settings
    return ListRow(
        key=entry.key,
        name=model.name,
        input="+".join(model.input),
        context_window=model.context_window,
        context_tokens=model.context_tokens,
        local=is_local_base_url(model.configured_base_url),
        available=available,
        tags=[*tags.get(entry.key, []), *entry.discovery_tags],
        provider=entry.provider,
    )


def _missing_row(cfg: LoadedConfig, key: str, key_tags: list[str]) -> ListRow:
    parsed = try_parse(key, cfg)
    provider_id = parsed.provider if parsed else ""
    return ListRow(
        key=key,
        name=parsed.model if parsed else key,
        input="-",
        context_window=None,
        context_tokens=None,
        local=is_local_base_url(ProviderSettings.read(cfg.provider(provider_id)).base_url),
        available=False,
        tags=[*key_tags, "missing"],
        missing=True,
        provider=provider_id,
    )


_COLUMNS = (("Model", 42), ("Input", 10), ("Ctx", 11), ("Local", 5), ("Auth", 5))


def render_table(rows: list[ListRow]) -> str:
    model_width = max([_COLUMNS[0][1], *(len(r.key) for r in rows)])
    widths = [model_width, *(w for _, w in _COLUMNS[1:])]

    def line(cells: list[str], tags: str) -> str:
        padded = " ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return f"{padded} {tags}".rstrip()

    out = [line([name for name, _ in _COLUMNS], "Tags")]
    for row in rows:
        out.append(
            line(
                [
                    row.key,
                    row.input,
                    format_ctx(row.context_tokens, row.context_window),
                    "yes" if row.local else "no",
                    "yes" if row.available else "no",
                ],
                ",".join(row.tags),
            )
        )
    return "\n".join(out)
