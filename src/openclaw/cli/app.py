"""The click command tree of ``openclaw`` and the runner that maps errors to exit codes.

Only click is imported here; each subcommand's module is imported when that subcommand runs,
so no command pays for httpx2, pydantic or rich unless it uses them.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from openclaw import __version__

# name -> "module:attribute" of a click command; imported only when invoked.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("openclaw.cli.config_cmd:config", "Read and edit openclaw.json."),
    "models": ("openclaw.cli.models_cmd:models", "List, pick and check models."),
    "net": ("openclaw.cli.net_cmd:net", "Explain what the network guard allows."),
    "onboard": (
        "openclaw.cli.onboard_cmd:onboard",
        "Set up a model provider or the built-in engine.",
    ),
    "agent": ("openclaw.cli.agent_cmd:agent", "Talk to the default model."),
    "sessions": ("openclaw.cli.sessions_cmd:sessions", "List and show saved sessions."),
    "embed": ("openclaw.cli.embed_cmd:embed", "Embed text with an embedding model."),
    "doctor": ("openclaw.cli.doctor_cmd:doctor", "Find and fix problems with this HOME."),
    "local": ("openclaw.cli.local_cmd:local", "The built-in engine; scan for local servers."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = LAZY_COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text comes from the table so `openclaw --help` imports no subcommand module.
        rows = [(name, LAZY_COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="openclaw", message="%(version)s")
@click.option("--profile", metavar="NAME", help="Use the isolated state dir ~/.openclaw-NAME.")
@click.option("--dev", is_flag=True, help="Shorthand for --profile dev.")
@click.option("--debug", is_flag=True, envvar="OPENCLAW_DEBUG", help="Show tracebacks.")
@click.option("--no-color", is_flag=True, help="Plain output (also NO_COLOR=1).")
@click.pass_context
def cli(ctx: click.Context, profile: str | None, dev: bool, debug: bool, no_color: bool) -> None:
    """openclaw: run an assistant on your own open-weight models."""
    if dev and not profile:
        profile = "dev"
    if profile:
        # Paths are resolved from the environment everywhere, so the profile travels with it.
        os.environ["OPENCLAW_PROFILE"] = profile
    if no_color:
        os.environ["NO_COLOR"] = "1"
    ctx.obj = {"debug": debug}


def run(args: list[str]) -> None:
    debug = "--debug" in args or os.environ.get("OPENCLAW_DEBUG") == "1"
    try:
        result: Any = cli.main(args=args, prog_name="openclaw", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        from openclaw.cli.common import report_exception

        sys.exit(report_exception(exc, debug))
    sys.exit(result if isinstance(result, int) else 0)
