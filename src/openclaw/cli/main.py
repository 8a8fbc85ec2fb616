"""The ``openclaw`` entry point.

``--version`` and the common forms of ``models list`` are answered before click is imported
(they must feel instant; scripts call them in loops); everything else goes to the command
tree in :mod:`openclaw.cli.app`.
"""

from __future__ import annotations

import sys

from openclaw import __version__


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        print(__version__)
        sys.exit(0)
    if args[:2] == ["models", "list"]:
        from openclaw.cli.quick import run_quick

        code = run_quick(args)
        if code is not None:
            sys.exit(code)
    from openclaw.cli.app import run

    run(args)


def __getattr__(name: str) -> object:
    # `from openclaw.cli.main import cli` keeps working without importing click up front.
    # (No `typing` import here: it would cost `--version` a few milliseconds.)
    if name == "cli":
        from openclaw.cli.app import cli

        return cli
    raise AttributeError(name)
