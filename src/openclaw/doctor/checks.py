"""The checks of ``openclaw doctor`` and the repairs ``--fix`` may make.

Errors are what breaks a command of either CLI: a config this openclaw or the TypeScript
OpenClaw refuses, a lock file that blocks TS forever, keys in a file TS cannot read, a provider
in use without a credential. Warnings are what works but is likely wrong. Repairs are limited
to what cannot lose data: stale locks go through the lock protocol, the legacy key file is
imported (and kept, renamed) the way TS's own doctor does, config fixes go through the normal
writer (which keeps ``openclaw.json.bak``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from openclaw.config.paths import Paths
from openclaw.errors import OpenClawError

MIN_AGENT_CONTEXT = 16_384
#: Locks only the TypeScript OpenClaw takes; never touched here (interop-ts.md b.1).
_TS_ONLY_LOCK_PARTS = ("migration", "tmp")
_TS_ONLY_LOCK_SUFFIXES = (".sqlite.lock", ".lock.sqlite")


@dataclass
class Finding:
    severity: str  # "error" | "warning"
    code: str
    message: str
    fix: str
    repair: Callable[[], str] | None = field(default=None, repr=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("repair")
        data["fixable"] = self.repair is not None
        return data


# -- locks ----------------------------------------------------------------------------------


def _lock_files(paths: Paths) -> list[Path]:
    root = paths.state_dir
    if not root.is_dir():
        return []
    found = []
    for lock in sorted([*root.rglob("*.lock"), *root.rglob("*.lock.reclaim")]):
        rel = lock.relative_to(root).parts
        if rel and rel[0] in _TS_ONLY_LOCK_PARTS:
            continue
        if lock.name.endswith(_TS_ONLY_LOCK_SUFFIXES) or "workspace" in rel[:1]:
            continue
        found.append(lock)
    return found


def check_locks(paths: Paths) -> list[Finding]:
    from openclaw.config.locks import clear_stale, inspect_lock

    out = []
    for lock in _lock_files(paths):
        state = inspect_lock(lock)
        shown = paths.display(lock)
        if state.kind == "held":
            out.append(Finding("warning", "lock-held", f"{shown} is {state.detail}",
                               "Wait for that command to finish."))  # fmt: skip
        elif state.kind == "reclaim-dir":
            out.append(Finding("error", "lock-reclaim-dir", f"{shown}: {state.detail}",
                               f"If no openclaw is running, remove it: rmdir {lock}"))  # fmt: skip
        else:

            def repair(lock: Path = lock, shown: str = shown) -> str:
                if clear_stale(lock):
                    return f"removed {shown}"
                return f"left {shown} (in use, or too new to be a leftover; retry in 30 s)"

            out.append(Finding(
                "error", "lock-stray",
                f"stray lock file {shown}: {state.detail}; the TypeScript OpenClaw waits on it",
                "openclaw doctor --fix removes it (only if no process holds it).",
                repair if state.kind in ("legacy-empty", "stale") else None,
            ))  # fmt: skip
    return out


# -- credentials ----------------------------------------------------------------------------


def check_legacy_keys(paths: Paths) -> list[Finding]:
    from openclaw.auth.profiles import AuthProfileStore
    from openclaw.auth.sqlite_store import StateDbAuthStore, import_legacy_json

    agents = paths.state_dir / "agents"
    out = []
    for legacy in sorted(agents.glob("*/agent/auth-profiles.json")) if agents.is_dir() else []:
        try:
            count = len(AuthProfileStore(legacy).load()["profiles"])
        except OpenClawError as exc:
            out.append(Finding("error", "legacy-keys-unreadable", exc.message,
                               "Fix or remove the file, then run `openclaw onboard`."))  # fmt: skip
            continue
        shown = paths.display(legacy)
        db = paths.state_db_path()
        is_main = legacy.parent.parent.name == "main"
        message = (
            f"{shown} holds {count} key(s) the TypeScript OpenClaw cannot read "
            "(it keeps keys in its SQLite state and refuses these providers)"
        )
        if db.is_file() and is_main:

            def repair(legacy: Path = legacy, db: Path = db) -> str:
                archived = import_legacy_json(legacy, StateDbAuthStore(db))
                where = paths.display(archived) if archived else "-"
                return (
                    f"imported {paths.display(legacy)} into {paths.display(db)} (kept as {where})"
                )

            out.append(Finding("error", "legacy-keys", message,
                               "openclaw doctor --fix imports them into the state DB.", repair))  # fmt: skip
        else:
            out.append(Finding(
                "warning", "legacy-keys", message,
                "If you use the TypeScript OpenClaw, run its `openclaw doctor --fix` once "
                "(it imports the file); this openclaw then uses the same store.",
            ))  # fmt: skip
    return out


# -- config ---------------------------------------------------------------------------------


def check_config(paths: Paths) -> tuple[list[Finding], Any]:
    """Our own validation, then TS's rules. Returns the loaded config (or None)."""
    from openclaw.config.loader import load_config
    from openclaw.config.parse import decode, parse_document, read_bytes
    from openclaw.config.ts_rules import repair as ts_repair
    from openclaw.config.ts_rules import ts_issues

    out: list[Finding] = []
    cfg = None
    try:
        cfg = load_config(validate=True)
    except OpenClawError as exc:
        out.append(Finding("error", "config-invalid", exc.message,
                           exc.hint or f"Edit {paths.display(paths.config_path)}."))  # fmt: skip
    raw = read_bytes(paths.config_path)
    if not raw:
        return out, cfg
    try:
        document, _ = parse_document(decode(raw, paths.config_path), paths.config_path)
    except OpenClawError:
        return out, cfg
    issues = ts_issues(document)
    if not issues:
        return out, cfg
    trial = json.loads(json.dumps(document))
    ts_repair(trial)
    repairable = {str(i) for i in issues} - {str(i) for i in ts_issues(trial)}
    for issue in issues:
        fixable = str(issue) in repairable
        out.append(Finding(
            "error", "config-ts-invalid",
            f"the TypeScript OpenClaw rejects openclaw.json: {issue}",
            "openclaw doctor --fix repairs it (backup kept)." if fixable
            else f"Remove it: openclaw config unset {issue.path}" if issue.path
            else "Remove that top-level key from openclaw.json.",
            _rewrite_config if fixable else None,
        ))  # fmt: skip
    return out, cfg


