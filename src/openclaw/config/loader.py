"""Load ``openclaw.json``: JSON5, ``$include``, env block and dotenv, ``${VAR}``, validation,
``~`` expansion - in the order of core.md §1.3."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw.config.digest import sha256_hex
from openclaw.config.dotenv import read_dotenv
from openclaw.config.envsubst import substitute
from openclaw.config.includes import resolve_includes
from openclaw.config.limits import oversized_contexts, oversized_message
from openclaw.config.parse import decode, parse_document, read_bytes
from openclaw.config.paths import Paths, resolve_paths
from openclaw.errors import ConfigValidationError

# Keys whose string values are paths and get a leading "~" expanded (core.md §1.3 step 6).
_PATH_KEY_SUFFIXES = ("dir", "path", "paths", "file", "root", "workspace")


@dataclass
class LoadedConfig:
    paths: Paths
    path: Path
    exists: bool
    # raw/data/env can hold secrets: keep them out of repr() (tracebacks, logs, asserts).
    raw: dict = field(repr=False)
    data: dict = field(repr=False)
    warnings: list[str] = field(default_factory=list)
    file_hash: str | None = None
    #: The process environment completed by ./.env, <stateDir>/.env and the config env
    #: block (process values always win). Credential lookups read this, not os.environ.
    env: dict[str, str] = field(default_factory=dict, repr=False)
    #: Includes inlined but ``${VAR}`` not yet substituted: what the user wrote, for display.
    authored: dict = field(default_factory=dict, repr=False)
    #: (variable, dotted path) of ``${VAR}`` references that stayed unresolved.
    unresolved: list[tuple[str, str]] = field(default_factory=list)
    #: Unknown keys inside the validated sections: (dotted path, message).
    unknown_keys: list[tuple[str, str]] = field(default_factory=list)
    #: The file used JSON5 syntax (comments are lost when it is rewritten).
    was_json5: bool = False
    #: Values read but not believable (a context size above 2^31), one message each.
    value_warnings: list[str] = field(default_factory=list)

    def providers(self) -> dict[str, dict]:
        models = self.data.get("models")
        providers = models.get("providers") if isinstance(models, dict) else None
        if not isinstance(providers, dict):
            return {}
        return {k: v for k, v in providers.items() if isinstance(v, dict)}

    def provider(self, provider_id: str) -> dict | None:
        """The provider configured under ``provider_id`` or under an alias of the same kind."""
        from openclaw.config.kinds import find_provider_key

        providers = self.providers()
        key = find_provider_key(providers, provider_id)
        return providers.get(key) if key is not None else None

    def provider_key(self, provider_id: str) -> str | None:
        """The key as written in ``models.providers`` for an id or alias (None: not configured)."""
        from openclaw.config.kinds import find_provider_key

        return find_provider_key(self.providers(), provider_id)

    @property
    def env_warnings(self) -> list[str]:
        """One warning per ``${VAR}`` that stayed unresolved (commands print these)."""
        return [
            f'Missing env var "{name}" referenced at config path: {where} (left unresolved)'
            for name, where in self.unresolved
        ]

    def unresolved_at(self, dotted: str) -> list[str]:
        """Variables left unresolved in the value at ``dotted`` (e.g. a provider apiKey)."""
        return [name for name, path in self.unresolved if path == dotted]


def file_digest(data: bytes) -> str:
    return sha256_hex(data)


def effective_env(
    paths: Paths, config_env: Any = None, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Process env > ./.env > <stateDir>/.env > config ``env`` block (never overriding)."""
    env = dict(os.environ if base is None else base)
    for source in (read_dotenv(Path.cwd() / ".env"), read_dotenv(paths.state_dotenv_path)):
        for name, value in source.items():
            env.setdefault(name, value)
    for name, value in _config_env_vars(config_env).items():
        env.setdefault(name, value)
    return env


