"""`openclaw config get|set|unset|file|validate`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from openclaw.cli.common import echo_json, load_for_command, report_write, warn
from openclaw.errors import ConfigValidationError, UsageError

if TYPE_CHECKING:
    pass


def parse_cli_value(text: str) -> Any:
    """A JSON5 value when the text parses as one, else the text itself as a string."""
    stripped = text.strip()
    if not stripped:
        return text
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    except RecursionError:
        raise _too_deep_value() from None
    import json5

    try:
        return json5.loads(stripped)
    except ValueError:
        return text
    except RecursionError:
        raise _too_deep_value() from None


def _too_deep_value() -> UsageError:
    from openclaw.config.parse import MAX_NESTING

    return UsageError(
        f"The value is nested too deeply to parse (a config may nest {MAX_NESTING} levels)",
        hint="Use a flatter value.",
    )


def _render(value: Any, as_json: bool) -> str:
    from openclaw.textsafe import json_text, visible

    if as_json or isinstance(value, (dict, list)):
        return json_text(value)
    if isinstance(value, str):
        return visible(value)
    return json.dumps(value)


def _echo_invalid(exc: ConfigValidationError) -> None:
    errors = [{"path": where, "message": message} for where, message in exc.issues]
    echo_json({"valid": False, "exists": True, "path": exc.file, "errors": errors})


@click.group("config")
def config() -> None:
    """Read and edit openclaw.json."""


@config.command("file")
def config_file() -> None:
    """Print the path of the active config file."""
    from openclaw.config.paths import resolve_paths

    click.echo(str(resolve_paths().config_path))


@config.command("get")
@click.argument("path", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the value as JSON.")
def config_get(path: str | None, as_json: bool) -> None:
    """Show a value (or the whole config); secrets show as __OPENCLAW_REDACTED__."""
    from openclaw.auth.redact import authored_view, redact_config
    from openclaw.config.util import get_path
    from openclaw.errors import ConfigError

    cfg = load_for_command(validate=False)
    data = redact_config(authored_view(cfg.data, cfg.authored))
    if path is None:
        click.echo(_render(data, True))
        return
    try:
        value = get_path(data, path)
    except KeyError:
        raise ConfigError(
            f"Config path not found: {path}",
            hint="Check the spelling; `openclaw config get` prints the whole file.",
        ) from None
    click.echo(_render(value, as_json))


# ignore_unknown_options: a negative number ("-1") is a value, not an unknown flag.
@config.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("path")
@click.argument("value")
def config_set(path: str, value: str) -> None:
    """Set PATH to VALUE (parsed as JSON5 when it parses, else a string)."""
    from openclaw.config.util import set_path
    from openclaw.config.writer import update_config

    parsed = parse_cli_value(value)
    result = update_config(lambda doc: set_path(doc, path, parsed))
    report_write(result)


@config.command("unset")
@click.argument("path")
def config_unset(path: str) -> None:
    """Remove PATH from the config."""
    from openclaw.config.util import unset_path
    from openclaw.config.writer import update_config
    from openclaw.errors import ConfigError

    def mutate(doc: dict) -> None:
        if not unset_path(doc, path):
            raise ConfigError(f"Config path not found: {path}")

    report_write(update_config(mutate))


@config.command("validate")
@click.option("--strict", is_flag=True, help="Fail on ${VAR} references to unset variables.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def config_validate(strict: bool, as_json: bool) -> int:
    """Check the config file; exit 1 when it is invalid."""
    from openclaw.config.loader import check_config, load_config

    try:
        cfg = load_config(strict_env=strict, validate=False)
    except ConfigValidationError as exc:  # refused while loading (credentials in a URL)
        if not as_json:
            raise
        _echo_invalid(exc)
        return 1
    shown = cfg.paths.display(cfg.path)
    if not cfg.exists:
        if as_json:
            echo_json({"valid": True, "exists": False, "path": str(cfg.path), "warnings": []})
        else:
            click.echo(f"No config file at {shown}; built-in defaults apply.")
        return 0
    try:
        unknown = check_config(cfg.data, cfg.paths, cfg.path, use_stamp=False)
    except ConfigValidationError as exc:
        if not as_json:
            raise
        _echo_invalid(exc)
        return 1
    warnings = [f"{where}: {message}" for where, message in unknown]
    warnings += cfg.env_warnings + cfg.value_warnings
    if as_json:
        echo_json({"valid": True, "exists": True, "path": str(cfg.path), "warnings": warnings})
        return 0
    for message in warnings:
        warn(message)
    click.echo(f"Config valid: {shown}")
    return 0
