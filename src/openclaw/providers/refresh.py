"""`models list --refresh`: ask each configured provider for its models and merge what it
reports into the configured catalog (configured rows win field by field; ``models.mode:
"replace"`` keeps only configured rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openclaw.errors import OpenClawError

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.models.catalog import CatalogEntry


@dataclass
class Refreshed:
    entries: list[CatalogEntry]
    failures: list[tuple[str, OpenClawError]] = field(default_factory=list)


def _merge(merged: list[CatalogEntry], found: list[CatalogEntry], replace: bool) -> None:
    from openclaw.models.catalog import merge_discovered

    by_key = {entry.key: index for index, entry in enumerate(merged)}
    for entry in found:
        if entry.key in by_key:
            index = by_key[entry.key]
            merged[index] = merge_discovered(merged[index], entry)
        elif not replace:
            by_key[entry.key] = len(merged)
            merged.append(entry)


async def refresh_catalog(
    cfg: LoadedConfig, entries: list[CatalogEntry], provider_filter: str | None
) -> Refreshed:
    """Discovery for every configured provider (or just ``provider_filter``), in order."""
    from openclaw.providers import get_plugin

    models_cfg = cfg.data.get("models")
    replace = isinstance(models_cfg, dict) and models_cfg.get("mode") == "replace"
    targets = [p for p in cfg.providers() if provider_filter in (None, p)]
    if provider_filter and provider_filter not in targets:
        targets.append(provider_filter)
    out = Refreshed(list(entries))
    for pid in targets:
        plugin = get_plugin(pid, cfg.provider(pid) or {})
        try:
            found: list[CatalogEntry] = await plugin.discover(cfg, pid)
        except OpenClawError as exc:
            out.failures.append((pid, exc))
            continue
        _merge(out.entries, found, replace)
    return out
