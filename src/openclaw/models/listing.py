"""Rows for `openclaw models list` (core.md §3.4, openclaw-observed.md §4)."""

from __future__ import annotations

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
    from openclaw.auth.resolve import is_keyless_ok, resolve_credential

    catalog = configured_catalog(cfg) if entries is None else entries
    tags = selection_tags(cfg, agent_id)
    auth_cache: dict[str, bool] = dict(auth_ok or {})

    def available(provider_id: str) -> bool:
        if provider_id not in auth_cache:
            provider_cfg = cfg.provider(provider_id)
            if provider_cfg is None:
                auth_cache[provider_id] = False
            else:
                cred = resolve_credential(cfg, provider_id, agent_id=agent_id)
                auth_cache[provider_id] = cred.usable or (
                    not cred.unresolved and is_keyless_ok(provider_id, provider_cfg)
                )
        return auth_cache[provider_id]

    rows: list[ListRow] = []
    seen: set[str] = set()
    for entry in catalog:
        if entry.key in seen:
            continue
        seen.add(entry.key)
        model = entry.settings
        rows.append(
            ListRow(
                key=entry.key,
                name=model.name,
                input="+".join(model.input),
                context_window=model.context_window,
                context_tokens=model.context_tokens,
                local=is_local_base_url(model.base_url or model.provider.base_url),
                available=available(entry.provider),
                tags=[*tags.get(entry.key, []), *entry.discovery_tags],
                provider=entry.provider,
            )
        )
    for key, key_tags in tags.items():
        if key in seen:
            continue
        parsed = try_parse(key, cfg)
        provider_id = parsed.provider if parsed else ""
        provider_base = ProviderSettings.read(cfg.provider(provider_id)).base_url
        rows.append(
            ListRow(
                key=key,
                name=parsed.model if parsed else key,
                input="-",
                context_window=None,
                context_tokens=None,
                local=is_local_base_url(provider_base),
                available=False,
                tags=[*key_tags, "missing"],
                missing=True,
                provider=provider_id,
            )
        )
    if provider:
        rows = [r for r in rows if r.provider == provider]
    if local_only:
        rows = [r for r in rows if r.local]
    rows.sort(key=lambda r: r.key)
    return rows


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
