"""``openclaw onboard --auth-choice ollama``: verify the server, pick an installed model (or
pull one, interactively), and write provider ``ollama`` with ``api: "ollama"``.

Writes no ``contextWindow`` (discovery supplies the model's maximum at run time and the
context rule picks the number sent). The server is checked with ``/api/tags`` before anything
is written; any failure raises and leaves the config byte-for-byte unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openclaw.config.kinds import OLLAMA
from openclaw.errors import OpenClawError, UnreachableError, UsageError
from openclaw.providers.ollama import discovery
from openclaw.providers.ollama.server import KEY_ENV_VAR, Server, is_local_host
from openclaw.providers.onboarding import OnboardOutcome, OnboardRequest

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig

PROVIDER_ID = "ollama"
PROFILE_ID = "ollama:default"
LOCAL_MARKER = "ollama-local"


@dataclass
class Plan:
    provider_id: str
    base: str
    model: str
    key: str | None  # a key from --custom-api-key, stored in the auth profile store
    key_marker: str  # what apiKey says in openclaw.json (never the key itself)
    num_ctx: int | None = None  # --context N: written as the row's params.num_ctx


def base_url_for(req: OnboardRequest, cfg: LoadedConfig) -> str:
    from openclaw.llm.ollama_chat import native_base
    from openclaw.net.policy import split_origin
    from openclaw.providers.ollama.server import default_base_url

    raw = (req.base_url or "").strip() or default_base_url(cfg.env)
    if "://" not in raw:
        raw = f"http://{raw}"
    if "@" in raw.split("://", 1)[1].split("/", 1)[0]:
        raise UsageError(
            "Put the Ollama key in --custom-api-key or OLLAMA_API_KEY, not in the URL."
        )
    base = native_base(raw)
    if split_origin(base) is None:
        raise UsageError(
            f"Not a valid http(s) URL: {base!r}", hint=f"Example: {OLLAMA.default_base_url}"
        )
    return base


def key_choice(req: OnboardRequest, cfg: LoadedConfig, base: str) -> tuple[str | None, str]:
    """(key to store, apiKey value to write): keyless marker for a local host; a remote host
    takes --custom-api-key (stored as a profile) or OLLAMA_API_KEY (referenced by name)."""
    if req.api_key and req.api_key.strip():
        return req.api_key.strip(), KEY_ENV_VAR
    if is_local_host(base):
        return None, LOCAL_MARKER
    if (cfg.env.get(KEY_ENV_VAR) or "").strip():
        return None, KEY_ENV_VAR
    return None, LOCAL_MARKER


def context_of(req: OnboardRequest) -> int | None:
    if req.context is None:
        return None
    if req.context < 512:
        raise UsageError(f"--context {req.context} is too small for a chat (use 512 or more)")
    return req.context


async def installed_models(server: Server) -> list[discovery.TagEntry]:
    try:
        return await discovery.list_tags(server)
    except OpenClawError as exc:
        if isinstance(exc, UnreachableError) or "timed out" in exc.message:
            raise UnreachableError(
                f"Ollama could not be reached at {server.base}",
                hint="Start Ollama (`ollama serve`) or pass its address with --custom-base-url.",
            ) from None
        raise


def find_installed(tags: list[discovery.TagEntry], wanted: str) -> str | None:
    names = [t.name for t in tags]
    for candidate in (wanted, f"{wanted}:latest"):
        if candidate in names:
            return wanted  # as the user wrote it (Ollama accepts both)
    return None


def not_installed(model: str, base: str) -> UsageError:
    return UsageError(
        f"Model {model!r} is not installed on Ollama at {base}: run `ollama pull {model}` "
        "and re-run setup"
    )


async def _chat_models(server: Server, tags: list[discovery.TagEntry]) -> list[str]:
    """Installed models that can chat (embedding-only models are left out)."""
    out = []
    for tag in tags:
        try:
            info = await discovery.show(server, tag.name, tag.digest)
        except OpenClawError:
            out.append(tag.name)
            continue
        if "embedding" not in info.capabilities or "completion" in info.capabilities:
            out.append(tag.name)
    return out


async def plan_non_interactive(req: OnboardRequest, cfg: LoadedConfig) -> Plan:
    from openclaw.providers.ollama.server import server_for_url

    base = base_url_for(req, cfg)
    key, marker = key_choice(req, cfg, base)
    send = key or (cfg.env.get(KEY_ENV_VAR) if marker == KEY_ENV_VAR else None)
    server = server_for_url(base, send, req.provider_id or PROVIDER_ID)
    tags = await installed_models(server)
    if req.model_id:
        model = find_installed(tags, req.model_id.strip())
        if model is None:
            raise not_installed(req.model_id.strip(), base)
    else:
        chat = await _chat_models(server, tags)
        if not chat:
            raise UsageError(
                f"Ollama at {base} has no chat model installed",
                hint="Install one (`ollama pull qwen3:8b`) or pass --custom-model-id.",
            )
        model = chat[0]
    await prime_cache(server, model, cfg)
    return Plan(req.provider_id or PROVIDER_ID, base, model, key, marker, context_of(req))


async def prime_cache(server: Server, model: str, cfg: LoadedConfig) -> None:
    """Remember the model's maximum now, so the first chat needs no extra request."""
    from openclaw.providers.ollama import cache

    try:
        info = await discovery.show(server, model)
    except OpenClawError:
        return
    cache.store(cfg.paths.state_dir, server.base, {model: info}, replace=False)


