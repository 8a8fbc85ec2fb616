"""Pure mapping of LM Studio's ``/api/v1/models`` entries (lmstudio.md §3.4-3.6, §3.9, §7.6).

No I/O here: discovery.py fetches, this module interprets.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from openclaw.config.limits import MAX_CONTEXT_TOKENS
from openclaw.providers.lmstudio import reasoning

if TYPE_CHECKING:
    from openclaw.config.settings import ModelSettings

DEFAULT_CONTEXT_WINDOW = 128_000
DEFAULT_MAX_TOKENS = 8192
DEFAULT_LOAD_CONTEXT = 64_000
DEFAULT_MODEL_ID = "qwen/qwen3.5-9b"
DEFAULT_EMBEDDING_MODEL = "text-embedding-nomic-embed-text-v1.5"
ZERO_COST = {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0}
MAX_SAFE_INTEGER = 2**53 - 1


def positive_int(value: Any) -> int | None:
    """JS ``Number.isSafeInteger(x) && x > 0`` on a JSON value (§11)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_SAFE_INTEGER else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        as_int = int(value)
        return as_int if 0 < as_int <= MAX_SAFE_INTEGER else None
    return None


def context_length(value: Any) -> int | None:
    """A context size from the server we believe: a positive integer up to 2^31 tokens."""
    tokens = positive_int(value)
    return tokens if tokens is not None and tokens <= MAX_CONTEXT_TOKENS else None


def _impossible(value: Any) -> bool:
    return value is not None and context_length(value) is None


def impossible_contexts(entry: Any) -> list[str]:
    """The context lengths of an entry that are not believable (negative, NaN, 1e30, strings,
    booleans): each is ignored, and discovery warns with these descriptions."""
    if not isinstance(entry, dict):
        return []
    out = []
    if _impossible(entry.get("max_context_length")):
        out.append(f"max_context_length {_shown(entry['max_context_length'])}")
    raw = entry.get("loaded_instances")
    for inst in raw if isinstance(raw, list) else []:
        config = inst.get("config") if isinstance(inst, dict) else None
        if isinstance(config, dict) and _impossible(config.get("context_length")):
            out.append(f"loaded context_length {_shown(config['context_length'])}")
    return out


def _shown(value: Any) -> str:
    from openclaw.textsafe import visible_line

    text = repr(value)
    return visible_line(text if len(text) <= 40 else text[:40] + "…")


def entry_key(entry: Any) -> str:
    key = entry.get("key") if isinstance(entry, dict) else None
    return key.strip() if isinstance(key, str) else ""


