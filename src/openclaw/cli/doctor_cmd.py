"""`openclaw doctor [--fix] [--json] [--probe]`: what is wrong with this HOME, and the fix."""

from __future__ import annotations

import click

from openclaw.cli.common import echo_json


@click.command("doctor")
@click.option("--fix", "fix", is_flag=True, help="Repair what is safe to repair (after a backup).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable findings on stdout.")
@click.option("--probe", is_flag=True, help="Also check that each configured provider answers.")
def doctor(fix: bool, as_json: bool, probe: bool) -> None:
    """Check config, keys and lock files (shared with the TypeScript OpenClaw)."""
    from openclaw.config.paths import resolve_paths
    from openclaw.doctor.checks import apply_fixes, run_checks

    paths = resolve_paths()
    findings = run_checks(paths, probe=probe)
    changes: list[str] = []
    if fix and any(f.repair for f in findings):
        changes = apply_fixes(findings)
        findings = run_checks(paths, probe=probe)
    errors = sum(1 for f in findings if f.severity == "error")
    if as_json:
        echo_json(
            {
                "ok": errors == 0,
                "errors": errors,
                "findings": [f.as_json() for f in findings],
                "changed": changes,
            }
        )
    else:
        for line in changes:
            click.echo(f"fixed: {line}")
        for f in findings:
            click.echo(f"{f.severity}: {f.message}")
            if f.fix:
                click.echo(f"  fix: {f.fix}")
        if not findings:
            click.echo(f"No problems found in {paths.display(paths.state_dir)}.")
        elif errors and not fix and any(f.repair for f in findings):
            click.echo("Run `openclaw doctor --fix` to repair what can be repaired safely.")
    if errors:
        raise SystemExit(1)
