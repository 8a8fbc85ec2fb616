"""``$include`` directives (core.md §1.4).

A single path replaces the object (siblings merged on top); a list deep-merges the files in
order (later wins) before the siblings. Paths are relative to the including file and must
stay inside the config directory or a root listed in ``OPENCLAW_INCLUDE_ROOTS``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openclaw.config.parse import parse_document, read_text
from openclaw.config.util import deep_merge
from openclaw.errors import IncludeError

INCLUDE_KEY = "$include"
MAX_INCLUDE_DEPTH = 10
MAX_INCLUDE_PATH_CHARS = 4096
MAX_INCLUDE_BYTES = 2 * 1024 * 1024


def has_includes(node: Any) -> bool:
    if isinstance(node, dict):
        return INCLUDE_KEY in node or any(has_includes(v) for v in node.values())
    if isinstance(node, list):
        return any(has_includes(v) for v in node)
    return False


def allowed_roots(config_path: Path, env: Mapping[str, str]) -> list[Path]:
    roots = [config_path.parent.resolve()]
    for entry in env.get("OPENCLAW_INCLUDE_ROOTS", "").split(os.pathsep):
        if entry.strip():
            roots.append(Path(os.path.expanduser(entry.strip())).resolve())
    return roots


def resolve_includes(document: dict, config_path: Path, env: Mapping[str, str]) -> dict:
    """Return a copy of ``document`` with every ``$include`` inlined."""
    if not has_includes(document):
        return document
    roots = allowed_roots(config_path, env)
    try:
        resolved = _resolve(document, config_path.resolve(), roots, (config_path.resolve(),), 0)
    except RecursionError:  # each file is depth-checked; only stacked includes get here
        raise IncludeError(
            f"$include in {config_path}: the merged config is nested too deeply"
        ) from None
    assert isinstance(resolved, dict)
    return resolved


def _resolve(
    node: Any, current: Path, roots: list[Path], chain: tuple[Path, ...], depth: int
) -> Any:
    if isinstance(node, list):
        return [_resolve(v, current, roots, chain, depth) for v in node]
    if not isinstance(node, dict):
        return node
    siblings = {
        k: _resolve(v, current, roots, chain, depth) for k, v in node.items() if k != INCLUDE_KEY
    }
    if INCLUDE_KEY not in node:
        return siblings
    spec = node[INCLUDE_KEY]
    if isinstance(spec, str):
        targets = [spec]
    elif isinstance(spec, list) and all(isinstance(s, str) for s in spec):
        targets = list(spec)
    else:
        raise IncludeError(
            f"Invalid $include in {current}: expected a path or a list of paths",
        )
    merged: Any = {}
    for target in targets:
        merged = deep_merge(merged, _load_include(target, current, roots, chain, depth))
    return deep_merge(merged, siblings)


def _load_include(
    target: str, current: Path, roots: list[Path], chain: tuple[Path, ...], depth: int
) -> dict:
    if depth + 1 > MAX_INCLUDE_DEPTH:
        raise IncludeError(
            f'$include "{target}" in {current}: nesting deeper than {MAX_INCLUDE_DEPTH} levels'
        )
    if not target or len(target) >= MAX_INCLUDE_PATH_CHARS or "\x00" in target:
        raise IncludeError(f"$include in {current}: invalid include path")
    candidate = Path(os.path.expanduser(target))
    if not candidate.is_absolute():
        candidate = current.parent / candidate
    resolved = candidate.resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        raise IncludeError(
            f'$include "{target}" in {current}: path is outside the config directory',
            hint="Move the file next to openclaw.json or list its directory in "
            "OPENCLAW_INCLUDE_ROOTS.",
        )
    if resolved in chain:
        raise IncludeError(f'$include "{target}" in {current}: include cycle detected')
    try:
        size = resolved.stat().st_size
    except OSError:
        raise IncludeError(f'$include "{target}" in {current}: file not found') from None
    if size > MAX_INCLUDE_BYTES:
        raise IncludeError(f'$include "{target}" in {current}: file is larger than 2 MB')
    document, _ = parse_document(read_text(resolved, max_bytes=MAX_INCLUDE_BYTES), resolved)
    resolved_doc = _resolve(document, resolved, roots, (*chain, resolved), depth + 1)
    assert isinstance(resolved_doc, dict)
    return resolved_doc
