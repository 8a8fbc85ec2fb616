"""SHA-256 without importing hashlib: hashlib loads OpenSSL (~3 ms) on every start-up."""

from __future__ import annotations

try:
    from _sha256 import sha256 as _sha256  # CPython's built-in implementation
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import sha256 as _sha256


def sha256_hex(data: bytes) -> str:
    return _sha256(data).hexdigest()
