"""`openclaw models list|set|status|aliases|fallbacks`.

Kept light: `models list` is meant to feel instant, so this module imports only click at
load time and each command imports what it needs.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from openclaw.cli import pull_cmd
from openclaw.cli.common import echo_json, echo_safe, load_for_command, report_write, warn

if TYPE_CHECKING:
    from openclaw.config.loader import LoadedConfig
    from openclaw.providers.probe import ProbeResult

agent_option = click.option(
    "--agent", "agent_id", default="main", show_default=True, metavar="ID",
    help="Which agent's directory and auth store to use.",
)  # fmt: skip


@click.group("models")
def models() -> None:
    """List, pick and check models."""


models.add_command(pull_cmd.pull)  # `models pull` / `models rm`: the GGUF downloader
models.add_command(pull_cmd.rm)

# ----------------------------------------------------------------------------- list


@models.command("list")
@click.option("--local", "local_only", is_flag=True, help="Only models on local endpoints.")
@click.option("--provider", "provider_id", metavar="ID", help="Only this provider's models.")
@click.option("--refresh", is_flag=True, help="Ask the providers for their models first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--plain", is_flag=True, help="One model key per line.")
@agent_option
def list_models(
    local_only: bool,
    provider_id: str | None,
    refresh: bool,
    as_json: bool,
    plain: bool,
    agent_id: str,
) -> int:
    """Show the configured models (context, auth, tags)."""
    from openclaw.cli.models_list import ListOptions, run_list

    return run_list(
        ListOptions(
            local_only=local_only,
            provider_id=provider_id,
            refresh=refresh,
            as_json=as_json,
            plain=plain,
            agent_id=agent_id,
        )
    )


# ----------------------------------------------------------------------------- set


@models.command("set")
@click.argument("ref")
@agent_option
def set_model(ref: str, agent_id: str) -> None:
    """Make REF (provider/model) the default model."""
    from openclaw.models import selection
    from openclaw.models.catalog import find_entry

    cfg = load_for_command()
    parsed = selection.parse_known_ref(ref, cfg)
    if find_entry(cfg, parsed) is None:
        warn(f'Model "{parsed.key}" is not in the configured catalog of "{parsed.provider}".')
    report_write(selection.set_default(parsed))
    click.echo(f"Default model: {parsed}")


# ----------------------------------------------------------------------------- status


def _render_status(data: dict[str, Any], cfg: LoadedConfig) -> None:
    display = cfg.paths.display

    def listing(items: list[str]) -> str:
        return ", ".join(items) if items else "-"

    aliases = [f"{alias} -> {ref}" for alias, ref in data["aliases"].items()]
    default = data["defaultModel"] or (
        f"{data['resolvedDefault']} (first configured model)" if data["resolvedDefault"] else "-"
    )
    lines = [
        ("Config", display(cfg.path) + ("" if cfg.exists else " (missing)")),
        ("Agent dir", display(cfg.paths.agent_dir(data["agentId"]))),
        ("Default", default),
        (f"Fallbacks ({len(data['fallbacks'])})", listing(data["fallbacks"])),
        ("Image", data["imageModel"] or "-"),
        (f"Image fallbacks ({len(data['imageFallbacks'])})", listing(data["imageFallbacks"])),
        (f"Aliases ({len(aliases)})", listing(aliases)),
        (f"Allowed ({len(data['allowed'])})", listing(data["allowed"])),
    ]
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        echo_safe(f"{label.ljust(width)} : {value}")
    click.echo("")
    click.echo("Auth overview")
    click.echo(f"{'Auth store'.ljust(width)} : {display(Path(data['auth']['storePath']))}")
    for row in data["auth"]["providers"]:
        profiles = row["profiles"]
        parts = [
            f"- {row['provider']} effective={row['effective']['kind']}:{row['effective']['detail']}",
            f"profiles={profiles['count']} ({profiles['oauth']} oauth, {profiles['token']} token, "
            f"{profiles['apiKey']} api-key)",
            *profiles["labels"],
        ]
        if "env" in row:
            env = row["env"]
            parts.append(f"env={env['name']}" + (f"={env['value']}" if env["set"] else " (unset)"))
        echo_safe(" | ".join(parts))
    missing = data["auth"]["missingProvidersInUse"]
    if missing:
        click.echo(f"Missing credentials for providers in use: {', '.join(missing)}")
    expiring = data["auth"].get("expiringProvidersInUse")
    if expiring:
        click.echo(f"Credentials expiring soon for providers in use: {', '.join(expiring)}")


def _probe_line(probe: ProbeResult) -> str:
    latency = probe.latency_ms
    seconds = f"{latency / 1000:.1f}s" if latency is not None else "-"
    target = f"{probe.provider}/{probe.model}" if probe.model else probe.provider
    line = f"{target}  {probe.status} · {seconds}"
    if probe.message and probe.status != "ok":
        line += f" ↳ {probe.message}"
    usage = probe.usage
    if usage is not None and probe.status == "ok":
        line += f" (usage: {usage.input} in / {usage.output} out)"
    return "\n".join([line, *_detail_lines(probe.details)])


def _detail_lines(details: dict[str, Any]) -> list[str]:
    """What a local server told the probe: reachability, loaded instances, the model's context."""
    if not details:
        return []
    server = details.get("server", "server")
    if not details.get("reachable", False) or "error" in details:
        return [f"  {server}: {details.get('error', 'not reachable')}"]
    loaded = details.get("loaded") or []
    instances = ", ".join(f"{item['instance']} ({item['context']} ctx)" for item in loaded)
    lines = [f"  {server}: reachable · loaded: {instances or 'none'}"]
    model = details.get("model")
    if isinstance(model, dict):
        if not model.get("installed"):
            state = "not installed on this server"
        elif model.get("loaded"):
            state = f"loaded with {model.get('loadedContext')} context"
        else:
            state = "installed, not loaded (loads on first use)"
        limits = [
            f"{k} {model[v]}"
            for k, v in (("max", "maxContext"), ("requested", "requestedContext"))
            if model.get(v)
        ]
        suffix = f" ({', '.join(limits)})" if limits else ""
        lines.append(f"  {model.get('key')}: {state}{suffix}")
    return lines


