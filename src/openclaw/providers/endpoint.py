"""One resolved connection to a provider: base URL, headers, credential, network policy, timeout.

Every request path — discovery, probe, preload, chat, embeddings, downloads — starts from an
:class:`Endpoint` built by :func:`resolve_endpoint`, so the rules (alias lookup, default URL of
the kind, header SecretRefs, key precedence, exact-origin trust) are applied in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.config.kinds import ProviderKind, canonical_provider_id, kind_for
from openclaw.config.settings import ModelSettings, ProviderSettings
from openclaw.errors import ConfigError

if TYPE_CHECKING:
    from openclaw.auth.resolve import Credential
    from openclaw.config.loader import LoadedConfig
    from openclaw.net.client import GuardedAsyncClient
    from openclaw.net.policy import NetPolicy


@dataclass(frozen=True)
class Endpoint:
    provider_id: str  # the key under models.providers, as the user wrote it
    kind: ProviderKind
    base_url: str  # as configured (or the kind's default), no trailing slash
    provider: ProviderSettings = field(repr=False)
    #: Provider, model-row and request headers merged in that order, SecretRefs resolved.
    headers: dict[str, str] = field(repr=False)
    credential: Credential = field(repr=False)
    policy: NetPolicy = field(repr=False)
    timeout_seconds: float | None = None

    @property
    def api_key(self) -> str | None:
        return self.credential.key

    @property
    def provider_config(self) -> dict[str, Any]:
        """The provider's config as written, for keys only its kind reads."""
        return self.provider.raw

    def request_headers(self) -> dict[str, str]:
        """Headers for a request: the configured ones, plus the key as a Bearer token unless a
        configured Authorization header already authenticates (header auth wins)."""
        out = dict(self.headers)
        key = self.credential.key
        if key and not any(name.lower() == "authorization" for name in out):
            out["Authorization"] = f"Bearer {key}"
        return out

    def client(
        self, *, timeout: float, max_body_bytes: int = 4 * 1024 * 1024
    ) -> GuardedAsyncClient:
        """A guarded client bound to this provider's policy (its origin trusted exactly)."""
        from openclaw.net.client import async_client

        return async_client(self.policy, timeout=timeout, max_body_bytes=max_body_bytes)


def _row_index(provider: ProviderSettings, model_id: str) -> int | str:
    rows = provider.raw.get("models")
    if isinstance(rows, list):
        for index, row in enumerate(rows):
            if isinstance(row, dict) and row.get("id") == model_id:
                return index
    return "?"


def _base_url(
    provider_id: str,
    kind: ProviderKind,
    provider: ProviderSettings,
    row: Mapping[str, Any],
    env: Mapping[str, str],
) -> str:
    """The row's or provider's baseUrl, else the kind's server (``OLLAMA_HOST`` included)."""
    base = ModelSettings.read(row, provider).configured_base_url or kind.default_base(env)
    if base is None:
        raise ConfigError(
            f"Provider {provider_id} has no baseUrl",
            hint=f"Set models.providers.{provider_id}.baseUrl to the server's /v1 URL.",
        )
    return base.rstrip("/")


def provider_base(
    cfg: LoadedConfig, provider_id: str, row: Mapping[str, Any] | None = None
) -> tuple[str, ProviderKind, ProviderSettings, str]:
    """(config key as written, kind, typed settings, base URL) of a provider given by id or
    alias. A kind with a default server (``lmstudio``, ``ollama``, ...) resolves unconfigured
    too; ConfigError for another provider that is not configured or has no usable URL."""
    key = cfg.provider_key(provider_id) or provider_id
    provider_cfg = cfg.provider(key)
    if provider_cfg is None and kind_for(key).default_base_url is not None:
        # A kind with a well-known server (LM Studio, Ollama) needs no config; unconfigured,
        # it goes by its canonical id (the key a later `onboard` would write).
        key = canonical_provider_id(key)
        provider_cfg = {}
    if provider_cfg is None:
        raise ConfigError(
            f'Provider "{provider_id}" is not configured',
            hint="See `openclaw models list`, or run `openclaw onboard`.",
        )
    kind = kind_for(key, provider_cfg)
    provider = ProviderSettings.read(provider_cfg)
    return key, kind, provider, _base_url(key, kind, provider, row or {}, cfg.env)


def resolve_endpoint(
    cfg: LoadedConfig,
    provider_id: str,
    *,
    row: Mapping[str, Any] | None = None,
    profile: str | None = None,
    agent_id: str = "main",
    require_key: bool = False,
) -> Endpoint:
    """The endpoint of a provider (by id or alias; see :func:`provider_base`), for one model
    row when given.

    ConfigError for a provider that cannot be resolved; AuthError when ``require_key`` and the
    provider needs a key that is not configured."""
    from openclaw.auth.resolve import resolve_credential, resolve_headers
    from openclaw.net.policy import provider_policy

    key, kind, provider, base_url = provider_base(cfg, provider_id, row)
    model_row = dict(row or {})
    request_cfg = provider.raw.get("request")
    request_cfg = request_cfg if isinstance(request_cfg, dict) else {}
    where = f"models.providers.{key}"
    sources: list[tuple[Any, str]] = [(provider.raw.get("headers"), f"{where}.headers")]
    if model_row:
        index = _row_index(provider, str(model_row.get("id", "")))
        sources.append((model_row.get("headers"), f"{where}.models[{index}].headers"))
    sources.append((request_cfg.get("headers"), f"{where}.request.headers"))
    headers: dict[str, str] = {}
    for raw, location in sources:
        headers.update(resolve_headers(raw, cfg.env, location))
    return Endpoint(
        provider_id=key,
        kind=kind,
        base_url=base_url,
        provider=provider,
        headers=headers,
        credential=resolve_credential(
            cfg, key, profile=profile, agent_id=agent_id, required=require_key
        ),
        policy=provider_policy(key, base_url, provider.allow_private_network),
        timeout_seconds=provider.timeout_seconds,
    )
