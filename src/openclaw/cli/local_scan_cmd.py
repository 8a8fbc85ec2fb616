"""``openclaw local scan [--json] [HOST...]``: which model servers answer on the usual ports.

For "why doesn't it see my server": each named host (default loopback) is probed on the known
ports of LM Studio, Ollama, llama-server, vLLM and SGLang (moved with OPENCLAW_SCAN_PORTS).
Only those exact origins are trusted for this command; metadata and link-local hosts never.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from openclaw.cli.common import echo_json, run_async

if TYPE_CHECKING:
    from openclaw.providers.scan import Finding


def _line(found: Finding) -> str:
    """One line per probed port; server text (model ids, notes) with controls made visible."""
    from openclaw.providers.scan import STATUS_WORDS
    from openclaw.textsafe import visible_line

    where = f"{found.host}:{found.port}"
    if found.status == "found":
        models = ", ".join(
            f"{m} ({found.contexts[m]} ctx)" if m in found.contexts else m for m in found.models
        )
        return f"{where:<22} {found.label}: {visible_line(models) or 'no models'}"
    text = STATUS_WORDS.get(found.status, found.status)
    note = f" ({visible_line(found.note)})" if found.note else ""
    return f"{where:<22} {text}{note}"


@click.command("scan")
@click.argument("hosts", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def scan(hosts: tuple[str, ...], as_json: bool) -> None:
    """Probe HOSTS (default 127.0.0.1) on the usual model-server ports."""
    import functools

    from openclaw.providers import scan as scanner

    targets = [h.strip().strip("[]") for h in hosts if h.strip()] or [scanner.LOOPBACK]
    ports = scanner.scan_ports()
    findings = run_async(functools.partial(scanner.scan, targets, ports=ports))
    if as_json:
        echo_json({"hosts": targets, "findings": [f.to_json() for f in findings]})
        return
    for found in findings:
        click.echo(_line(found))
    if not scanner.usable(findings):
        line, hints = scanner.nothing_found_message(findings)
        click.echo(line, err=True)
        click.echo(f"Hint: {hints}", err=True)
