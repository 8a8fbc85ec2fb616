"""The quick path of ``models list`` (answered before click is imported) answers exactly as
the click command does, accepts exactly the click command's options, and hands everything
else to click."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from openclaw.cli.models_cmd import list_models
from openclaw.cli.quick import LIST_FLAGS, LIST_VALUES, parse_models_list
from tests.conftest import CliResult, run_cli


def _through_click(*args: str) -> CliResult:
    """The same command with the quick path skipped: straight into the click tree."""
    code = "import sys\nfrom openclaw.cli.app import run\nrun(sys.argv[1:])"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def test_the_quick_table_is_the_click_commands_options() -> None:
    flags: dict[str, str] = {}
    values: dict[str, str] = {}
    for param in list_models.params:
        assert isinstance(param, click.Option)
        assert param.name is not None
        for opt in param.opts:
            (flags if param.is_flag else values)[opt] = param.name
    assert flags == LIST_FLAGS
    assert values == LIST_VALUES


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--json"],
        ["--plain"],
        ["--local", "--plain"],
        ["--provider", "lmstudio", "--json"],
        ["--provider", "lm-studio", "--plain"],  # an alias of the configured key
        ["--provider", "nobody"],
        ["--agent", "main", "--plain"],
    ],
)
def test_quick_and_click_answer_alike(reference_home: Path, args: list[str]) -> None:
    assert parse_models_list(["models", "list", *args]) is not None  # the quick form
    quick = run_cli("models", "list", *args)
    slow = _through_click("models", "list", *args)
    assert quick.returncode == 0, quick.stderr
    assert (quick.returncode, quick.stdout, quick.stderr) == (
        slow.returncode,
        slow.stdout,
        slow.stderr,
    )
    if "--json" in args:
        assert json.loads(quick.stdout)["count"] >= 1


def test_a_broken_config_gets_the_same_one_line_error(isolated_home: Path) -> None:
    state = isolated_home / ".openclaw"
    state.mkdir()
    (state / "openclaw.json").write_text('{"models": {"providers": ')
    quick = run_cli("models", "list")
    slow = _through_click("models", "list")
    assert quick.returncode == 1
    assert quick.stderr.startswith("Error: ")
    assert "Traceback" not in quick.stderr
    assert (quick.returncode, quick.stdout, quick.stderr) == (
        slow.returncode,
        slow.stdout,
        slow.stderr,
    )


def test_the_quick_path_does_not_import_click(reference_home: Path) -> None:
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('click' in sys.modules, file=sys.stderr))\n"
        "from openclaw.cli.main import main\n"
        "main(['models', 'list', '--plain'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("lmstudio/")
    assert proc.stderr.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["--help"], 0, "Show the configured models"),
        (["--provider"], 2, "requires an argument"),
        (["--bogus"], 2, "No such option '--bogus'"),
        (["--json", "--json"], 0, '"count"'),  # click takes a repeated flag
        (["--provider=lmstudio", "--plain"], 0, "lmstudio/"),
    ],
)
def test_other_forms_go_to_click(
    reference_home: Path, args: list[str], code: int, expected: str
) -> None:
    assert parse_models_list(["models", "list", *args]) is None
    result = run_cli("models", "list", *args)
    assert result.returncode == code, result.output
    assert expected in result.output


@pytest.mark.parametrize("quick", [True, False])
def test_a_closed_pipe_ends_the_listing_quietly(isolated_home: Path, quick: bool) -> None:
    """`openclaw models list --plain | head -1`: no error text, exit 1, on either path."""
    rows = [{"id": f"org/model-{n:04d}", "name": f"m{n}"} for n in range(4000)]  # > a pipe buffer
    state = isolated_home / ".openclaw"
    state.mkdir()
    config = {
        "models": {"providers": {"box": {"baseUrl": "http://127.0.0.1:9/v1", "models": rows}}}
    }
    (state / "openclaw.json").write_text(json.dumps(config))
    entry = "from openclaw.cli.main import main" if quick else "from openclaw.cli.app import run"
    call = "main()" if quick else "run(sys.argv[1:])"
    code = f"import sys\n{entry}\n{call}"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "models", "list", "--plain"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"box/org/model-0000\n"
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert stderr == b""
