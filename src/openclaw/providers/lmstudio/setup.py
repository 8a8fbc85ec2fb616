"""LM Studio onboarding logic (lmstudio.md §7; openclaw-observed.md §3).

``onboard.py`` asks the questions; this module discovers, validates and writes. It sends no
completion; a chosen model that is not loaded is loaded by ``onboard.py`` before writing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.config.kinds import LMSTUDIO
from openclaw.errors import OpenClawError, SsrfBlockedError, UsageError
from openclaw.providers.lmstudio import discovery
from openclaw.providers.lmstudio import models as wire
from openclaw.providers.lmstudio.urls import PROVIDER_ID, inference_base

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.config.paths import Paths

PROFILE_ID = "lmstudio:default"
ENV_VAR = "LM_API_TOKEN"
LOCAL_MARKER = discovery.LOCAL_MARKER
RETRYABLE = {408, 425, 429}


class SetupError(OpenClawError):
    """A setup failure whose message is the reference's note text (lines joined by \\n)."""

    def __init__(
        self,
        lines: list[str],
        *,
        reason: str,
        retry_line: str | None = None,
        hint: str | None = None,
        kind: str = "error",
    ) -> None:
        super().__init__("\n".join(lines), hint=hint)
        self.lines = lines
        self.reason = reason
        self.retry_line = retry_line
        self.kind = kind


@dataclass
class SetupDiscovery:
    base_url: str
    entries: list[dict[str, Any]]
    models: list[dict[str, Any]]  # config-mode rows of every llm (loaded or not)
    loaded_ids: list[str]
    default_id: str | None
    flags: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def llm_ids(self) -> list[str]:
        return [m["id"] for m in self.models]


def unreachable_error(base: str) -> SetupError:
    return SetupError(
        [
            f"LM Studio could not be reached at {base}.",
            "Start LM Studio (or run lms server start) and re-run setup.",
        ],
        reason="LM Studio not reachable",
        retry_line="Start LM Studio (or run lms server start), then continue to retry.",
        hint=LMSTUDIO.start_hint_for(base)
        + " When LM Studio authentication is on, also set LM_API_TOKEN (or pass "
        "--lmstudio-api-key).",
        kind="unreachable",
    )


def http_error(base: str, status: int) -> SetupError:
    retryable = status in RETRYABLE or status >= 500
    second = (
        "Wait for LM Studio to recover, then re-run setup."
        if retryable
        else "Check the base URL and API key, then re-run setup."
    )
    hint = None
    if status in (401, 403):
        hint = (
            "Check LM_API_TOKEN (or --lmstudio-api-key) against the token configured in "
            "LM Studio, or leave the key blank when the server needs none."
        )
    return SetupError(
        [f"LM Studio returned HTTP {status} while listing models at {base}.", second],
        reason=f"LM Studio discovery failed ({status})",
        retry_line="Wait for LM Studio to recover, then continue to retry." if retryable else None,
        hint=hint,
        kind="auth" if status in (401, 403) else "http",
    )


def no_loaded_error(base: str) -> SetupError:
    return SetupError(
        [
            f"No loaded LM Studio LLM models were found at {base}.",
            "Load a model in LM Studio (or run lms load <model>), then re-run setup.",
        ],
        reason="No loaded LM Studio models found",
        retry_line="Load a model in LM Studio (or run lms load <model>), then continue to retry.",
        kind="no-loaded",
    )


