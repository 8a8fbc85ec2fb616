"""Remember which config content last passed validation, so reads skip pydantic.

Building the pydantic schema costs ~100 ms, more than the whole budget of `models list`.
The validated sections are hashed (with the schema revision); when the digest matches the
one recorded after the last successful validation (by a read or by our own writer), the
result is reused. Any change to those sections re-runs full validation. The stamp is a
cache: failing to read or write it only costs time.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from openclaw import __version__
from openclaw.config.atomic import atomic_write
from openclaw.config.digest import sha256_hex

# Bump when the schema changes meaning, so stamps written by older code are ignored.
SCHEMA_REVISION = "2"
STAMP_FILENAME = ".config-validated.json"


def validated_sections(data: dict) -> dict[str, Any]:
    agents = data.get("agents")
    defaults = agents.get("defaults") if isinstance(agents, dict) else None
    picked: dict[str, Any] = {"models": data.get("models"), "auth": data.get("auth")}
    if isinstance(defaults, dict):
        picked["agents.defaults"] = {
            k: defaults.get(k) for k in ("model", "imageModel", "models") if k in defaults
        }
    else:
        picked["agents"] = agents
    return picked


def digest(data: dict) -> str:
    text = json.dumps(
        [__version__, SCHEMA_REVISION, validated_sections(data)],
        sort_keys=True,
        ensure_ascii=False,
        default=repr,
    )
    return sha256_hex(text.encode())


def read_stamp(state_dir: Path, config_path: Path, value: str) -> list[list[str]] | None:
    """The stored unknown-key warnings when the stamp matches, else None."""
    try:
        stamp = json.loads((state_dir / STAMP_FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        isinstance(stamp, dict)
        and stamp.get("path") == str(config_path)
        and stamp.get("digest") == value
        and isinstance(stamp.get("warnings"), list)
    ):
        return stamp["warnings"]
    return None


def write_stamp(
    state_dir: Path, config_path: Path, value: str, warnings: list[tuple[str, str]]
) -> None:
    """Record a successful validation; never creates the state dir, ignores write errors."""
    if not state_dir.is_dir():
        return
    body = {"path": str(config_path), "digest": value, "warnings": [list(w) for w in warnings]}
    with contextlib.suppress(OSError):
        atomic_write(state_dir / STAMP_FILENAME, json.dumps(body).encode("utf-8"))
