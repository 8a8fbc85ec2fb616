"""Keeping secrets out of output: masks, text redaction and config redaction."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from openclaw.auth.markers import is_marker
from openclaw.config.util import REDACTED

__all__ = [
    "REDACTED",
    "authored_view",
    "is_header_secret",
    "is_secret_key",
    "mask_secret",
    "redact_config",
    "redact_sent_headers",
    "redact_text",
]
_MIN_MASKABLE = 12

# Config keys whose values are secrets. "maxTokens"/"contextTokens" end in "tokens" and
# are numbers, so only the singular forms count.
# (Patterns are kept as text: `re` compiles and caches them on first use, so a command that
# redacts nothing does not pay for them at start-up.)
_SECRET_KEY = (
    r"(?i)(^|[-_])?(api[-_]?key|apikey|token|secret|password|passphrase|access|refresh|"
    r"authorization|key|private[-_]?key|client[-_]?secret)$"
)
_PLACEHOLDER_ONLY = r"^(?:\$\{[A-Z_][A-Z0-9_]*(?::-[^${}]*)?\})+$"
# ``scheme://user:password@host``: the whole URL is redacted (the sentinel round-trips only
# as a whole value).
_URL_PASSWORD = r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s:]*:([^/?#@\s]+)@"


def mask_secret(secret: str) -> str:
    """``sk-l…0001``: first 4 and last 4 characters; short secrets are fully masked."""
    if len(secret) < _MIN_MASKABLE:
        return "****"
    return f"{secret[:4]}…{secret[-4:]}"


def redact_text(
    text: str,
    secrets: Iterable[str | None],
    replacement: str | None = None,
    *,
    min_length: int = 4,
) -> str:
    """Every secret in ``text`` (longest first) replaced by ``replacement``, or by its mask
    (``sk-l…0001``) when none is given. Values shorter than ``min_length`` are left alone (a
    2-letter "key" would shred the text)."""
    wanted = {s for s in secrets if s and len(s) >= min_length}
    for secret in sorted(wanted, key=len, reverse=True):
        text = text.replace(secret, mask_secret(secret) if replacement is None else replacement)
    return text


# Credentials that may show up in a server's echo of a request even when we do not know them.
_CREDENTIAL_PATTERNS = (
    (r"(?i)(authorization\s*[:=]\s*bearer\s+)[^\s\"',;]+", r"\1***"),
    (r"(?i)\bbearer\s+[A-Za-z0-9._~+/=:-]{16,}", "Bearer ***"),
    (r"\bsk-[A-Za-z0-9_:-]{8,}", "***"),
)


def redact_sent_headers(text: str, sent_headers: Mapping[str, str]) -> str:
    """Server text that may echo what we sent: every header value we sent (and the token of an
    Authorization header) becomes ``***``, as do bearer tokens and ``sk-`` keys."""
    candidates: set[str] = set()
    for name, value in sent_headers.items():
        value = value.strip()
        if name.lower() == "content-type" or not value:
            continue
        candidates.add(value)
        if name.lower() == "authorization":
            scheme_and_token = value.split(None, 1)
            if len(scheme_and_token) == 2 and scheme_and_token[1].strip():
                candidates.add(scheme_and_token[1].strip())
    # Whatever we sent is redacted, however short: the server echoed our own request.
    text = redact_text(text, candidates, "***", min_length=1)
    for pattern, repl in _CREDENTIAL_PATTERNS:
        text = re.sub(pattern, repl, text)
    return text


def is_secret_key(key: str) -> bool:
    return bool(re.search(_SECRET_KEY, key)) and not key.lower().endswith("tokens")


def is_header_secret(name: str) -> bool:
    lowered = name.lower()
    return lowered in {"authorization", "proxy-authorization", "cookie"} or any(
        part in lowered for part in ("key", "token", "secret", "auth")
    )


def _needs_redaction(value: str) -> bool:
    return bool(value) and not is_marker(value) and not re.match(_PLACEHOLDER_ONLY, value)


def _url_with_password(value: str) -> bool:
    match = re.match(_URL_PASSWORD, value)
    return match is not None and not re.match(_PLACEHOLDER_ONLY, match.group(1))


def redact_config(node: Any, key: str | None = None, *, in_headers: bool = False) -> Any:
    """A copy of config data with secret values replaced by the sentinel.

    Secret values: keys named like secrets, secret-looking headers, ``auth.value`` (the
    header value of ``request.auth``) and URLs carrying a password. Markers and bare
    ``${VAR}`` placeholders are not secrets and are shown as they are.
    """
    if isinstance(node, str):
        return REDACTED if _url_with_password(node) else node
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for child_key, value in node.items():
            secret_slot = (
                is_secret_key(child_key)
                or (in_headers and is_header_secret(child_key))
                or (key == "auth" and child_key == "value")
            )
            if secret_slot and isinstance(value, str):
                out[child_key] = REDACTED if _needs_redaction(value) else value
            elif secret_slot and isinstance(value, dict) and "source" in value and "id" in value:
                out[child_key] = value  # a SecretRef names where the secret is, not the secret
            else:
                out[child_key] = redact_config(
                    value, child_key, in_headers=child_key.lower() == "headers"
                )
        return out
    if isinstance(node, list):
        return [redact_config(v, key) for v in node]
    return node


def authored_view(data: Any, authored: Any) -> Any:
    """``data`` with every string that came from ``${VAR}`` shown as written.

    Substituted values may be secrets under any key name (a header, a URL with a token),
    so displays show the reference instead of what it resolved to.
    """
    if isinstance(data, dict) and isinstance(authored, dict):
        return {k: authored_view(v, authored.get(k)) for k, v in data.items()}
    if isinstance(data, list) and isinstance(authored, list) and len(data) == len(authored):
        return [authored_view(v, a) for v, a in zip(data, authored, strict=True)]
    if isinstance(data, str) and isinstance(authored, str) and "${" in authored:
        return authored
    return data