async def setup_discovery(
    base_url: str,
    *,
    api_key: str | None,
    headers: Mapping[str, str] | None = None,
    timeout: float = discovery.DISCOVERY_TIMEOUT,
    requested: str | None = None,
    allow_unloaded: bool = False,
) -> SetupDiscovery:
    """One ``GET /api/v1/models`` (5 s); classify failures with the reference's texts.

    With nothing loaded, setup goes on only when it is to load a model: the one
    ``requested`` is installed, or ``allow_unloaded`` (the interactive picker) and any LLM is."""
    base = inference_base(base_url)
    result = await discovery.fetch_models(base, api_key=api_key, headers=headers, timeout=timeout)
    if not result.reachable:
        if isinstance(result.error, SsrfBlockedError):
            raise result.error
        if result.status is not None and result.error is not None:  # 2xx but malformed
            raise SetupError(
                [
                    f"LM Studio at {base} answered with a malformed model list.",
                    "Check the base URL points at LM Studio, then re-run setup.",
                ],
                reason=str(result.error),
                kind="malformed",
            )
        raise unreachable_error(base)
    if result.status is not None and result.status >= 400:
        raise http_error(base, result.status)
    llms = [e for e in result.models if wire.is_llm(e)]
    loaded = [wire.entry_key(e) for e in llms if wire.loaded_context(e) is not None]
    installed = [wire.entry_key(e) for e in llms]
    will_load = (requested in installed) if requested else (allow_unloaded and bool(installed))
    if not loaded and not will_load:
        raise no_loaded_error(base)
    return SetupDiscovery(
        base_url=base,
        entries=result.models,
        models=wire.map_entries(result.models, runtime=False),
        loaded_ids=loaded,
        default_id=wire.choose_default_model(loaded),
        flags={wire.entry_key(e): wire.entry_flags(e) for e in llms},
    )


def select_model(found: SetupDiscovery, requested: str | None) -> str:
    """The model to make default: ``--custom-model-id`` verbatim, else the default (§7.2/6)."""
    base = found.base_url
    if requested:
        if requested not in found.llm_ids:
            raise SetupError(
                [
                    f"LM Studio model {requested} was not found at {base}.",
                    f"Available models: {', '.join(found.llm_ids)}",
                ],
                reason="model not found",
                kind="not-found",
            )
        return requested  # installed but not loaded: onboarding loads it (onboard.py)
    if found.default_id is None:
        raise SetupError(
            [
                f"LM Studio did not expose a usable default model at {base}.",
                f"Available models: {', '.join(found.llm_ids) or '(none)'}",
            ],
            reason="no default model",
            kind="no-default",
        )
    return found.default_id


def apply_context_length(models: list[dict[str, Any]], entries: list[Any], value: int) -> None:
    """Interactive "preferred context length": contextTokens = min(value, advertised max)."""
    for row in models:
        entry = wire.find_entry(row["id"], entries) or {}
        advertised = wire.advertised_context(entry) or value
        row["contextTokens"] = min(value, advertised)
        row["maxTokens"] = min(row.get("maxTokens", value), row["contextTokens"])


# ---- credentials --------------------------------------------------------------------------------


@dataclass
class ResolvedKey:
    key: str
    source: str  # "flag" | "env" | "profile"


KEY_UNSENDABLE = "The LM Studio API key contains characters an HTTP header cannot carry."
KEY_UNSENDABLE_HINT = "Paste the token exactly as LM Studio shows it (printable ASCII, one line)."


def key_problem(key: str) -> str | None:
    """None when ``key`` can be sent as ``Authorization: Bearer <key>``, else the message.

    Checked before any request so a pasted line break or a non-ASCII character gives this
    line instead of a transport error (the key itself is never echoed)."""
    if all(0x20 <= ord(ch) < 0x7F for ch in key):
        return None
    return KEY_UNSENDABLE


def _checked(key: ResolvedKey) -> ResolvedKey:
    problem = key_problem(key.key)
    if problem is not None:
        source = "LM_API_TOKEN" if key.source == "env" else "--lmstudio-api-key"
        raise UsageError(f"{problem} (from {source})", hint=KEY_UNSENDABLE_HINT)
    return key


def resolve_setup_key(flag_value: str | None, cfg: LoadedConfig) -> ResolvedKey | None:
    """Flag, then ``LM_API_TOKEN`` (``cfg.env``: process env and the .env files), then the
    stored ``lmstudio:default`` profile (lmstudio.md §7.2 step 2)."""
    from openclaw.auth.resolve import resolve_credential

    if flag_value and flag_value.strip():
        return _checked(ResolvedKey(flag_value.strip(), "flag"))
    value = cfg.env.get(ENV_VAR, "").strip()
    if value:
        return _checked(ResolvedKey(value, "env"))
    try:
        stored = resolve_credential(cfg, PROVIDER_ID, profile=PROFILE_ID)
    except OpenClawError:  # an unreadable store: set up as if there were none
        return None
    return ResolvedKey(stored.key, "profile") if stored.key else None


# ---- writing ------------------------------------------------------------------------------------


