"""Which credential a request to a provider uses, and where it came from (core.md §4.2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.auth.markers import is_marker, marker_env_var
from openclaw.auth.redact import mask_secret
from openclaw.config.envsubst import unresolved_names
from openclaw.config.kinds import key_env_var, kind_for
from openclaw.config.urls import is_private_base_url
from openclaw.config.util import format_path
from openclaw.errors import AuthError, ConfigError

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig


@dataclass(frozen=True)
class Credential:
    provider: str
    key: str | None = field(repr=False)
    source: str  # "profile" | "env" | "config" | "marker" | "none"
    detail: str
    #: Variables whose ``${VAR}`` stayed unresolved in the provider's apiKey (for hints).
    unresolved: tuple[str, ...] = ()

    def masked(self) -> str:
        if self.key:
            return mask_secret(self.key)
        if self.source == "marker":
            return f"marker {self.detail}"
        return "none"

    def describe(self) -> str:
        """``profile lmstudio:default`` / ``env LM_API_TOKEN`` / ``marker lmstudio-local``."""
        if self.source == "none":
            if self.unresolved:
                return f"missing (${{{self.unresolved[0]}}} is not set)"
            return "none"
        return f"{self.source} {self.detail}"

    @property
    def usable(self) -> bool:
        """A key to send, or a marker that stands for intentional keyless access."""
        return self.key is not None or self.source == "marker"


def _api_key_path(provider_id: str) -> str:
    return format_path(["models", "providers", provider_id, "apiKey"])


def is_keyless_ok(provider_id: str, provider_cfg: dict | None) -> bool:
    base = (provider_cfg or {}).get("baseUrl") or (provider_cfg or {}).get("baseURL")
    if isinstance(base, str):
        return is_private_base_url(base)
    return kind_for(provider_id, provider_cfg).keyless


def no_key_error(
    cfg: LoadedConfig, provider_id: str, agent_id: str, unresolved: tuple
) -> AuthError:
    store = cfg.paths.auth_profiles_path(agent_id)
    message = (
        f'No API key found for provider "{provider_id}". Auth store: {store} '
        f"(agentDir: {cfg.paths.agent_dir(agent_id)}). Configure auth for this agent "
        f"(openclaw agents add {provider_id}) or copy auth-profiles.json from the main agentDir."
    )
    if unresolved:
        hint = f"Set {unresolved[0]} (referenced by {_api_key_path(provider_id)})."
    else:
        hint = key_setup_hint(provider_id, cfg.provider(provider_id))
    return AuthError(message, hint=hint)


def key_setup_hint(provider_id: str, provider_cfg: Mapping[str, Any] | None) -> str:
    """Where this provider's key goes, from the registry: its kind's key variable and its
    kind's own ``--auth-choice`` (never another kind's), else the config's apiKey."""
    kind = kind_for(provider_id, provider_cfg)
    env_var = key_env_var(provider_id, provider_cfg)
    # A kind with several set-ups (llama.cpp: engine or existing server) gets the plain command.
    choices = list(kind.onboard_choices)
    choice = choices[0] if len(choices) == 1 else None
    onboard = f"`openclaw onboard --auth-choice {choice}`" if choice else "`openclaw onboard`"
    where = f"models.providers.{provider_id}.apiKey"
    if env_var:
        return f"Set {env_var} (or {where}), or run {onboard}."
    return f"Set {where}, or run {onboard}."


