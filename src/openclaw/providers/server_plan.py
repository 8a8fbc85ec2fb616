"""Onboarding of a server that already runs: vLLM, SGLang, llama.cpp ``llama-server`` and any
custom OpenAI-compatible endpoint (``--auth-choice vllm | sglang | llama-cpp-existing-server |
custom-api-key``).

One verification request (``GET {base}/models`` with the key) comes before anything is written;
any failure raises and leaves the config byte-for-byte as it was. Rows get no
``contextWindow`` where the server reports the context it serves (discovery supplies it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from openclaw.config.kinds import OPENAI_COMPATIBLE, VLLM, ProviderKind, kind_for_choice
from openclaw.errors import (
    MalformedResponseError,
    NetworkError,
    OpenClawError,
    ProviderAuthError,
    SsrfBlockedError,
    UsageError,
)
from openclaw.providers.onboarding import OnboardOutcome, OnboardRequest

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.providers.served import ServedModel

CUSTOM_KEY_ENV = "CUSTOM_API_KEY"
KEYLESS_MARKER = "custom-local"
#: apiKey of a custom provider whose key lives in its auth profile.
PROFILE_MARKER = "secretref-managed"
MAX_ROWS = 200
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass
class ServerTarget:
    """What the user asked for, checked: the kind, its URL, id and key."""

    kind: ProviderKind
    choice: str
    base_url: str
    provider_id: str
    key: str | None = field(default=None, repr=False)
    key_source: str = "none"  # "flag" | "env VAR" | "prompt" | "none"
    headers: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.kind.label

    @property
    def custom(self) -> bool:
        return self.kind is OPENAI_COMPATIBLE


def _kind(choice: str) -> ProviderKind:
    kind = kind_for_choice(choice)
    if kind is None:
        raise UsageError(f"Unknown --auth-choice {choice!r}")
    return kind


# ---- URLs and ids ------------------------------------------------------------------------------


def url_problem(value: str) -> str | None:
    """None for a usable http(s) base URL; else what is wrong (never echoing a password)."""
    text = value.strip()
    if not text:
        return f"Enter the server's URL, e.g. {VLLM.default_base_url}"
    parts = urlsplit(text if "://" in text else f"http://{text}")
    try:
        port = parts.port
    except ValueError:
        return "Enter a valid HTTP or HTTPS URL (the port is not a number from 1 to 65535)"
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        return "Enter a valid HTTP or HTTPS URL"
    if "@" in parts.netloc:
        return "Put the API key in --custom-api-key or the key variable, not in the URL"
    return None


def normalize_base_url(value: str) -> str:
    """Scheme added when missing, ``/v1`` added to a bare origin, no query or trailing slash."""
    text = value.strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def derived_provider_id(base_url: str) -> str:
    """``http://127.0.0.1:8080/v1`` -> ``custom-127-0-0-1-8080`` (core.md §5.4)."""
    parts = urlsplit(base_url)
    host = re.sub(r"[^a-z0-9]", "-", (parts.hostname or "").lower())
    text = f"custom-{host}" + (f"-{parts.port}" if parts.port else "")
    return re.sub(r"-+", "-", text).strip("-")


def free_custom_id(wanted: str, base_url: str, providers: Mapping[str, Any]) -> tuple[str, str]:
    """The id to use (the same URL reuses its id; a taken id gets ``-2``, ``-3``...) and a
    note when it differs from the one asked for."""
    candidate, n = wanted, 1
    while True:
        existing = providers.get(candidate)
        if not isinstance(existing, dict) or _same_url(existing.get("baseUrl"), base_url):
            break
        n += 1
        candidate = f"{wanted}-{n}"
    reused = candidate in providers  # this URL's own id from an earlier run
    note = (
        ""
        if reused or candidate == wanted
        else f"Endpoint id {wanted} is taken; using {candidate}."
    )
    return candidate, note


def _same_url(configured: Any, base_url: str) -> bool:
    if not isinstance(configured, str) or url_problem(configured):
        return False
    return normalize_base_url(configured) == base_url


def check_provider_id(value: str) -> str:
    text = value.strip().lower()
    if not _ID_RE.match(text):
        raise UsageError(
            "Custom provider ID must include letters, numbers, or hyphens.",
            hint="For example --custom-provider-id my-gpu-box",
        )
    return text


# ---- the target --------------------------------------------------------------------------------