@dataclass
class SetupPlan:
    base_url: str
    model_id: str
    models: list[dict[str, Any]]
    key: ResolvedKey | None  # a real key to keep in the auth profile (None: keyless/header)
    header_only: bool
    allow_list: bool  # interactive setup adds every model to agents.defaults.models


@dataclass
class SetupOutcome:
    config_path: str
    backup_path: str | None
    workspace: str
    sessions: str
    default_ref: str
    auth: str  # "api-key" | "none" | "header"


def _provider_patch(existing: dict[str, Any], plan: SetupPlan) -> dict[str, Any]:
    provider = {k: v for k, v in existing.items() if k not in ("auth", "apiKey")}
    provider["baseUrl"] = plan.base_url
    provider["api"] = existing.get("api") or "openai-completions"
    if plan.key is not None:
        provider["auth"] = "api-key"
        provider["apiKey"] = ENV_VAR
    elif not plan.header_only:
        provider["apiKey"] = LOCAL_MARKER
    provider["models"] = plan.models
    return provider


def _mutator(plan: SetupPlan, workspace: str) -> Any:
    def mutate(doc: dict) -> None:
        models = doc.setdefault("models", {})
        if not isinstance(models, dict):
            models = doc["models"] = {}
        models["mode"] = models.get("mode") or "merge"
        providers = models.setdefault("providers", {})
        existing = providers.get(PROVIDER_ID)
        providers[PROVIDER_ID] = _provider_patch(
            existing if isinstance(existing, dict) else {}, plan
        )
        agents = doc.setdefault("agents", {})
        defaults = agents.setdefault("defaults", {})
        defaults.setdefault("workspace", workspace)
        current = defaults.get("model")
        ref = f"{PROVIDER_ID}/{plan.model_id}"
        if isinstance(current, dict):
            current = dict(current)
            current["primary"] = ref
            defaults["model"] = current
        else:
            defaults["model"] = {"primary": ref}
        if plan.allow_list:
            allow = defaults.get("models")
            allow = dict(allow) if isinstance(allow, dict) else {}
            for row in plan.models:
                allow.setdefault(f"{PROVIDER_ID}/{row['id']}", {})
            defaults["models"] = allow
        auth = doc.get("auth")
        if plan.header_only or plan.key is None:
            if isinstance(auth, dict):
                profiles = auth.get("profiles")
                if isinstance(profiles, dict) and plan.header_only:
                    for pid in [
                        p
                        for p, v in profiles.items()
                        if isinstance(v, dict) and v.get("provider") == PROVIDER_ID
                    ]:
                        del profiles[pid]
                    if not profiles:
                        auth.pop("profiles")
                order = auth.get("order")
                if isinstance(order, dict) and plan.header_only:
                    order.pop(PROVIDER_ID, None)
                    if not order:
                        auth.pop("order")
                if not auth:
                    doc.pop("auth")
        else:
            auth = doc.setdefault("auth", {})
            profiles = auth.setdefault("profiles", {})
            profiles[PROFILE_ID] = {"provider": PROVIDER_ID, "mode": "api_key"}

    return mutate


def write_setup(plan: SetupPlan, paths: Paths, *, remove_profiles: bool) -> SetupOutcome:
    """Persist a successful setup: auth profile (0600), config, workspace and sessions dirs."""
    from openclaw.auth.stores import open_auth_store
    from openclaw.config.atomic import ensure_private_dir
    from openclaw.config.writer import update_config

    store = open_auth_store(paths)  # TS's SQLite store when it exists, never a new JSON there
    if plan.key is not None and plan.key.source != "profile":
        store.upsert_api_key(PROFILE_ID, PROVIDER_ID, plan.key.key)
    elif remove_profiles and store.path.exists():
        for pid, _profile in store.for_provider(PROVIDER_ID):
            store.remove(pid)
    workspace = paths.workspace_dir
    result = update_config(_mutator(plan, str(workspace)), paths)
    ensure_private_dir(workspace)
    ensure_private_dir(paths.sessions_dir())
    auth = "api-key" if plan.key is not None else ("header" if plan.header_only else "none")
    return SetupOutcome(
        config_path=paths.display(result.path),
        backup_path=paths.display(result.backup_path) if result.backup_path else None,
        workspace=paths.display(workspace),
        sessions=paths.display(paths.sessions_dir()),
        default_ref=f"{PROVIDER_ID}/{plan.model_id}",
        auth=auth,
    )