def resolve_credential(
    cfg: LoadedConfig,
    provider_id: str,
    *,
    profile: str | None = None,
    agent_id: str = "main",
    env: Mapping[str, str] | None = None,
    required: bool = False,
) -> Credential:
    from openclaw.auth.profiles import profile_secret
    from openclaw.auth.stores import open_auth_store

    environ: Mapping[str, str] = cfg.env if env is None else env
    provider_cfg = cfg.provider(provider_id) or {}
    store = open_auth_store(cfg.paths, agent_id)
    api_key_path = _api_key_path(provider_id)
    raw_key: Any = provider_cfg.get("apiKey")
    unresolved: tuple[str, ...] = ()
    if isinstance(raw_key, str):
        unresolved = tuple(cfg.unresolved_at(api_key_path)) or tuple(unresolved_names(raw_key))

    # 1. An explicit profile (ref suffix @profile, session pin or flag): that one only.
    if profile:
        entry = store.get(profile)
        secret = profile_secret(entry, environ) if entry else None
        if secret:
            return Credential(provider_id, secret, "profile", profile)
        if required:
            raise AuthError(
                f'Auth profile "{profile}" for provider "{provider_id}" not found or has no key',
                hint=f"Add it with `openclaw onboard` (store: {cfg.paths.display(store.path)}).",
            )
        return Credential(provider_id, None, "none", profile)

    # 2. What the config's apiKey contributes: a literal key, an env lookup, or a marker.
    config_key, marker, lookup_vars = _config_api_key(raw_key, unresolved)

    # 3. Custom providers (no well-known env var): an explicit config key comes first.
    provider_env_var = key_env_var(provider_id, provider_cfg)
    if config_key and provider_env_var is None:
        return Credential(provider_id, config_key, "config", api_key_path)

    # 4. Stored profiles in rotation order, skipping those cooling down.
    config_order = _config_order(cfg, provider_id)
    for profile_id, entry in store.for_provider(provider_id, config_order, skip_cooldown=True):
        secret = profile_secret(entry, environ)
        if secret:
            return Credential(provider_id, secret, "profile", profile_id)

    # 5. The provider's environment variable (and one a marker names).
    env_vars = list(dict.fromkeys([*lookup_vars, provider_env_var or ""]))
    for name in filter(None, env_vars):
        value = environ.get(name, "").strip()
        if value:
            return Credential(provider_id, value, "env", name)

    # 6. The config's own key.
    if config_key:
        return Credential(provider_id, config_key, "config", api_key_path)

    # 7. A non-secret marker: configured, never sent.
    if marker:
        return Credential(provider_id, None, "marker", marker)

    # 8. Nothing usable.
    if required and not is_keyless_ok(provider_id, provider_cfg):
        raise no_key_error(cfg, provider_id, agent_id, unresolved)
    detail = f"${{{unresolved[0]}}} unset" if unresolved else ""
    return Credential(provider_id, None, "none", detail, unresolved)


def _config_api_key(
    raw_key: Any, unresolved: tuple[str, ...]
) -> tuple[str | None, str | None, list[str]]:
    """(literal key, non-secret marker, environment variables to look in) of a configured
    ``apiKey``: an env SecretRef names its variable, a marker may name one, and a string whose
    ``${VAR}`` stayed unresolved contributes nothing."""
    if isinstance(raw_key, dict) and raw_key.get("source") == "env" and raw_key.get("id"):
        return None, None, [str(raw_key["id"])]
    if not isinstance(raw_key, str) or not raw_key.strip() or unresolved:
        return None, None, []
    value = raw_key.strip()
    if not is_marker(value):
        return value, None, []
    ref_var = marker_env_var(value)
    return None, value, [ref_var] if ref_var else []


def _config_order(cfg: LoadedConfig, provider_id: str) -> list[str]:
    auth = cfg.data.get("auth")
    order = auth.get("order") if isinstance(auth, dict) else None
    ids = order.get(provider_id) if isinstance(order, dict) else None
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def resolve_headers(raw: Any, env: Mapping[str, str], where: str) -> dict[str, str]:
    """Configured headers as they go on the wire: strings trimmed (blank ones dropped) and
    env SecretRefs ``{"source": "env", "id": "VAR"}`` resolved from ``env``.

    An unresolved SecretRef or a value of another type raises ConfigError naming
    ``<where>.<Name>`` before any request: dropping it would send the request without a
    header the user configured. ``where`` is the dotted config path of the headers object.
    """
    if not isinstance(raw, dict):
        return {}
    out: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(name, str):
            continue
        path = f"{where}.{name}"
        if isinstance(value, str):
            if value.strip():
                out[name] = value.strip()
            continue
        if isinstance(value, dict) and value.get("source") == "env" and value.get("id"):
            var = str(value["id"])
            resolved = env.get(var, "").strip()
            if not resolved:
                raise ConfigError(
                    f"{path} refers to the environment variable {var}, which is not set",
                    hint=f"Set {var}, or remove the header from the config.",
                )
            out[name] = resolved
            continue
        kind = "SecretRef" if isinstance(value, dict) else type(value).__name__
        raise ConfigError(
            f"{path} must be a string or an env SecretRef (got {kind})",
            hint=f'Use a string value or {{"source": "env", "id": "VAR"}} for {path}.',
        )
    return out
