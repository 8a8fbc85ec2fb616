"""What `openclaw models status` reports: the model selection and where each provider's
credentials come from (core.md §3.4). Pure config and auth-store reading, no network; the live
probe is :mod:`openclaw.providers.probe`.

``--check`` exit codes follow core.md §3.4: 0 ok, 1 when a provider in use has missing or
expired credentials, 2 when a credential of a provider in use expires soon.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from openclaw.auth.redact import mask_secret
from openclaw.auth.resolve import Credential, is_keyless_ok, resolve_credential
from openclaw.auth.stores import open_auth_store
from openclaw.config.kinds import key_env_var
from openclaw.models.catalog import (
    default_model_ref,
    fallback_refs,
    image_fallback_refs,
    image_model_ref,
    resolved_default_ref,
)
from openclaw.models.refs import agent_model_entries, alias_map, try_parse

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig

#: A profile credential that expires within this window counts as "expiring soon" (exit 2).
EXPIRING_SOON_SECONDS = 24 * 3600

CHECK_OK, CHECK_MISSING, CHECK_EXPIRING = 0, 1, 2


def _providers_in_use(cfg: LoadedConfig, agent_id: str) -> list[str]:
    refs = [
        resolved_default_ref(cfg, agent_id),
        *fallback_refs(cfg, agent_id),
        image_model_ref(cfg, agent_id),
        *image_fallback_refs(cfg, agent_id),
    ]
    in_use: list[str] = []
    for ref in refs:
        parsed = try_parse(ref, cfg) if ref else None
        if parsed and parsed.provider not in in_use:
            in_use.append(parsed.provider)
    return in_use


def _effective(cfg: LoadedConfig, pid: str, cred: Credential) -> dict[str, str]:
    if cred.source == "profile":
        return {"kind": "profiles", "detail": f"{cred.detail}={cred.masked()}"}
    if cred.source == "env":
        return {"kind": "env", "detail": f"{cred.detail}={cred.masked()}"}
    if cred.source == "config":
        return {"kind": "models.json", "detail": f"{cred.detail}={cred.masked()}"}
    if cred.source == "marker":
        return {"kind": "models.json", "detail": f"marker {cred.detail}"}
    if not cred.unresolved and is_keyless_ok(pid, cfg.provider(pid)):
        return {"kind": "keyless", "detail": "local endpoint, no key sent"}
    return {"kind": "missing", "detail": cred.describe()}


def _expiry(profile: Any, now: float) -> str | None:
    """ "expired" / "expiring" for a profile with an ``expires`` time (ms since the epoch)."""
    expires = profile.get("expires") if isinstance(profile, dict) else None
    if not isinstance(expires, int | float) or isinstance(expires, bool) or expires <= 0:
        return None
    left = expires / 1000 - now
    if left <= 0:
        return "expired"
    return "expiring" if left <= EXPIRING_SOON_SECONDS else None


def _profiles_summary(profiles: dict[str, Any], pid: str) -> dict[str, Any]:
    own = [(i, p) for i, p in profiles.items() if isinstance(p, dict) and p.get("provider") == pid]
    kinds = [str(p.get("type")) for _, p in own]
    labels = []
    for profile_id, p in own:
        secret = p.get("key") or p.get("token") or p.get("access")
        masked = mask_secret(secret) if isinstance(secret, str) and secret else "(no key)"
        labels.append(f"{profile_id}={masked}")
    return {
        "count": len(own),
        "oauth": kinds.count("oauth"),
        "token": kinds.count("token"),
        "apiKey": kinds.count("api_key"),
        "labels": labels,
    }


def _provider_row(
    cfg: LoadedConfig, pid: str, agent_id: str, profiles: dict[str, Any], now: float
) -> dict[str, Any]:
    cred = resolve_credential(cfg, pid, agent_id=agent_id)
    row: dict[str, Any] = {
        "provider": pid,
        "effective": _effective(cfg, pid, cred),
        "profiles": _profiles_summary(profiles, pid),
    }
    if cred.source == "profile":
        expiry = _expiry(profiles.get(cred.detail), now)
        if expiry:
            row["expiry"] = expiry
    env_var = key_env_var(pid, cfg.provider(pid))
    if env_var:
        value = cfg.env.get(env_var, "")
        row["env"] = {"name": env_var, "set": bool(value)}
        if value:
            row["env"]["value"] = mask_secret(value)
    return row


def _auth_overview(cfg: LoadedConfig, agent_id: str) -> dict[str, Any]:
    auth_store = open_auth_store(cfg.paths, agent_id)  # TS's SQLite store when it exists
    store_path = auth_store.path
    profiles = auth_store.load()["profiles"]
    in_use = _providers_in_use(cfg, agent_id)
    now = time.time()
    rows = [
        _provider_row(cfg, pid, agent_id, profiles, now)
        for pid in dict.fromkeys([*in_use, *cfg.providers()])
    ]
    used = [r for r in rows if r["provider"] in in_use]
    return {
        "storePath": str(store_path),
        "shellEnvFallback": {"enabled": False, "appliedKeys": []},
        "providersWithOAuth": sorted(
            {
                str(p.get("provider"))
                for p in profiles.values()
                if isinstance(p, dict) and p.get("type") == "oauth"
            }
        ),
        "missingProvidersInUse": [
            r["provider"]
            for r in used
            if r["effective"]["kind"] == "missing" or r.get("expiry") == "expired"
        ],
        "expiringProvidersInUse": [r["provider"] for r in used if r.get("expiry") == "expiring"],
        "providers": rows,
        "unusableProfiles": [],
    }


def status_data(cfg: LoadedConfig, agent_id: str) -> dict[str, Any]:
    """The `models status --json` document (core.md §3.4), probes excluded."""
    return {
        "configPath": str(cfg.path),
        "agentId": agent_id,
        "agentDir": str(cfg.paths.agent_dir(agent_id)),
        "defaultModel": default_model_ref(cfg, agent_id),
        "resolvedDefault": resolved_default_ref(cfg, agent_id),
        "fallbacks": fallback_refs(cfg, agent_id),
        "imageModel": image_model_ref(cfg, agent_id),
        "imageFallbacks": image_fallback_refs(cfg, agent_id),
        "aliases": dict(alias_map(cfg).items()),
        "allowed": list(agent_model_entries(cfg)),
        "auth": _auth_overview(cfg, agent_id),
    }


def check_exit_code(data: dict[str, Any]) -> int:
    """``--check``: 1 missing or expired credentials in use, 2 expiring soon, else 0."""
    auth = data["auth"]
    if auth["missingProvidersInUse"]:
        return CHECK_MISSING
    if auth.get("expiringProvidersInUse"):
        return CHECK_EXPIRING
    return CHECK_OK