def key_problem(key: str) -> str | None:
    if all(0x20 <= ord(ch) < 0x7F for ch in key):
        return None
    return "The API key contains characters an HTTP header cannot carry."


def resolve_key(
    kind: ProviderKind, flag_value: str | None, flag_name: str, env: Mapping[str, str]
) -> tuple[str | None, str]:
    """The flag, then the kind's key variable (``CUSTOM_API_KEY`` for a custom endpoint)."""
    candidates = [(flag_value, flag_name)]
    for var in (*kind.key_env_vars, *((CUSTOM_KEY_ENV,) if kind is OPENAI_COMPATIBLE else ())):
        candidates.append((env.get(var), var))
    for value, source in candidates:
        if value and value.strip():
            problem = key_problem(value.strip())
            if problem:
                raise UsageError(
                    f"{problem} (from {source})",
                    hint="Paste the key exactly as the server expects it (one line).",
                )
            return value.strip(), source
    return None, "none"


def build_target(req: OnboardRequest, cfg: LoadedConfig, base_value: str | None) -> ServerTarget:
    """Check the flags (URL, id, key) before any request."""
    from openclaw.auth.resolve import resolve_headers

    kind = _kind(req.choice)
    raw = (base_value or "").strip() or (kind.default_base_url or "")
    if not raw:
        raise UsageError(
            f"--auth-choice {req.choice} needs a base URL and a model id.",
            hint="Pass --custom-base-url http://HOST:PORT/v1 and --custom-model-id MODEL.",
        )
    problem = url_problem(raw)
    if problem:
        raise UsageError(
            f"--custom-base-url: {problem}",
            hint=f"For example --custom-base-url {kind.default_base_url or 'http://HOST:PORT/v1'}",
        )
    base = normalize_base_url(raw)
    providers = cfg.providers()
    notes: list[str] = []
    if kind is OPENAI_COMPATIBLE:
        wanted = check_provider_id(req.provider_id) if req.provider_id else None
        pid, note = free_custom_id(wanted or derived_provider_id(base), base, providers)
        notes += [note] if note else []
    else:
        pid = kind.id
    key, source = resolve_key(kind, req.api_key, req.api_key_flag or "--custom-api-key", cfg.env)
    existing = providers.get(pid) or {}
    headers = resolve_headers(existing.get("headers"), cfg.env, f"models.providers.{pid}.headers")
    return ServerTarget(kind, req.choice, base, pid, key, source, headers, notes)


# ---- verification ------------------------------------------------------------------------------


def _key_hint(target: ServerTarget) -> str:
    var = target.kind.key_env_var or CUSTOM_KEY_ENV
    return f"Pass the server's key with --custom-api-key or set {var}; leave both unset when it needs none."


async def fetch_models(target: ServerTarget) -> list[ServedModel]:
    """The verification request: ``GET {base}/models`` with the key and configured headers."""
    from openclaw.net.policy import provider_policy
    from openclaw.providers.served import list_served_models

    headers = dict(target.headers)
    if target.key and not any(n.lower() == "authorization" for n in headers):
        headers["Authorization"] = f"Bearer {target.key}"
    policy = provider_policy(target.provider_id, target.base_url, None)
    try:
        return await list_served_models(
            target.base_url,
            headers=headers,
            policy=policy,
            label=target.label,
            key_hint=_key_hint(target),
        )
    except (ProviderAuthError, SsrfBlockedError):
        raise
    except MalformedResponseError as exc:
        raise OpenClawError(
            f"{exc.message}.",
            hint=f"Check that the URL is {target.label}'s OpenAI-compatible /v1 base URL.",
        ) from None
    except NetworkError as exc:
        raise OpenClawError(
            f"{target.label} could not be reached at {target.base_url} ({exc.message}).",
            hint=target.kind.start_hint_for(target.base_url),
        ) from None


def pick_model(target: ServerTarget, served: list[ServedModel], wanted: str | None) -> str:
    ids = [m.id for m in served]
    if not ids:
        raise OpenClawError(
            f"{target.label} at {target.base_url} lists no models.",
            hint="Start the server with a model, then re-run onboarding.",
        )
    if wanted:
        if wanted not in ids:
            shown = ", ".join(ids[:20]) + (" …" if len(ids) > 20 else "")
            raise OpenClawError(
                f"Model {wanted} is not served by {target.label} at {target.base_url}.",
                hint=f"Available models: {shown}",
            )
        return wanted
    if target.custom:
        raise UsageError(
            "--auth-choice custom-api-key needs a base URL and a model id.",
            hint=f"Pass --custom-model-id (served here: {', '.join(ids[:10])}).",
        )
    return ids[0]


