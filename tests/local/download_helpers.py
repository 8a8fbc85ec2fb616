"""Helpers for the downloader tests (data, hashes, cache listings)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def payload(size: int, seed: str) -> bytes:
    """Deterministic, non-repeating bytes (so an offset error changes the hash)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def snapshot_entries(cache: Path) -> list[str]:
    return [p for p in tree_files(cache) if "/snapshots/" in f"/{p}" and p.count("/") >= 3]