def _config_env_vars(block: Any) -> dict[str, str]:
    if not isinstance(block, dict):
        return {}
    values = {k: v for k, v in block.items() if isinstance(v, str) and k not in ("shellEnv",)}
    nested = block.get("vars")
    if isinstance(nested, dict):
        values.update({k: v for k, v in nested.items() if isinstance(v, str)})
    return values


def expand_home_paths(data: Any, home: Path) -> Any:
    """Expand a leading ``~`` in string values of path-like keys."""

    def expand(value: Any) -> Any:
        if isinstance(value, str) and (value == "~" or value.startswith("~/")):
            return str(home) + value[1:]
        if isinstance(value, list):
            return [expand(v) for v in value]
        return value

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if isinstance(key, str) and key.lower().endswith(_PATH_KEY_SUFFIXES):
                    value = expand(value)
                out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(data)


def check_config(
    data: dict, paths: Paths, config_path: Path, *, use_stamp: bool = True
) -> list[tuple[str, str]]:
    """Validate resolved data; raise ConfigValidationError, return unknown-key warnings."""
    from openclaw.config import stamp

    value = stamp.digest(data)
    if use_stamp:
        remembered = stamp.read_stamp(paths.state_dir, config_path, value)
        if remembered is not None:
            return [(str(w[0]), str(w[1])) for w in remembered if len(w) == 2]
    from openclaw.config.validate import validate_config

    errors, unknown = validate_config(data)
    if errors:
        raise ConfigValidationError(str(config_path), errors)
    stamp.write_stamp(paths.state_dir, config_path, value, unknown)
    return unknown


def refuse_credential_urls(data: dict, config_path: Path) -> None:
    """A provider URL with ``user:password@`` is refused on every path (load, validate,
    write): the key would be printed wherever the URL is, and sent as Basic auth."""
    from openclaw.config.urls import credential_url_issues

    issues = credential_url_issues(data)
    if issues:
        error = ConfigValidationError(str(config_path), issues)
        error.hint = "Keys belong in apiKey or an auth profile (`openclaw onboard`), not in a URL."
        raise error


def resolve_document(
    raw: dict,
    paths: Paths,
    config_path: Path,
    *,
    strict_env: bool = False,
    validate: bool = True,
    base_env: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Run the pipeline on an authored document (used by the loader and the writer)."""
    process_env = os.environ if base_env is None else base_env
    included = resolve_includes(raw, config_path, process_env)
    env = effective_env(paths, included.get("env"), process_env)
    data, report = substitute(included, env, strict=strict_env)
    refuse_credential_urls(data, config_path)
    cfg = LoadedConfig(
        paths=paths, path=config_path, exists=True, raw=raw, data=data, env=env,
        unresolved=report.missing, authored=included,
    )  # fmt: skip
    cfg.warnings.extend(cfg.env_warnings)
    cfg.value_warnings = [
        oversized_message(where, value) + "; set the model's real context size"
        for where, value in oversized_contexts(data).items()
    ]
    cfg.warnings.extend(cfg.value_warnings)
    if validate:
        cfg.unknown_keys = check_config(data, paths, config_path)
        cfg.warnings.extend(f"{where}: {message}" for where, message in cfg.unknown_keys)
    cfg.data = expand_home_paths(data, paths.home)
    return cfg


def load_config(
    paths: Paths | None = None,
    *,
    strict_env: bool = False,
    validate: bool = True,
    env: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Read and resolve the config file; a missing file gives an empty config."""
    paths = paths or resolve_paths(env)
    config_path = paths.config_path
    payload = read_bytes(config_path)
    if payload is None:
        return LoadedConfig(
            paths=paths, path=config_path, exists=False, raw={}, data={},
            env=effective_env(paths, None, env),
        )  # fmt: skip
    text = decode(payload, config_path)
    raw, was_json5 = parse_document(text, config_path)
    cfg = resolve_document(
        raw, paths, config_path, strict_env=strict_env, validate=validate, base_env=env
    )
    cfg.file_hash = file_digest(payload)
    cfg.was_json5 = was_json5
    return cfg