def _provider_patch(existing: dict[str, Any], plan: Plan) -> dict[str, Any]:
    provider = {k: v for k, v in existing.items() if k not in ("apiKey", "auth")}
    provider["baseUrl"] = plan.base
    provider["api"] = "ollama"
    provider["apiKey"] = plan.key_marker
    rows = [dict(r) for r in provider.get("models") or [] if isinstance(r, dict)]
    row = next((r for r in rows if r.get("id") == plan.model), None)
    if row is None:
        row = {"id": plan.model, "name": plan.model}
        rows.append(row)
    if plan.num_ctx is not None:  # an explicit context is sent as written (the context rule)
        params = row.get("params")
        row["params"] = {**(params if isinstance(params, dict) else {}), "num_ctx": plan.num_ctx}
    provider["models"] = rows
    return provider


def _mutator(plan: Plan, workspace: str) -> Any:
    def mutate(doc: dict) -> None:
        models = doc.setdefault("models", {})
        models["mode"] = models.get("mode") or "merge"
        providers = models.setdefault("providers", {})
        existing = providers.get(plan.provider_id)
        providers[plan.provider_id] = _provider_patch(
            existing if isinstance(existing, dict) else {}, plan
        )
        defaults = doc.setdefault("agents", {}).setdefault("defaults", {})
        defaults.setdefault("workspace", workspace)
        current = defaults.get("model")
        ref = f"{plan.provider_id}/{plan.model}"
        defaults["model"] = (
            {**current, "primary": ref} if isinstance(current, dict) else {"primary": ref}
        )
        if plan.key is not None:
            auth = doc.setdefault("auth", {}).setdefault("profiles", {})
            auth[f"{plan.provider_id}:default"] = {"provider": plan.provider_id, "mode": "api_key"}

    return mutate


def write_plan(plan: Plan, cfg: LoadedConfig) -> OnboardOutcome:
    from openclaw.auth.profiles import AuthProfileStore
    from openclaw.config.atomic import ensure_private_dir
    from openclaw.config.writer import update_config

    paths = cfg.paths
    if plan.key is not None:
        store = AuthProfileStore(paths.auth_profiles_path())
        store.upsert_api_key(f"{plan.provider_id}:default", plan.provider_id, plan.key)
    result = update_config(_mutator(plan, str(paths.workspace_dir)), paths)
    ensure_private_dir(paths.workspace_dir)
    ensure_private_dir(paths.sessions_dir())
    auth = "api-key" if plan.key or plan.key_marker == KEY_ENV_VAR else "marker"
    return OnboardOutcome(
        provider_id=plan.provider_id,
        default_ref=f"{plan.provider_id}/{plan.model}",
        config_path=paths.display(result.path),
        backup_path=paths.display(result.backup_path) if result.backup_path else None,
        workspace=paths.display(paths.workspace_dir),
        sessions=paths.display(paths.sessions_dir()),
        auth=auth,
        lines=[f"Ollama at {plan.base}: {plan.model} (api: ollama, context from discovery)"],
        details={"baseUrl": plan.base, "api": "ollama", "model": plan.model},
    )
