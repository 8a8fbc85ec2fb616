"""Finding what runs: probe the usual ports of the local server kinds, in parallel, within one
deadline, and identify each answer by its API (not by its port).

LM Studio answers ``/api/v1/models``, Ollama ``/api/version`` (models from ``/api/tags``),
llama-server ``/props``, vLLM and SGLang ``/v1/models`` with ``owned_by`` and
``max_model_len`` (SGLang also ``/get_model_info``). Each probe trusts exactly the origin it
asks (``scheme://host:port``); metadata and link-local hosts are never probed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.config.kinds import ProviderKind, kind_by_id, kind_named
from openclaw.errors import (
    NetworkError,
    RequestTimeoutError,
    SsrfBlockedError,
    UnreachableError,
    UsageError,
)

if TYPE_CHECKING:
    from openclaw.net.client import GuardedAsyncClient

#: The kinds probed, in the order ``--auth-choice auto`` prefers them.
SCAN_ORDER = ("lmstudio", "ollama", "llama-cpp", "vllm", "sglang")
SCAN_PORTS_ENV = "OPENCLAW_SCAN_PORTS"
DEADLINE = 1.5
BODY_CAP = 1024 * 1024
MAX_LISTED = 50
LOOPBACK = "127.0.0.1"


@dataclass
class Finding:
    host: str
    port: int
    expected: str  # the kind whose usual port this is
    status: str  # "found" | "closed" | "timeout" | "blocked" | "auth" | "unknown" | "error"
    kind: str | None = None  # the kind identified by its API
    models: list[str] = field(default_factory=list)  # chat models, the preferred one first
    contexts: dict[str, int] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)
    version: str | None = None
    note: str = ""

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def label(self) -> str:
        return kind_by_id(self.kind).label if self.kind else kind_by_id(self.expected).label

    @property
    def default_model(self) -> str | None:
        return self.models[0] if self.models else None

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "url": self.origin,
            "expected": self.expected,
            "status": self.status,
            "kind": self.kind,
            "models": self.models,
            "contexts": self.contexts,
            "loaded": self.loaded,
            "version": self.version,
            "note": self.note,
        }


# ---- ports ------------------------------------------------------------------------------------


def scan_ports(env: Mapping[str, str] | None = None) -> list[tuple[str, int]]:
    """(kind id, port) in scan order; ``OPENCLAW_SCAN_PORTS=ollama=11500,lmstudio=1300``
    moves the named kinds, the others keep their registry defaults."""
    environ = os.environ if env is None else env
    moved: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in environ.get(SCAN_PORTS_ENV, "").split(","))):
        name, _, value = item.partition("=")
        kind = kind_named(name)
        if kind is None or kind.id not in SCAN_ORDER or not value.strip().isdigit():
            raise UsageError(
                f"{SCAN_PORTS_ENV}: cannot use {item!r}",
                hint=f"Use KIND=PORT pairs, e.g. ollama=11500,lmstudio=1300 ({', '.join(SCAN_ORDER)}).",
            )
        port = int(value)
        if not 0 < port < 65536:
            raise UsageError(f"{SCAN_PORTS_ENV}: port {port} is out of range")
        moved[kind.id] = port
    out = []
    for kind_id in SCAN_ORDER:
        chosen = moved.get(kind_id) or kind_by_id(kind_id).default_port
        if chosen:
            out.append((kind_id, chosen))
    return out


def start_hints(ports: Sequence[tuple[str, int]]) -> list[str]:
    return [kind_by_id(k).start_hint_for(f"http://{LOOPBACK}:{p}") for k, p in ports]


# ---- one port ---------------------------------------------------------------------------------


async def _get(client: GuardedAsyncClient, url: str) -> tuple[int, Any]:
    """(status, parsed JSON or None); network errors propagate."""
    response = await client.request("GET", url, max_body_bytes=BODY_CAP)
    try:
        return response.status_code, json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return response.status_code, None


async def _first(client: GuardedAsyncClient, origin: str) -> dict[str, tuple[int, Any]]:
    """The identifying requests of every kind, sent together."""
    import anyio

    paths = ("/api/v1/models", "/api/version", "/props", "/v1/models")
    answers: dict[str, tuple[int, Any]] = {}
    errors: list[NetworkError] = []

    async def one(path: str) -> None:
        try:
            answers[path] = await _get(client, origin + path)
        except NetworkError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for path in paths:
            group.start_soon(one, path)
    if not answers and errors:
        raise errors[0]
    return answers


def _ok(answers: Mapping[str, tuple[int, Any]], path: str) -> Any:
    status, body = answers.get(path, (0, None))
    return body if status == 200 and isinstance(body, dict) else None


def _lmstudio(finding: Finding, body: dict) -> None:
    from openclaw.providers.lmstudio import models as wire

    llms = [e for e in body.get("models") or [] if wire.is_llm(e)]
    keys = [wire.entry_key(e) for e in llms]
    finding.loaded = [wire.entry_key(e) for e in llms if wire.loaded_context(e) is not None]
    preferred = wire.choose_default_model(finding.loaded) or (keys[0] if keys else None)
    finding.models = sorted(keys, key=lambda k: k != preferred)
    for entry in llms:
        ctx = wire.loaded_context(entry)
        if ctx:
            finding.contexts[wire.entry_key(entry)] = ctx


async def _ollama(client: GuardedAsyncClient, finding: Finding, version: dict) -> None:
    from openclaw.providers.served import valid_model_id

    finding.version = str(version.get("version"))[:40] if version.get("version") else None
    status, tags = await _get(client, finding.origin + "/api/tags")
    items = tags.get("models") if status == 200 and isinstance(tags, dict) else None
    for item in items if isinstance(items, list) else []:
        name = valid_model_id(item.get("name")) if isinstance(item, dict) else None
        if name and "embed" not in name.lower():  # embedding models cannot chat
            finding.models.append(name)


def _openai_kind(models_body: dict, props: Any) -> str | None:
    if props is not None and isinstance(props.get("default_generation_settings"), dict):
        return "llama-cpp"
    owners = {i.get("owned_by") for i in models_body.get("data") or [] if isinstance(i, dict)}
    for owner, kind_id in (("vllm", "vllm"), ("sglang", "sglang"), ("llamacpp", "llama-cpp")):
        if owner in owners:
            return kind_id
    return None


def _served(finding: Finding, models_body: dict) -> None:
    from openclaw.providers.served import parse_model_list

    served = parse_model_list(json.dumps(models_body).encode())
    finding.models = [m.id for m in served]
    finding.contexts = {m.id: m.context for m in served if m.context and m.context_source}


async def _identify(client: GuardedAsyncClient, finding: Finding) -> None:
    answers = await _first(client, finding.origin)
    statuses = {status for status, _ in answers.values()}
    if (lms := _ok(answers, "/api/v1/models")) is not None and isinstance(lms.get("models"), list):
        finding.kind, finding.status = "lmstudio", "found"
        _lmstudio(finding, lms)
        return
    if (version := _ok(answers, "/api/version")) is not None and "version" in version:
        finding.kind, finding.status = "ollama", "found"
        await _ollama(client, finding, version)
        return
    models_body = _ok(answers, "/v1/models")
    if models_body is None:
        auth = statuses & {401, 403}
        finding.status = "auth" if auth else "unknown"
        finding.note = (
            f"answers HTTP {min(auth)}: it needs an API key"
            if auth
            else "answers, but not as a known model server"
        )
        return
    finding.status = "found"
    finding.kind = _openai_kind(models_body, _ok(answers, "/props"))
    if finding.kind is None:
        status, info = await _get(client, finding.origin + "/get_model_info")
        is_sglang = status == 200 and isinstance(info, dict) and "model_path" in info
        finding.kind = "sglang" if is_sglang else "openai-compatible"
    _served(finding, models_body)


async def probe(host: str, port: int, expected: str) -> Finding:
    """What answers on ``host:port`` (never raises)."""
    from openclaw.net.client import async_client
    from openclaw.net.policy import provider_policy

    finding = Finding(host, port, expected, "closed")
    policy = provider_policy(expected, finding.origin, None)
    if policy.trusted_origin is None:
        finding.status, finding.note = "blocked", policy.trust_refused or "not probed"
        return finding
    try:
        async with async_client(policy, timeout=DEADLINE, max_body_bytes=BODY_CAP) as client:
            await _identify(client, finding)
    except UnreachableError:
        finding.status = "closed"  # STATUS_WORDS says it; no note to add
    except RequestTimeoutError:
        finding.status, finding.note = "timeout", f"no answer within {DEADLINE} s"
    except SsrfBlockedError as exc:
        finding.status, finding.note = "blocked", exc.message
    except NetworkError as exc:
        finding.status, finding.note = "error", exc.message
    finding.models = finding.models[:MAX_LISTED]
    return finding


async def scan(
    hosts: Sequence[str] = (LOOPBACK,),
    *,
    ports: Sequence[tuple[str, int]] | None = None,
    deadline: float = DEADLINE,
) -> list[Finding]:
    """Every (host, port) probed at once; whatever has not answered at the deadline is
    reported as "timeout". Results come in scan order."""
    import anyio

    # Imports and the TLS context are made before the clock starts: a cold start is not the
    # servers' slowness.
    from openclaw.net.client import async_client
    from openclaw.net.policy import STRICT_POLICY

    await async_client(STRICT_POLICY).aclose()

    targets = [(h, p, k) for h in hosts for k, p in (ports or scan_ports())]
    results: dict[int, Finding] = {}

    async def one(index: int, host: str, port: int, kind_id: str) -> None:
        results[index] = await probe(host, port, kind_id)

    with anyio.move_on_after(deadline):
        async with anyio.create_task_group() as group:
            for index, (host, port, kind_id) in enumerate(targets):
                group.start_soon(one, index, host, port, kind_id)
    out = []
    for index, (host, port, kind_id) in enumerate(targets):
        found = results.get(index)
        if found is None:
            note = f"no answer within {deadline} s"
            found = Finding(host, port, kind_id, "timeout", note=note)
        out.append(found)
    return out


def usable(findings: Sequence[Finding]) -> list[Finding]:
    """Servers that onboarding can set up: identified, with at least one chat model."""
    return [f for f in findings if f.status == "found" and f.kind and f.models]


def kind_of(finding: Finding) -> ProviderKind:
    return kind_by_id(finding.kind or finding.expected)


#: What each finding status means, in words (``local scan`` lines, onboarding's "tried" line).
STATUS_WORDS = {
    "closed": "nothing listening",
    "timeout": "no answer in time",
    "blocked": "not probed",
    "auth": "needs an API key",
    "unknown": "answers, not a model server",
    "error": "error",
    "found": "no chat model",
}


def nothing_found_message(findings: Sequence[Finding]) -> tuple[str, str]:
    """The one line naming what was tried, and the start hints."""
    tried = ", ".join(
        f"{kind_by_id(f.expected).label} {f.host}:{f.port}: {STATUS_WORDS.get(f.status, f.status)}"
        for f in findings
    )
    line = f"No model server with a chat model answered (tried {tried})."
    seen: list[tuple[str, int]] = []
    for f in findings:
        if (f.expected, f.port) not in seen:
            seen.append((f.expected, f.port))
    return line, " ".join(start_hints(seen))
