"""`openclaw models list`: the options, the run and the rendering, without click.

The click command (``models_cmd.list_models``) and the quick path (``cli/quick.py``, which
answers the common forms of ``models list`` before click is imported) both call
:func:`run_list`, so the two cannot answer differently.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openclaw.cli.common import echo_json, echo_safe, load_for_command, warn

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.errors import OpenClawError
    from openclaw.models.listing import ListRow


@dataclass(frozen=True)
class ListOptions:
    local_only: bool = False
    provider_id: str | None = None
    refresh: bool = False
    as_json: bool = False
    plain: bool = False
    agent_id: str = "main"


def run_list(options: ListOptions) -> int:
    """List the configured (and, with ``refresh``, discovered) models; the exit code."""
    from openclaw.models.catalog import configured_catalog
    from openclaw.models.listing import build_rows
    from openclaw.models.refs import normalize_provider
    from openclaw.providers import normalize_row

    cfg = load_for_command()
    wanted = options.provider_id
    # An alias finds the provider under the key the user wrote (`llama-cpp` finds `llamacpp`).
    provider_filter = (cfg.provider_key(wanted) or normalize_provider(wanted)) if wanted else None
    entries = configured_catalog(cfg, normalize_row)
    failed = False
    if options.refresh:
        from openclaw.cli.common import run_async
        from openclaw.providers.refresh import refresh_catalog

        refreshed = run_async(functools.partial(refresh_catalog, cfg, entries, provider_filter))
        entries, failed = refreshed.entries, bool(refreshed.failures)
        _render_failures(refreshed.failures)
    rows = build_rows(
        cfg,
        entries=entries,
        provider=provider_filter,
        local_only=options.local_only,
        agent_id=options.agent_id,
    )
    _render_list(rows, as_json=options.as_json, plain=options.plain, cfg=cfg)
    return 1 if failed else 0


def _render_failures(failures: list[tuple[str, OpenClawError]]) -> None:
    for pid, exc in failures:
        echo_safe(f"Error: {pid}: {exc.message}", err=True)
        if exc.hint:
            echo_safe(f"Hint: {exc.hint}", err=True)


def _render_list(rows: list[ListRow], *, as_json: bool, plain: bool, cfg: LoadedConfig) -> None:
    from openclaw.models.listing import render_table

    if as_json:
        echo_json({"count": len(rows), "models": [row.to_json() for row in rows]})
    elif plain:
        for row in rows:
            echo_safe(row.key)
    else:
        echo_safe(render_table(rows))
        if not rows and not cfg.providers():
            warn("No models configured. Run `openclaw onboard` to set up LM Studio.")
