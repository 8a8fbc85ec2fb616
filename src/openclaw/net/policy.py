"""Network policies: who may be reached, derived from a provider's config.

A policy is plain data; ``openclaw.net.guard`` applies it to each hop. Kept import-light (no
httpx2 at import) because model specs carry a policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from openclaw.config.settings import ProviderSettings
from openclaw.net.addresses import NEVER, classify
from openclaw.net.hosts import HostKind, is_metadata_name, parse_host

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class NetPolicy:
    trusted_origin: tuple[str, str, int] | None  # (scheme, host, port) of the configured base
    allow_private_network: bool  # request.allowPrivateNetwork is True
    provider_id: str | None  # for hints (config key to change)
    same_host_redirects_only: bool
    # Extras (not in the contract's positional part):
    base_host: str | None = None  # configured host, kept even when trust is removed
    private_network_denied: bool = False  # request.allowPrivateNetwork is explicitly False
    trust_refused: str | None = None  # why the configured base gets no trust, if it does not

    @property
    def config_key(self) -> str | None:
        if self.provider_id is None:
            return None
        return f"models.providers.{self.provider_id}.request.allowPrivateNetwork"


STRICT_POLICY = NetPolicy(
    trusted_origin=None,
    allow_private_network=False,
    provider_id=None,
    same_host_redirects_only=False,
)


def effective_port(scheme: str, port: int | None) -> int | None:
    """The port that is dialled (the scheme's default when the URL has none), or None when the
    URL's port is outside 1..65535 (httpx2 accepts ``:0``, ``:-1`` and ``:99999``)."""
    if port is None:
        return DEFAULT_PORTS[scheme]
    return port if 0 < port < 65536 else None


def split_origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, normalised host, port) of an http(s) URL as httpx2 parses it, or None."""
    import httpx2

    try:
        parsed = httpx2.URL(url.strip())
    except Exception:
        return None
    scheme = parsed.scheme
    if scheme not in DEFAULT_PORTS:
        return None
    try:
        raw_host = parsed.raw_host.decode("ascii")
    except UnicodeDecodeError:
        return None
    host = parse_host(raw_host)
    port = effective_port(scheme, parsed.port)
    if host.kind is HostKind.INVALID or port is None:
        return None
    return scheme, host.value, port


def _trust_refusal(host_text: str) -> str | None:
    host = parse_host(host_text)
    if host.kind is HostKind.NAME:
        if is_metadata_name(host.value):
            return "a cloud-metadata host name is never trusted"
        return None
    if classify(host.value) & NEVER:
        return "link-local, cloud-metadata and local-use NAT64 addresses are never trusted"
    return None


def provider_policy(
    provider_id: str, base_url: str, allow_private_network: bool | None
) -> NetPolicy:
    """Exact-origin trust for the configured base URL, plus the blanket opt-in when set.

    ``allow_private_network`` is the config value: True opens other private hosts (never
    link-local, metadata or local-use NAT64), False removes the origin trust, None is unset.
    """
    origin = split_origin(base_url) if isinstance(base_url, str) else None
    base_host = origin[1] if origin else None
    refusal: str | None = None
    trusted: tuple[str, str, int] | None = None
    if origin is None:
        refusal = "the baseUrl is not a valid http(s) URL"
    elif allow_private_network is False:
        refusal = "request.allowPrivateNetwork is false"
    else:
        refusal = _trust_refusal(origin[1])
        if refusal is None:
            trusted = origin
    return NetPolicy(
        trusted_origin=trusted,
        allow_private_network=allow_private_network is True,
        provider_id=provider_id,
        same_host_redirects_only=True,
        base_host=base_host,
        private_network_denied=allow_private_network is False,
        trust_refused=refusal,
    )


def policy_for_provider_config(provider_id: str, provider_cfg: dict) -> NetPolicy:
    """``provider_cfg`` is ``models.providers.<id>`` (baseUrl, request.allowPrivateNetwork)."""
    settings = ProviderSettings.read(provider_cfg)
    return provider_policy(provider_id, settings.base_url or "", settings.allow_private_network)
