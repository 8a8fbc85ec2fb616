"""Talking to LM Studio's native catalog: ``GET /api/v1/models`` (lmstudio.md §3).

All HTTP goes through the network guard (``openclaw.net.client``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.errors import (
    NetworkError,
    OpenClawError,
    ProviderAuthError,
    ProviderHTTPError,
    SsrfBlockedError,
    UnreachableError,
)
from openclaw.providers.lmstudio.urls import PROVIDER_ID, inference_base, server_base

if TYPE_CHECKING:
    from openclaw.net.client import GuardedAsyncClient
    from openclaw.net.policy import NetPolicy
    from openclaw.providers.endpoint import Endpoint

DISCOVERY_TIMEOUT = 5.0
MAX_TIMEOUT = 2_147_000.0  # seconds (the reference's 2_147_000_000 ms clamp)
MAX_JSON_BYTES = 16 * 1024 * 1024
LOCAL_MARKER = "lmstudio-local"
MALFORMED_LIST = "LM Studio model list: malformed JSON response"


def clamp_timeout(seconds: float | None, default: float) -> float:
    if seconds is None or seconds != seconds:  # None or NaN
        return default
    return min(max(seconds, 0.001), MAX_TIMEOUT)


def _is_non_secret(key: str) -> bool:
    if key == LOCAL_MARKER:
        return True
    from openclaw.auth.markers import is_marker

    return is_marker(key)


def build_auth_headers(
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    json_body: bool = False,
) -> dict[str, str] | None:
    """Request headers for LM Studio (§3.2): a real key replaces any Authorization header."""
    out = dict(headers or {})
    key = (api_key or "").strip()
    if key and not _is_non_secret(key):
        for name in [n for n in out if n.lower() == "authorization"]:
            del out[name]
        out["Authorization"] = f"Bearer {key}"
    if json_body:
        out["Content-Type"] = "application/json"
    return out or None


def provider_headers(
    raw: Any, env: Mapping[str, str] | None = None, *, provider_id: str = PROVIDER_ID
) -> dict[str, str] | None:
    """Configured ``headers`` as sent (§9.1), env SecretRefs resolved (default: the process
    environment); see ``auth.resolve.resolve_headers``."""
    from openclaw.auth.resolve import resolve_headers

    environ: Mapping[str, str] = os.environ if env is None else env
    return resolve_headers(raw, environ, f"models.providers.{provider_id}.headers") or None


def has_authorization(headers: Mapping[str, Any] | None) -> bool:
    """A configured Authorization header (any case, non-blank value): header auth wins."""
    return any(
        isinstance(k, str) and k.strip().lower() == "authorization" and v
        for k, v in (headers or {}).items()
    )


def runtime_api_key(endpoint: Endpoint) -> str | None:
    """The key to send (§9.1): none under header auth, else the resolved real key (profile,
    env, config).

    A configured ``apiKey`` whose variable is unset counts as missing, exactly as on the
    chat path (issue #2): the loader has already warned and named the variable, a keyless
    server still answers, and one that needs a key says 401 with where the key comes from.
    (The reference refuses before sending, §10 items 68 and 134.)"""
    return None if has_authorization(endpoint.headers) else endpoint.api_key


@dataclass
class CatalogFetch:
    """Outcome of one catalog fetch: transport failure (no status), HTTP status, or models."""

    reachable: bool
    status: int | None = None
    models: list[dict[str, Any]] = field(default_factory=list)
    error: OpenClawError | None = None


def provider_policy(base_url: str, provider_cfg: Mapping[str, Any] | None = None) -> NetPolicy:
    """The guard policy for an LM Studio origin: the exact configured origin is trusted."""
    from openclaw.net.policy import policy_for_provider_config

    cfg = dict(provider_cfg or {})
    cfg["baseUrl"] = inference_base(base_url)
    return policy_for_provider_config(PROVIDER_ID, cfg)


def parse_catalog(body: bytes) -> list[dict[str, Any]]:
    """Plain-object entries of a catalog body; MalformedResponseError-free: raises ValueError."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError(MALFORMED_LIST) from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ValueError(MALFORMED_LIST)
    raw = data["models"]
    entries = [m for m in raw if isinstance(m, dict)]
    if raw and not entries:
        raise ValueError(MALFORMED_LIST)
    return entries


async def fetch_models(
    base_url: str | None,
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    policy: NetPolicy | None = None,
    client: GuardedAsyncClient | None = None,
) -> CatalogFetch:
    """``GET {server}/api/v1/models``; never raises for network or HTTP failures."""
    from openclaw.errors import MalformedResponseError
    from openclaw.net.client import async_client

    url = server_base(base_url) + "/api/v1/models"
    request_headers = build_auth_headers(api_key, headers) or {}
    seconds = clamp_timeout(timeout, DISCOVERY_TIMEOUT)
    own = client is None
    if client is None:
        client = async_client(
            policy or provider_policy(base_url or ""),
            timeout=seconds,
            max_body_bytes=MAX_JSON_BYTES,
        )
    try:
        response = await client.request(
            "GET", url, headers=request_headers, timeout=seconds, max_body_bytes=MAX_JSON_BYTES
        )
    except NetworkError as exc:
        return CatalogFetch(reachable=False, error=exc)
    finally:
        if own:
            await client.aclose()
    status = response.status_code
    if status < 200 or status >= 300:
        return CatalogFetch(reachable=True, status=status)
    try:
        entries = parse_catalog(response.content)
    except ValueError as exc:
        return CatalogFetch(reachable=False, status=status, error=MalformedResponseError(str(exc)))
    return CatalogFetch(reachable=True, status=status, models=entries)


def start_hint(base_url: str | None) -> str:
    """How to start the server, with the port of the URL actually configured."""
    from openclaw.config.kinds import LMSTUDIO

    return LMSTUDIO.start_hint_for(base_url)


def key_hint() -> str:
    """Where the key goes: the kind's variable and its own --auth-choice (from the registry)."""
    from openclaw.config.kinds import LMSTUDIO

    choice = next(iter(LMSTUDIO.onboard_choices), LMSTUDIO.id)
    return f"Set {LMSTUDIO.key_env_var} or run `openclaw onboard --auth-choice {choice}`."


def catalog_error(result: CatalogFetch, base_url: str) -> OpenClawError:
    """A typed error for a failed fetch (runtime discovery / models list --refresh)."""
    base = inference_base(base_url)
    if result.status is not None and result.status >= 400:
        if result.status in (401, 403):
            return ProviderAuthError(
                f"LM Studio rejected the credentials (HTTP {result.status}) while listing "
                f"models at {base}.",
                status=result.status,
                hint=key_hint(),
            )
        return ProviderHTTPError(
            f"LM Studio returned HTTP {result.status} while listing models at {base}.",
            status=result.status,
            hint="Check the base URL, then retry.",
        )
    err = result.error
    if isinstance(err, SsrfBlockedError) or (err is not None and not isinstance(err, NetworkError)):
        return err
    if err is None or isinstance(err, UnreachableError):
        from openclaw.config.kinds import LMSTUDIO

        return UnreachableError(
            f"LM Studio is unreachable at {base}.", hint=LMSTUDIO.start_hint_for(base)
        )
    # It answered, but too slowly, too much, or not to the end: say which (the network
    # layer's message names it), never "unreachable" with a hint to start a running server.
    return type(err)(f"Listing LM Studio models at {base} failed: {err.message}", hint=err.hint)
