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

_STATUS_TEXT = {
    "closed": "nothing listening",
    "timeout": "no answer in time",
    "blocked": "not probed",
    "auth": "needs an API key",
    "unknown": "answers, not a model server",
    "error": "error",
}


def _safe(text: str) -> str:
    """Server text is untrusted: control characters shown escaped, never raw."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _line(found: Finding) -> str:
    where = f"{found.host}:{found.port}"
    if found.status == "found":
        models = ", ".join(
            f"{m} ({found.contexts[m]} ctx)" if m in found.contexts else m for m in found.models
        )
        return f"{where:<22} {found.label}: {_safe(models) or 'no models'}"
    text = _STATUS_TEXT.get(found.status, found.status)
    note = f" ({_safe(found.note)})" if found.note else ""
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