_rewritten: list[bool] = []


def _rewrite_config() -> str:
    # One rewrite repairs every fixable row; the writer applies the same repairs TS would.
    if _rewritten:
        return "openclaw.json already rewritten"
    from openclaw.config.writer import update_config

    result = update_config(lambda _doc: None)
    _rewritten.append(True)
    backup = f" (backup: {result.backup_path})" if result.backup_path else ""
    return f"rewrote openclaw.json with the TypeScript OpenClaw's repairs{backup}"


def check_providers(cfg: Any) -> list[Finding]:
    """Providers in use without a credential, small agent context, missing local services,
    private-network opt-ins that are not needed."""
    from openclaw.auth.resolve import is_keyless_ok, resolve_credential
    from openclaw.config.urls import is_private_base_url
    from openclaw.models.catalog import fallback_refs, resolved_default_ref
    from openclaw.models.refs import try_parse

    out: list[Finding] = []
    refs = [r for r in [resolved_default_ref(cfg, "main"), *fallback_refs(cfg, "main")] if r]
    in_use: dict[str, str] = {}
    for ref in refs:
        parsed = try_parse(ref, cfg)
        if parsed:
            in_use.setdefault(parsed.provider, parsed.model)
    for pid in in_use:
        try:
            cred = resolve_credential(cfg, pid)
        except OpenClawError as exc:
            out.append(Finding("error", "credential", exc.message, exc.hint or ""))
            continue
        if not cred.usable and not is_keyless_ok(pid, cfg.provider(pid)):
            out.append(Finding("error", "credential", f'provider "{pid}" is in use but has no key',
                               "Run `openclaw onboard` or set its key variable."))  # fmt: skip
    out += _check_context(cfg, refs[:1])
    for pid in cfg.providers():
        provider = cfg.provider(pid) or {}
        service = provider.get("localService")
        command = service.get("command") if isinstance(service, dict) else None
        if isinstance(command, str) and not (shutil.which(command) or Path(command).is_file()):
            out.append(Finding("warning", "local-service",
                               f'models.providers.{pid}.localService.command "{command}" is not found',
                               "Install it or fix the path in openclaw.json."))  # fmt: skip
        request = provider.get("request")
        base = provider.get("baseUrl")
        if (
            isinstance(request, dict)
            and request.get("allowPrivateNetwork") is True
            and isinstance(base, str)
            and is_private_base_url(base)
            and _is_loopback(base)
        ):
            out.append(Finding(
                "warning", "private-network",
                f"models.providers.{pid}.request.allowPrivateNetwork opens every private "
                "address, but this provider is on this computer",
                f"openclaw config unset models.providers.{pid}.request.allowPrivateNetwork",
            ))  # fmt: skip
    return out


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def _check_context(cfg: Any, refs: list[str]) -> list[Finding]:
    from openclaw.config.settings import ModelSettings, ProviderSettings
    from openclaw.models.refs import try_parse

    parsed = try_parse(refs[0], cfg) if refs else None
    if parsed is None:
        return []
    provider = ProviderSettings.read(cfg.provider(parsed.provider))
    rows = provider.raw.get("models")
    row = next((r for r in rows or [] if isinstance(r, dict) and r.get("id") == parsed.model), None)
    model = ModelSettings.read(row, provider) if row else None
    window = (model.context_tokens or model.context_window) if model else None
    if window is None or window >= MIN_AGENT_CONTEXT:
        return []
    return [
        Finding(
            "warning",
            "context-small",
            f"{parsed.provider}/{parsed.model} runs with a {window}-token context; the agent "
            f"needs at least {MIN_AGENT_CONTEXT} for tools and history",
            "Load the model with a larger context and set its contextTokens accordingly.",
        )
    ]


