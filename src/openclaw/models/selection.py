"""Editing which models the agent uses, in ``openclaw.json``: the default model and its
fallbacks (``agents.defaults.model``) and the allowlist with its aliases
(``agents.defaults.models``). Each edit is one locked read-modify-write of the config; the
commands in ``cli/models_cmd.py`` only parse, call one of these and print.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from openclaw.errors import ConfigError, ModelRefError

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.config.writer import WriteResult
    from openclaw.models.refs import ModelRef


def parse_known_ref(ref: str, cfg: LoadedConfig) -> ModelRef:
    """``ref`` parsed, refused when its provider is neither configured nor bundled."""
    from openclaw.config.providers_known import BUNDLED_PROVIDER_IDS
    from openclaw.models.refs import parse_model_ref

    parsed = parse_model_ref(ref, cfg)
    if parsed.provider not in cfg.providers() and parsed.provider not in BUNDLED_PROVIDER_IDS:
        known = ", ".join(sorted(cfg.providers())) or "none configured"
        raise ModelRefError(
            f'Unknown provider "{parsed.provider}" in model ref "{ref}"',
            hint=f"Configured providers: {known}. Run `openclaw onboard` to add one.",
        )
    return parsed


def _defaults(doc: dict) -> dict:
    agents = doc.setdefault("agents", {})
    if not isinstance(agents, dict):
        raise ConfigError("agents in openclaw.json is not an object")
    defaults = agents.setdefault("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError("agents.defaults in openclaw.json is not an object")
    return defaults


def _model_selection(doc: dict) -> dict:
    """``agents.defaults.model`` as an object (a plain string becomes ``{primary}``)."""
    defaults = _defaults(doc)
    current = defaults.get("model")
    if isinstance(current, str):
        current = {"primary": current}
    elif not isinstance(current, dict):
        current = {}
    defaults["model"] = current
    return current


def _allowlist(doc: dict) -> dict:
    defaults = _defaults(doc)
    models = defaults.get("models")
    if not isinstance(models, dict):
        models = {}
        defaults["models"] = models
    return models


def _write(mutate: Callable[[dict], None]) -> WriteResult:
    from openclaw.config.writer import update_config

    return update_config(mutate)


def set_default(parsed: ModelRef) -> WriteResult:
    """Make ``parsed`` the default model (and allow it)."""

    def mutate(doc: dict) -> None:
        _model_selection(doc)["primary"] = str(parsed)
        _allowlist(doc).setdefault(parsed.key, {})

    return _write(mutate)


def alias_map(cfg: LoadedConfig) -> dict[str, str]:
    """{alias: model key} from the allowlist."""
    from openclaw.models.refs import agent_model_entries

    return {
        entry["alias"]: ref
        for ref, entry in agent_model_entries(cfg).items()
        if isinstance(entry, dict) and isinstance(entry.get("alias"), str)
    }


def add_alias(alias: str, parsed: ModelRef) -> tuple[str, WriteResult]:
    """Let ``alias`` (trimmed) stand for ``parsed``; refused when it names another model."""
    name = alias.strip()
    if not name or "/" in name or "@" in name:
        raise ModelRefError(
            f'Invalid alias "{alias}"', hint="Aliases are plain names without / or @."
        )

    def mutate(doc: dict) -> None:
        allow = _allowlist(doc)
        for existing_ref, entry in allow.items():
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("alias"), str)
                and entry["alias"].lower() == name.lower()
                and existing_ref != parsed.key
            ):
                raise ModelRefError(f"Alias {name} already points to {existing_ref}.")
        entry = allow.get(parsed.key)
        if not isinstance(entry, dict):
            entry = {}
            allow[parsed.key] = entry
        entry["alias"] = name

    return name, _write(mutate)


def remove_alias(alias: str) -> WriteResult:
    """Remove ``alias`` (any case); the model stays allowed."""

    def mutate(doc: dict) -> None:
        for entry in _allowlist(doc).values():
            if isinstance(entry, dict) and str(entry.get("alias", "")).lower() == alias.lower():
                del entry["alias"]
                return
        raise ModelRefError(f'No alias named "{alias}"')

    return _write(mutate)


def add_fallback(parsed: ModelRef) -> WriteResult:
    """Append ``parsed`` to the fallbacks (once) and allow it."""
    text = str(parsed)

    def mutate(doc: dict) -> None:
        selection = _model_selection(doc)
        current = selection.get("fallbacks")
        current = [f for f in current if isinstance(f, str)] if isinstance(current, list) else []
        if text not in current:
            current.append(text)
        selection["fallbacks"] = current
        _allowlist(doc).setdefault(parsed.key, {})

    return _write(mutate)


def remove_fallback(ref: str, cfg: LoadedConfig) -> WriteResult:
    """Remove ``ref`` from the fallbacks, as written or in any spelling that parses alike."""
    from openclaw.models.refs import try_parse

    parsed = try_parse(ref, cfg)
    wanted = {ref.strip(), *([str(parsed), parsed.key] if parsed else [])}

    def mutate(doc: dict) -> None:
        selection = _model_selection(doc)
        current = selection.get("fallbacks")
        current = current if isinstance(current, list) else []
        kept = [f for f in current if f not in wanted]
        if len(kept) == len(current):
            raise ModelRefError(f'"{ref}" is not a fallback')
        selection["fallbacks"] = kept

    return _write(mutate)


def clear_fallbacks() -> WriteResult:
    def mutate(doc: dict) -> None:
        _model_selection(doc)["fallbacks"] = []

    return _write(mutate)
