"""LM Studio URLs: server base vs inference base (lmstudio.md §2).

* server base: ``scheme://host[:port][/prefix]``; native endpoints hang off it
  (``/api/v1/models``, ``/api/v1/models/load``).
* inference base: server base + ``/v1``; the OpenAI-compatible API, and what is saved in
  ``models.providers.lmstudio.baseUrl``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import SplitResult, urlsplit, urlunsplit

from openclaw.config.kinds import LMSTUDIO

PROVIDER_ID = LMSTUDIO.id
DEFAULT_INFERENCE_BASE = str(LMSTUDIO.default_base_url)
DEFAULT_SERVER_BASE = DEFAULT_INFERENCE_BASE.removesuffix("/v1")
DOCKER_SERVER_BASE = f"http://host.docker.internal:{LMSTUDIO.default_port}"

URL_REQUIRED = "Required"
URL_INVALID = f"Enter a valid HTTP or HTTPS URL (e.g. {DEFAULT_SERVER_BASE})."

_BARE_HOST = re.compile(
    r"^(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|[a-z0-9.-]+\.[a-z]{2,}|[^/\s?#]+:\d+)(?:[/?#].*)?$",
    re.IGNORECASE | re.DOTALL,
)
_SCHEME = re.compile(r"^https?://", re.IGNORECASE)


def docker_setup(env: Mapping[str, str] | None = None) -> bool:
    value = (env if env is not None else os.environ).get("OPENCLAW_DOCKER_SETUP", "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def default_server_base(env: Mapping[str, str] | None = None) -> str:
    return DOCKER_SERVER_BASE if docker_setup(env) else DEFAULT_SERVER_BASE


def make_fetchable(value: str) -> str:
    """Prefix ``http://`` to a bare ``host[:port][/path]`` (§2.1 step 2)."""
    if _SCHEME.match(value) or value.startswith("/"):
        return value
    if _BARE_HOST.match(value):
        return "http://" + value
    return value


def _strip_suffixes(path: str) -> str:
    path = path.rstrip("/")
    if path.lower().endswith("/api/v1"):
        path = path[: -len("/api/v1")]
    if path.lower().endswith("/v1"):
        path = path[: -len("/v1")]
    return path


def _parse_http(value: str) -> SplitResult | None:
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return parts


def _netloc(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = 443 if parts.scheme.lower() == "https" else 80
    userinfo = ""
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        userinfo += "@"
    return f"{userinfo}{host}" + (f":{port}" if port is not None and port != default else "")


def server_base(value: str | None = None, *, env: Mapping[str, str] | None = None) -> str:
    """The server base of a configured URL (any form; blank -> the default)."""
    text = (value or "").strip()
    if not text:
        return default_server_base(env)
    parts = _parse_http(make_fetchable(text))
    if parts is not None:
        path = _strip_suffixes(parts.path)
        url = urlunsplit((parts.scheme.lower(), _netloc(parts), path or "/", "", ""))
        return url[:-1] if url.endswith("/") else url
    fallback = _strip_suffixes(text)
    return fallback or default_server_base(env)


def inference_base(value: str | None = None, *, env: Mapping[str, str] | None = None) -> str:
    return server_base(value, env=env) + "/v1"


def query_of(value: str | None) -> str:
    """The query string of a configured URL ('' when none), for embeddings (§8.1)."""
    try:
        return urlsplit(make_fetchable((value or "").strip())).query
    except ValueError:
        return ""


def validate_setup_url(value: str | None) -> str | None:
    """The setup prompt's validator: None when valid, else the message (§2.3)."""
    text = (value or "").strip()
    if not text:
        return URL_REQUIRED
    if _parse_http(make_fetchable(text)) is None:
        return URL_INVALID
    return None


def normalize_provider_config(provider_cfg: dict) -> dict:
    """Canonicalise ``baseUrl`` to the inference base (§2.4).

    Unlike the reference, ``request.allowPrivateNetwork: true`` is NOT added: the network
    guard already trusts the exact configured origin, and a blanket private-network opt-in
    would also open metadata addresses. Returns the same object when nothing changed.
    """
    base = provider_cfg.get("baseUrl")
    if not isinstance(base, str) or not base.strip():
        return provider_cfg
    canonical = inference_base(base)
    if canonical == base:
        return provider_cfg
    out = dict(provider_cfg)
    out["baseUrl"] = canonical
    return out