def model_rows(
    target: ServerTarget, served: list[ServedModel], chosen: str, context: int | None
) -> list[dict[str, Any]]:
    """One row per served model (the chosen one first); contextWindow only where the server
    does not report the context it serves, or where the user gave --context."""
    ordered = sorted(served, key=lambda m: m.id != chosen)[:MAX_ROWS]
    rows = []
    for model in ordered:
        name = f"{model.id} (Custom Provider)" if target.custom else model.id
        row: dict[str, Any] = {"id": model.id, "name": name}
        if model.id == chosen and context is not None:
            row["contextWindow"] = context
        elif model.context_source != "served" and model.context is not None:
            row["contextWindow"] = model.context
        rows.append(row)
    return rows


# ---- writing ----------------------------------------------------------------------------------


def _provider_patch(
    existing: Mapping[str, Any], target: ServerTarget, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    provider = {k: v for k, v in existing.items() if k not in ("auth", "apiKey", "models")}
    provider["baseUrl"] = target.base_url
    provider["api"] = "openai-completions"
    if target.key:
        provider["auth"] = "api-key"
        provider["apiKey"] = target.kind.key_env_var or PROFILE_MARKER
    else:
        provider["apiKey"] = target.kind.keyless_marker or KEYLESS_MARKER
    provider["models"] = rows
    return provider


def _mutator(target: ServerTarget, rows: list[dict[str, Any]], ref: str, workspace: str) -> Any:
    def mutate(doc: dict) -> None:
        models = doc.get("models")
        if not isinstance(models, dict):
            models = doc["models"] = {}
        models["mode"] = models.get("mode") or "merge"
        providers = models.setdefault("providers", {})
        existing = providers.get(target.provider_id)
        providers[target.provider_id] = _provider_patch(
            existing if isinstance(existing, dict) else {}, target, rows
        )
        agents = doc.setdefault("agents", {})
        defaults = agents.setdefault("defaults", {})
        defaults.setdefault("workspace", workspace)
        current = defaults.get("model")
        selection = dict(current) if isinstance(current, dict) else {}
        selection["primary"] = ref
        defaults["model"] = selection
        if target.key:
            auth = doc.setdefault("auth", {})
            profiles = auth.setdefault("profiles", {})
            profiles[f"{target.provider_id}:default"] = {
                "provider": target.provider_id,
                "mode": "api_key",
            }

    return mutate


def write_server(
    target: ServerTarget, cfg: LoadedConfig, rows: list[dict[str, Any]], chosen: str
) -> OnboardOutcome:
    from openclaw.auth.profiles import AuthProfileStore
    from openclaw.config.atomic import ensure_private_dir
    from openclaw.config.writer import update_config

    paths = cfg.paths
    ref = f"{target.provider_id}/{chosen}"
    workspace = paths.workspace_dir
    if target.key:
        store = AuthProfileStore(paths.auth_profiles_path())
        store.upsert_api_key(f"{target.provider_id}:default", target.provider_id, target.key)
    result = update_config(_mutator(target, rows, ref, str(workspace)), paths)
    ensure_private_dir(workspace)
    ensure_private_dir(paths.sessions_dir())
    lines = [*target.notes]
    if target.custom:
        lines.append(f"Configured custom provider: {ref}")
    lines += [
        f"Default {target.label} model: {chosen}",
        f"Workspace OK: {paths.display(workspace)}",
        f"Sessions OK: {paths.display(paths.sessions_dir())}",
        f"Updated config: {paths.display(result.path)}",
    ]
    backup = paths.display(result.backup_path) if result.backup_path else None
    if backup:
        lines.append(f"  Backup: {backup}")
    served_ctx = next((r for r in rows if r["id"] == chosen and "contextWindow" not in r), None)
    return OnboardOutcome(
        provider_id=target.provider_id,
        default_ref=ref,
        config_path=paths.display(result.path),
        backup_path=backup,
        workspace=paths.display(workspace),
        sessions=paths.display(paths.sessions_dir()),
        auth="api-key" if target.key else "marker",
        lines=lines,
        details={"baseUrl": target.base_url, "contextFromServer": served_ctx is not None},
    )
