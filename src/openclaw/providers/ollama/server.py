"""One Ollama server as a target for requests: root URL, headers, network policy, key.

Keys follow ollama.md pain point 9: a local, private, ``.local`` or bare-hostname server is
keyless (marker ``ollama-local``); ``OLLAMA_API_KEY`` is a key for remote hosts (ollama.com or
a remote proxy) and is never sent to a local one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.config.kinds import OLLAMA
from openclaw.config.urls import is_private_base_url
from openclaw.errors import MalformedResponseError, ProviderHTTPError
from openclaw.llm.errors import error_text
from openclaw.llm.ollama_chat import native_base
from openclaw.llm.ollama_wire import printable

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.llm.types import ModelSpec
    from openclaw.net.policy import NetPolicy

DISCOVERY_TIMEOUT = 5.0
SHOW_TIMEOUT = 3.0
MAX_JSON_BYTES = 16 * 1024 * 1024
KEY_ENV_VAR = OLLAMA.key_env_var or "OLLAMA_API_KEY"


def default_base_url(env: Mapping[str, str]) -> str:
    """``OLLAMA_HOST`` (``host``, ``host:port`` or a URL) when set, else the registry default."""
    return str(OLLAMA.default_base(env))


def is_local_host(base_url: str) -> bool:
    return is_private_base_url(base_url)


def key_for_host(base_url: str, key: str | None, source: str) -> str | None:
    """The key to send: an ``OLLAMA_API_KEY`` from the environment only to a remote host."""
    if key and source.startswith(f"env {KEY_ENV_VAR}") and is_local_host(base_url):
        return None
    return key


@dataclass(frozen=True)
class Server:
    base: str  # Ollama's root URL, no /v1
    policy: NetPolicy
    api_key: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    def request_headers(self, json_body: bool = False) -> dict[str, str]:
        out = dict(self.headers)
        if self.api_key:
            out["Authorization"] = f"Bearer {self.api_key}"
        if json_body:
            out["Content-Type"] = "application/json"
        return out


def server_of_spec(spec: ModelSpec) -> Server:
    return Server(native_base(spec.base_url), spec.policy, spec.api_key, dict(spec.headers))


def server_of_config(cfg: LoadedConfig, provider_id: str) -> Server:
    """The native server of a configured provider, from its :class:`Endpoint` (base URL with
    ``OLLAMA_HOST`` as the default, headers, key, policy)."""
    from openclaw.providers.endpoint import resolve_endpoint

    endpoint = resolve_endpoint(cfg, provider_id)
    base = native_base(endpoint.base_url)
    key = key_for_host(base, endpoint.api_key, endpoint.credential.describe())
    return Server(base, endpoint.policy, key, endpoint.headers)


def server_for_url(
    base_url: str, api_key: str | None = None, provider_id: str = "ollama"
) -> Server:
    from openclaw.net.policy import provider_policy

    base = native_base(base_url)
    return Server(base, provider_policy(provider_id, base, None), api_key)


def _decode(response: Any, what: str) -> Any:
    if response.status_code >= 400:
        raw = response.content
        text = printable(error_text(raw)) if raw.strip() else "(empty body)"
        raise ProviderHTTPError(
            f"Ollama {what} failed: HTTP {response.status_code}: {text}",
            status=response.status_code,
            body_excerpt=text,
        )
    try:
        return json.loads(response.content)
    except ValueError:
        raise MalformedResponseError(
            f"Ollama {what} did not return JSON",
            hint=f"Check that the URL points at Ollama (http://HOST:{OLLAMA.default_port}, "
            "without /v1).",
        ) from None


async def get_json(server: Server, path: str, timeout: float = DISCOVERY_TIMEOUT) -> Any:
    from openclaw.net.client import async_client

    async with async_client(server.policy, timeout=timeout, max_body_bytes=MAX_JSON_BYTES) as c:
        response = await c.request("GET", server.base + path, headers=server.request_headers())
    return _decode(response, f"GET {path}")


async def post_json(server: Server, path: str, body: dict, timeout: float = SHOW_TIMEOUT) -> Any:
    from openclaw.net.client import async_client

    async with async_client(server.policy, timeout=timeout, max_body_bytes=MAX_JSON_BYTES) as c:
        response = await c.request(
            "POST", server.base + path, json=body, headers=server.request_headers(True)
        )
    return _decode(response, f"POST {path}")


def post_json_sync(server: Server, path: str, body: dict, timeout: float = SHOW_TIMEOUT) -> Any:
    """:func:`post_json` for synchronous callers (spec resolution), also from inside a running
    event loop."""
    from openclaw.net.blocking import blocking_client

    with blocking_client(server.policy, timeout=timeout, max_body_bytes=MAX_JSON_BYTES) as c:
        response = c.request(
            "POST", server.base + path, json=body, headers=server.request_headers(True)
        )
    return _decode(response, f"POST {path}")