@models.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--plain", is_flag=True, help="Print only the resolved default model.")
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 when a provider in use has missing or expired credentials, 2 when they "
    "expire soon.",
)
@click.option(
    "--probe", is_flag=True, help="Send a tiny live request to each provider (exit 1 on failure)."
)
@click.option("--probe-provider", metavar="ID", help="Probe only this provider.")
@click.option("--probe-timeout", type=float, default=10.0, show_default=True, metavar="S")
@agent_option
def status(
    as_json: bool,
    plain: bool,
    check: bool,
    probe: bool,
    probe_provider: str | None,
    probe_timeout: float,
    agent_id: str,
) -> int:
    """Show the default model, fallbacks, aliases and where credentials come from."""
    from openclaw.models.status import check_exit_code, status_data

    cfg = load_for_command()
    if plain:
        from openclaw.models.catalog import resolved_default_ref

        click.echo(resolved_default_ref(cfg, agent_id) or "")
        return 0
    data = status_data(cfg, agent_id)
    probes: list[ProbeResult] | None = None
    if probe or probe_provider:
        probes = _run_probes(cfg, probe_provider, probe_timeout)
        data["auth"]["probes"] = [p.to_json() for p in probes]
    if as_json:
        echo_json(data)
    else:
        _render_status(data, cfg)
        if probes is not None:
            _render_probe_lines(probes)
    code = check_exit_code(data) if check else 0
    if probes is not None:
        from openclaw.providers.probe import any_failed

        if any_failed(probes):
            code = 1  # a failed probe outranks "expiring soon"
    return code


def _run_probes(cfg: LoadedConfig, provider: str | None, timeout: float) -> list[ProbeResult]:
    from openclaw.cli.common import run_async
    from openclaw.providers.probe import probe
    from openclaw.providers.progress import load_progress

    with load_progress():
        return run_async(functools.partial(probe, cfg, provider=provider, timeout=timeout))


def _render_probe_lines(probes: list[ProbeResult]) -> None:
    click.echo("")
    click.echo("Probes")
    for p in probes:
        echo_safe(_probe_line(p))
    if not probes:
        click.echo("(no models to probe)")


# ----------------------------------------------------------------------------- aliases


@models.group("aliases")
def aliases() -> None:
    """List and edit model aliases."""


@aliases.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@agent_option
def aliases_list(as_json: bool, agent_id: str) -> None:
    from openclaw.models.selection import alias_map

    found = alias_map(load_for_command())
    if as_json:
        echo_json({"aliases": found})
        return
    if not found:
        click.echo("No aliases.")
    for alias, ref in sorted(found.items()):
        click.echo(f"{alias} -> {ref}")


@aliases.command("add")
@click.argument("alias")
@click.argument("ref")
@agent_option
def aliases_add(alias: str, ref: str, agent_id: str) -> None:
    """Let ALIAS stand for REF."""
    from openclaw.models import selection

    cfg = load_for_command()
    parsed = selection.parse_known_ref(ref, cfg)
    name, result = selection.add_alias(alias, parsed)
    report_write(result)
    click.echo(f"Alias {name} -> {parsed.key}")


@aliases.command("remove")
@click.argument("alias")
@agent_option
def aliases_remove(alias: str, agent_id: str) -> None:
    """Remove ALIAS (the model stays allowed)."""
    from openclaw.models.selection import remove_alias

    report_write(remove_alias(alias))
    click.echo(f"Removed alias {alias}")


# ----------------------------------------------------------------------------- fallbacks


@models.group("fallbacks")
def fallbacks() -> None:
    """List and edit the fallback models tried when the default fails."""


@fallbacks.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@agent_option
def fallbacks_list(as_json: bool, agent_id: str) -> None:
    from openclaw.models.catalog import fallback_refs

    refs = fallback_refs(load_for_command())
    if as_json:
        echo_json({"fallbacks": refs})
        return
    if not refs:
        click.echo("No fallbacks.")
    for n, ref in enumerate(refs, start=1):
        click.echo(f"{n}. {ref}")


@fallbacks.command("add")
@click.argument("ref")
@agent_option
def fallbacks_add(ref: str, agent_id: str) -> None:
    """Append REF to the fallbacks."""
    from openclaw.models import selection

    parsed = selection.parse_known_ref(ref, load_for_command())
    report_write(selection.add_fallback(parsed))
    click.echo(f"Fallback added: {parsed}")


@fallbacks.command("remove")
@click.argument("ref")
@agent_option
def fallbacks_remove(ref: str, agent_id: str) -> None:
    """Remove REF from the fallbacks."""
    from openclaw.models.selection import remove_fallback

    report_write(remove_fallback(ref, load_for_command()))
    click.echo(f"Fallback removed: {ref}")


@fallbacks.command("clear")
@agent_option
def fallbacks_clear(agent_id: str) -> None:
    """Remove every fallback."""
    from openclaw.models.selection import clear_fallbacks

    report_write(clear_fallbacks())
    click.echo("Fallbacks cleared.")