def is_llm(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("type") == "llm" and bool(entry_key(entry))


def has_usable_key(entry: Any) -> bool:
    """The key passes the one model-id rule (no controls, <= 512 chars, no empty segment)."""
    from openclaw.models.refs import model_id_problem

    return model_id_problem(entry_key(entry)) is None


def count_unusable(entries: list[Any]) -> int:
    """LLM entries skipped for their key (discovery warns with this count)."""
    return sum(1 for e in entries if is_llm(e) and not has_usable_key(e))


def instances(entry: dict) -> list[tuple[str | None, int]]:
    """Valid loaded instances as (trimmed id or None, context length), in list order."""
    out: list[tuple[str | None, int]] = []
    raw = entry.get("loaded_instances")
    if not isinstance(raw, list):
        return out
    for inst in raw:
        if not isinstance(inst, dict) or not isinstance(inst.get("config"), dict):
            continue
        ctx = context_length(inst["config"].get("context_length"))
        if ctx is None:
            continue
        inst_id = inst.get("id")
        ident = inst_id.strip() if isinstance(inst_id, str) and inst_id.strip() else None
        out.append((ident, ctx))
    return out


def loaded_context(entry: dict) -> int | None:
    contexts = [ctx for _id, ctx in instances(entry)]
    if contexts:
        return max(contexts)
    return context_length(entry.get("loaded_context_length"))


def advertised_context(entry: dict) -> int | None:
    return context_length(entry.get("max_context_length"))


def _capabilities(entry: dict) -> dict:
    caps = entry.get("capabilities")
    return caps if isinstance(caps, dict) else {}


def map_entry(entry: Any, *, runtime: bool) -> dict[str, Any] | None:
    """One wire entry -> a model row (config mode or runtime mode, §3.5)."""
    if not is_llm(entry) or not has_usable_key(entry):
        return None
    key = entry_key(entry)
    display = entry.get("display_name")
    name = display.strip() if isinstance(display, str) and display.strip() else key
    loaded = loaded_context(entry)
    advertised = advertised_context(entry)
    # No maximum listed: the spec's default. An impossible one: unknown, never that default.
    context_window = advertised or (
        None if _impossible(entry.get("max_context_length")) else DEFAULT_CONTEXT_WINDOW
    )
    # A running instance decides its own budget. An unloaded model is budgeted at the default
    # load context clamped to its maximum (what openclaw 2026.9.6 saves, observed §3; the
    # spec's "advertised maximum" variant would make every first chat load 256k contexts).
    context_tokens = loaded or (
        min(context_window, DEFAULT_LOAD_CONTEXT) if context_window else None
    )
    max_tokens = max(1, min(loaded or context_window or DEFAULT_MAX_TOKENS, DEFAULT_MAX_TOKENS))
    caps = _capabilities(entry)
    tools = caps.get("trained_for_tool_use") is True
    compat: dict[str, Any] = dict(reasoning.reasoning_compat(caps.get("reasoning")) or {})
    if tools:
        compat["supportsTools"] = True
    if runtime:
        tags = runtime_tags(entry)
        if tags:
            name = f"{name} ({', '.join(tags)})"
        compat = {"supportsUsageInStreaming": True, **compat}
    row: dict[str, Any] = {
        "id": key,
        "name": name,
        "reasoning": reasoning.reasoning_flag(caps.get("reasoning")),
        "input": ["text", "image"] if caps.get("vision") else ["text"],
        "cost": dict(ZERO_COST),
    }
    if compat:
        row["compat"] = compat
    if context_window is not None:
        row["contextWindow"] = context_window
    if context_tokens is not None:
        row["contextTokens"] = context_tokens
    row["maxTokens"] = max_tokens
    return row


def runtime_tags(entry: dict) -> list[str]:
    """Display tags of runtime discovery, in order: MLX/GGUF, vision, tool-use, loaded."""
    caps = _capabilities(entry)
    tags = []
    fmt = entry.get("format")
    if fmt == "mlx":
        tags.append("MLX")
    elif fmt == "gguf":
        tags.append("GGUF")
    if caps.get("vision") is True:
        tags.append("vision")
    if caps.get("trained_for_tool_use") is True:
        tags.append("tool-use")
    if loaded_context(entry) is not None:
        tags.append("loaded")
    return tags


def map_entries(entries: list[Any], *, runtime: bool) -> list[dict[str, Any]]:
    rows = [map_entry(e, runtime=runtime) for e in entries]
    return [r for r in rows if r is not None]


def entry_flags(entry: dict) -> dict[str, Any]:
    """Internal flags of §3.5 (format, vision, trainedForToolUse, loaded)."""
    caps = _capabilities(entry)
    fmt = entry.get("format")
    return {
        "format": fmt if isinstance(fmt, str) else None,
        "vision": caps.get("vision") is True,
        "trainedForToolUse": caps.get("trained_for_tool_use") is True,
        "loaded": loaded_context(entry) is not None,
    }


def _variants(entry: dict) -> list[str]:
    out: list[str] = []
    selected = entry.get("selected_variant")
    if isinstance(selected, str) and selected.strip():
        out.append(selected.strip())
    raw = entry.get("variants")
    if isinstance(raw, list):
        for v in raw:
            if isinstance(v, str) and v.strip() and v.strip() not in out:
                out.append(v.strip())
    return out


def canonical_key(requested: str, entries: list[Any]) -> str:
    """Map a quantisation variant id back to its loadable key (§3.6)."""
    wanted = requested.strip()
    if not wanted:
        return requested
    valid = [e for e in entries if isinstance(e, dict) and entry_key(e)]
    if any(entry_key(e) == wanted for e in valid):
        return wanted
    lowered = wanted.lower()
    for e in valid:
        if any(v.lower() == lowered for v in _variants(e)):
            return entry_key(e)
    return wanted


def find_entry(key: str, entries: list[Any]) -> dict | None:
    for e in entries:
        if isinstance(e, dict) and entry_key(e) == key:
            return e
    return None


# ---- configured catalog entries (§3.9) -------------------------------------------------------

_INPUT_KINDS = ("text", "image", "document")


def normalize_configured_entry(entry: Any) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        return None
    ident = entry.get("id")
    if not isinstance(ident, str) or not ident.strip():
        return None
    name = entry.get("name")
    out: dict[str, Any] = {
        "id": ident.strip(),
        "name": name if isinstance(name, str) and name.strip() else ident.strip(),
        "contextWindow": positive_int(entry.get("contextWindow")),
        "contextTokens": positive_int(entry.get("contextTokens")),
        "reasoning": entry["reasoning"] if isinstance(entry.get("reasoning"), bool) else None,
    }
    raw_input = entry.get("input")
    kinds = [k for k in raw_input if k in _INPUT_KINDS] if isinstance(raw_input, list) else []
    out["input"] = kinds or None
    out["compat"] = reasoning.normalize_configured_compat(entry.get("compat"))
    return out


def normalize_model_row(row: dict[str, Any]) -> dict[str, Any]:
    """Catalog-load normalisation of a saved row: sanitise compat, migrate on/off maps.

    The row keeps its other fields; invalid numbers are dropped so later code can fall back
    to defaults. The caller's dict is never mutated.
    """
    out = dict(row)
    if "compat" in row:
        compat = reasoning.normalize_configured_compat(row.get("compat"))
        if compat is None:
            out.pop("compat", None)
        else:
            out["compat"] = compat
    for key in ("contextWindow", "contextTokens", "maxTokens"):
        if key in out and positive_int(out[key]) is None:
            out.pop(key)
    return out


# ---- default model (§7.6) --------------------------------------------------------------------

_NOT_CHAT = re.compile(r"embed|rerank|whisper|-vl\b|vision|omni|guard")
_FAMILIES = [
    re.compile(p)
    for p in (
        r"gemma[-_.]?4(?!\d)",
        r"qwen[-_.]?3[._]5(?!\d)",
        r"qwen[-_.]?3(?!\d)",
        r"gpt[-_.]?oss",
        r"gemma[-_.]?3(?!\d)",
        r"llama[-_.]?4(?!\d)",
        r"llama[-_.]?3(?!\d)",
        r"phi[-_.]?4(?!\d)",
        r"mistral",
        r"deepseek",
    )
]


def _rank(model_id: str) -> int:
    lowered = model_id.lower()
    if _NOT_CHAT.search(lowered):
        return 30
    coder = "coder" in lowered
    for i, pattern in enumerate(_FAMILIES):
        if pattern.search(lowered):
            return i + (10 if coder else 0)
    return 20 + (1 if coder else 0)


def choose_default_model(ids: list[str]) -> str | None:
    if not ids:
        return None
    if DEFAULT_MODEL_ID in ids:
        return DEFAULT_MODEL_ID
    best = min(range(len(ids)), key=lambda i: (_rank(ids[i]), i))
    return ids[best]


def configured_context(model: ModelSettings) -> int | None:
    """The context the user configured for a model, for chat preload and embeddings alike
    (lmstudio.md §6.1, §8.4): model contextTokens; else the smaller of model contextWindow and
    provider contextTokens; else whichever of those or provider contextWindow exists."""
    if model.context_tokens is not None:
        return model.context_tokens
    window, provider = model.context_window, model.provider
    if window is not None and provider.context_tokens is not None:
        return min(window, provider.context_tokens)
    return window or provider.context_tokens or provider.context_window
