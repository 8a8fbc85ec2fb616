"""The ``openclaw`` entry point.

``--version`` is answered before click is imported (scripts call it in loops); everything
else goes to the command tree in :mod:`openclaw.cli.app`.
"""

from __future__ import annotations

import sys
from typing import Any

from openclaw import __version__


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        print(__version__)
        sys.exit(0)
    from openclaw.cli.app import run

    run(args)


def __getattr__(name: str) -> Any:
    # `from openclaw.cli.main import cli` keeps working without importing click up front.
    if name == "cli":
        from openclaw.cli.app import cli

        return cli
    raise AttributeError(name)