def check_reachable(cfg: Any) -> list[Finding]:
    """``--probe``: one GET of each configured provider's model list (concurrently), through
    the provider's own Endpoint (its headers, key and network policy)."""
    import anyio

    found: dict[str, list[Finding]] = {}

    async def probe_all() -> None:
        async with anyio.create_task_group() as group:
            for pid in cfg.providers():
                group.start_soon(_probe_provider, cfg, pid, found)

    anyio.run(probe_all)
    return [finding for pid in cfg.providers() for finding in found.get(pid, [])]


async def _probe_provider(cfg: Any, pid: str, found: dict[str, list[Finding]]) -> None:
    from openclaw.providers.endpoint import resolve_endpoint

    base = (cfg.provider(pid) or {}).get("baseUrl")
    if not isinstance(base, str) or not base:
        return
    try:
        endpoint = resolve_endpoint(cfg, pid)
        async with endpoint.client(timeout=5.0) as client:
            response = await client.request(
                "GET", endpoint.base_url + "/models", headers=endpoint.request_headers()
            )
    except OpenClawError as exc:
        found[pid] = [Finding("warning", "unreachable", f'provider "{pid}": {exc.message}',
                              exc.hint or f"Start the server at {base} or fix baseUrl.")]  # fmt: skip
        return
    if response.status_code in (401, 403):
        found[pid] = [Finding("error", "key-rejected",
                              f'provider "{pid}" rejected the key ({response.status_code})',
                              "Set the right key with `openclaw onboard`.")]  # fmt: skip
    elif response.status_code >= 400:
        found[pid] = [Finding("warning", "unreachable",
                              f'provider "{pid}" answered {response.status_code} at {base}/models',
                              "Check baseUrl (it usually ends in /v1).")]  # fmt: skip


# -- driver ---------------------------------------------------------------------------------


def run_checks(paths: Paths, *, probe: bool = False) -> list[Finding]:
    from openclaw.auth.sqlite_store import legacy_import_paused

    with legacy_import_paused():  # report first; only --fix changes the key store
        return _run_checks(paths, probe)


def _run_checks(paths: Paths, probe: bool) -> list[Finding]:
    findings = check_locks(paths)
    findings += check_legacy_keys(paths)
    config_findings, cfg = check_config(paths)
    findings += config_findings
    if cfg is not None:
        findings += check_providers(cfg)
        if probe:
            findings += check_reachable(cfg)
    return findings


def apply_fixes(findings: list[Finding]) -> list[str]:
    """Run each finding's repair; returns one line per change (or failure)."""
    _rewritten.clear()
    changes = []
    for finding in findings:
        if finding.repair is None:
            continue
        try:
            changes.append(finding.repair())
        except OpenClawError as exc:
            changes.append(f"could not fix ({finding.code}): {exc.message}")
    return list(dict.fromkeys(changes))
