"""The quick path: ``openclaw models list`` answered before click is imported.

``models list`` must feel instant, and importing click costs about as much as starting Python
itself. The forms a person or a script types — ``models list`` with any of its own options —
are parsed here by a table that a test holds equal to the click command's options; anything
else (``--help``, global options, ``--opt=value``, a repeated or unknown option, a missing
value) returns None and goes to click, which owns every message about bad usage.
"""

from __future__ import annotations

from openclaw.cli.models_list import ListOptions

#: ``models list`` options: flag -> field of ListOptions (True when given).
LIST_FLAGS = {
    "--local": "local_only",
    "--refresh": "refresh",
    "--json": "as_json",
    "--plain": "plain",
}
#: ``models list`` options that take a value: option -> field of ListOptions.
LIST_VALUES = {
    "--provider": "provider_id",
    "--agent": "agent_id",
}


def parse_models_list(args: list[str]) -> ListOptions | None:
    """ListOptions for ``models list [options]``, or None when click should handle ``args``."""
    if args[:2] != ["models", "list"]:
        return None
    fields: dict[str, object] = {}
    rest = args[2:]
    index = 0
    while index < len(rest):
        token = rest[index]
        value: bool | str
        if token in LIST_FLAGS:
            field, value = LIST_FLAGS[token], True
            index += 1
        elif token in LIST_VALUES and index + 1 < len(rest):
            field, value = LIST_VALUES[token], rest[index + 1]
            # A value that looks like an option is click's to judge (it may be a mistake).
            if value.startswith("-"):
                return None
            index += 2
        else:
            return None
        if field in fields:
            return None
        fields[field] = value
    return ListOptions(**fields)  # type: ignore[arg-type]


def run_quick(args: list[str]) -> int | None:
    """Run ``args`` on the quick path; None when it is not a quick form."""
    options = parse_models_list(args)
    if options is None:
        return None
    import os

    from openclaw.cli.common import echo, report_exception
    from openclaw.cli.models_list import run_list

    try:
        return run_list(options)
    except KeyboardInterrupt:
        echo("Interrupted.", err=True)
        return 130
    except Exception as exc:
        return report_exception(exc, os.environ.get("OPENCLAW_DEBUG") == "1")
