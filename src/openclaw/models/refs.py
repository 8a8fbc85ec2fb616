"""Model references: ``provider/model[@profile]`` (core.md §3.2) and aliases (§3.3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openclaw.config.kinds import canonical_provider_id
from openclaw.errors import ModelRefError
from openclaw.textsafe import has_controls, visible_line

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig


# An "@suffix" that is part of the model name, not an auth profile: a date or a
# quantisation / precision tag. (Patterns are kept as text: `re` compiles and caches them on
# first use, so commands that never parse a ref do not pay for them at start-up.)
_MODEL_SUFFIX = (
    r"(?i)^(?:\d{8}|\d{4}-\d{2}-\d{2}|i?q\d[a-z0-9_]*|\d+(?:\.\d+)?-?bits?|\d+b|fp\d+|bf16|"
    r"f16|f32|int\d+|w\d+a\d+|awq|gptq|exl2[a-z0-9_.-]*|mlx[a-z0-9_.-]*|gguf|latest)$"
)
_PROVIDER_RE = r"^[a-z0-9][a-z0-9._-]*$"


#: Longer ids are refused: no server names a model like that, and they flood every table.
MAX_MODEL_ID_CHARS = 512
SKIPPED_IDS_REASON = "control characters, over 512 characters or an empty path segment"


def model_id_problem(model_id: str) -> str | None:
    """Why ``model_id`` cannot be a model id (None: it can). One rule for ids typed by the
    user (``models set``) and ids a server lists: a newline or NUL would corrupt tables and
    the config, and ``a//b`` or a trailing ``/`` can never name the same model twice."""
    if has_controls(model_id):
        return "it contains control characters"
    if len(model_id) > MAX_MODEL_ID_CHARS:
        return f"it is longer than {MAX_MODEL_ID_CHARS} characters"
    if "" in model_id.split("/"):
        return "it has an empty path segment (a leading, trailing or double /)"
    return None


def usable_model_ids(ids: list[str]) -> tuple[list[str], int]:
    """The ids that pass :func:`model_id_problem`, and how many did not."""
    kept = [i for i in ids if model_id_problem(i) is None]
    return kept, len(ids) - len(kept)


def normalize_provider(provider: str) -> str:
    """The canonical provider id of an id or alias (the registry in ``config.kinds`` owns them)."""
    return canonical_provider_id(provider)


def configured_provider(provider: str, cfg: LoadedConfig | None) -> str:
    """The provider key as the user wrote it in the config when one matches (by id or alias),
    else the canonical id: ``llamacpp/m`` finds a provider configured as ``llama.cpp``."""
    if cfg is not None:
        key = cfg.provider_key(provider)
        if key is not None:
            return key
    return normalize_provider(provider)


def model_key(provider: str, model_id: str) -> str:
    """Canonical ``provider/model`` without doubling a prefix the id already has."""
    if model_id.startswith(provider + "/"):
        return model_id
    return f"{provider}/{model_id}"


@dataclass(frozen=True)
class ModelRef:
    provider: str
    model: str
    profile: str | None = None

    @property
    def key(self) -> str:
        return model_key(self.provider, self.model)

    def __str__(self) -> str:
        return self.key if self.profile is None else f"{self.key}@{self.profile}"


def _split_profile(text: str) -> tuple[str, str | None]:
    last_segment = text.rsplit("/", 1)[-1]
    if "@" not in last_segment:
        return text, None
    head, _, suffix = text.rpartition("@")
    if suffix and re.match(_MODEL_SUFFIX, suffix):
        return text, None
    return head, suffix.strip()


def alias_map(cfg: LoadedConfig | None) -> dict[str, str]:
    """alias (lower-case) -> ref, from ``agents.defaults.models[ref].alias``."""
    entries = agent_model_entries(cfg)
    aliases: dict[str, str] = {}
    for ref, entry in entries.items():
        alias = entry.get("alias") if isinstance(entry, dict) else None
        if isinstance(alias, str) and alias.strip():
            aliases[alias.strip().lower()] = ref
    return aliases


def agent_defaults(cfg: LoadedConfig | None) -> dict[str, Any]:
    """``agents.defaults`` of the resolved config ({} when absent or not an object)."""
    agents = cfg.data.get("agents") if cfg is not None else None
    defaults = agents.get("defaults") if isinstance(agents, dict) else None
    return defaults if isinstance(defaults, dict) else {}


def agent_model_entries(cfg: LoadedConfig | None) -> dict[str, Any]:
    """``agents.defaults.models``: per-model settings keyed by ref (also the allowlist)."""
    models = agent_defaults(cfg).get("models")
    return models if isinstance(models, dict) else {}


def parse_model_ref(text: str, cfg: LoadedConfig | None = None) -> ModelRef:
    """Parse ``provider/model[@profile]``; a bare name goes through aliases and the catalog."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise ModelRefError(
            "Model ref is empty", hint="Use provider/model, e.g. lmstudio/qwen/qwen3.5-9b."
        )
    body, profile = _split_profile(cleaned)
    if not body.strip() or profile == "":
        raise ModelRefError(
            f'Invalid model ref "{cleaned}"',
            hint="Use provider/model[@profile], e.g. lmstudio/qwen/qwen3.5-9b@work.",
        )
    if "/" not in body:
        return _bare_name(body, profile, cfg, cleaned)
    provider_text, _, model = body.partition("/")
    provider = configured_provider(provider_text, cfg)
    if not provider or not model.strip() or not re.match(_PROVIDER_RE, provider.lower()):
        raise ModelRefError(
            f'Invalid model ref "{cleaned}"',
            hint="Use provider/model, e.g. lmstudio/qwen/qwen3.5-9b.",
        )
    problem = model_id_problem(model.strip())
    if problem is not None:
        shown = visible_line(cleaned[:120]) + ("…" if len(cleaned) > 120 else "")
        raise ModelRefError(
            f'Invalid model ref "{shown}": {problem}',
            hint="Use provider/model, e.g. lmstudio/qwen/qwen3.5-9b.",
        )
    return ModelRef(provider, model.strip(), profile)


def _bare_name(name: str, profile: str | None, cfg: LoadedConfig | None, original: str) -> ModelRef:
    aliased = alias_map(cfg).get(name.lower())
    if aliased and "/" in aliased:
        ref = parse_model_ref(aliased, cfg)
        return ModelRef(ref.provider, ref.model, profile or ref.profile)
    if cfg is not None:
        owners = [
            pid
            for pid, provider_cfg in cfg.providers().items()
            if any(
                isinstance(row, dict) and row.get("id") == name
                for row in provider_cfg.get("models") or []
            )
        ]
        if len(owners) == 1:
            return ModelRef(owners[0], name, profile)
        if len(owners) > 1:
            raise ModelRefError(
                f'Model "{name}" is offered by several providers: {", ".join(sorted(owners))}',
                hint=f"Say which one, e.g. {owners[0]}/{name}.",
            )
    raise ModelRefError(
        f'Model "{original}" specified without provider and no alias or configured model matches',
        hint=f"Use provider/model, e.g. lmstudio/{name}.",
    )


def try_parse(text: str, cfg: LoadedConfig | None = None) -> ModelRef | None:
    try:
        return parse_model_ref(text, cfg)
    except ModelRefError:
        return None
