"""`openclaw net check`: output, exit codes, bad input, --provider from the config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from openclaw.cli.main import cli
from tests.conftest import run_cli


def check(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["net", "check", *args])


def test_allowed_text_output_lists_hops_and_addresses() -> None:
    result = check(
        "https://api.example.com/v1",
        "--resolve",
        "api.example.com=93.184.216.34,2606:4700:4700::1111",
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "allowed: public address"
    assert "hop 0: https://api.example.com/v1" in result.stdout
    assert "addresses: 93.184.216.34, 2606:4700:4700::1111" in result.stdout


def test_blocked_text_output_gives_reason_and_hint() -> None:
    result = check("http://10.0.0.6:1234/v1", "--base-url", "http://10.0.0.5:1234/v1")
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "blocked: Blocked hostname or private/internal/special-use IP address"
    )
    assert "request.allowPrivateNetwork to true" in result.stdout


def test_json_report_with_redirect_hops() -> None:
    result = check(
        "https://public.example/start",
        "--json",
        "--resolve",
        "public.example=93.184.216.34",
        "--redirect",
        "/next",
        "--redirect",
        "http://127.0.0.1:6379/",
    )
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["allowed"] is False
    assert out["reason"].startswith("Blocked hostname")
    assert [h["url"] for h in out["hops"]] == [
        "https://public.example/start",
        "https://public.example/next",
        "http://127.0.0.1:6379/",
    ]
    assert [h["allowed"] for h in out["hops"]] == [True, True, False]
    assert out["hops"][0]["addresses"] == ["93.184.216.34"]
    assert out["hops"][2]["addresses"] == []


def test_userinfo_is_not_echoed() -> None:
    result = check("http://user:hunter2@93.184.216.34/x", "--json")
    assert result.exit_code == 0
    assert "hunter2" not in result.stdout
    assert json.loads(result.stdout)["hops"][0]["url"] == "http://93.184.216.34/x"


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["http://user:hunter2@127.0.0.1/x"], "http://127.0.0.1/x"),  # blocked first hop
        (["http://user:hunter2@[::1/x"], "http://[::1/x"),  # does not parse
        (
            ["http://93.184.216.34/", "--redirect", "http://user:hunter2@[::1/"],
            "http://[::1/",
        ),
    ],
)
def test_userinfo_is_not_echoed_for_blocked_or_unparseable_hops(
    args: list[str], shown: str
) -> None:
    for extra in (["--json"], []):
        result = check(*args, *extra)
        assert result.exit_code == 1
        assert "hunter2" not in result.output
        assert "user:" not in result.output
    out = json.loads(check(*args, "--json").stdout)
    assert out["hops"][-1]["url"] == shown


def test_resolve_turns_dns_off_for_other_names() -> None:
    result = check("http://other.example/", "--resolve", "api.example.com=93.184.216.34", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["reason"] == "Unable to resolve hostname: other.example"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["http://x.example/", "--resolve", "nohost"], "Invalid --resolve value"),
        (["http://x.example/", "--resolve", "x.example=not-an-ip"], "Invalid address in --resolve"),
        (
            ["http://x.example/", "--provider", "a", "--base-url", "http://b/"],
            "Use either --provider or --base-url",
        ),
        (["http://x.example/", "--allow-private-network", "true"], "--allow-private-network needs"),
        (["http://x.example/", "--provider", "nope"], "Unknown provider: nope"),
        (["http://x.example/", "--base-url", "ftp://x/"], "Invalid --base-url: 'ftp://x/'"),
        (
            ["http://x.example/", "--base-url", "http://u:hunter2@h:0/"],
            "Invalid --base-url: 'http://h:0/'",
        ),
    ],
)
def test_bad_input_is_one_clear_line_and_a_hint(args: list[str], message: str) -> None:
    # Exit 1 like a refusal, but told apart by the "Error:" line and by nothing on stdout
    # (a refusal with --json always prints the JSON report there).
    result = run_cli("net", "check", *args, "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {message}")
    assert "hunter2" not in result.stderr
    assert "\nHint: " in result.stderr
    assert "Traceback" not in result.stderr


def _write_config(home: Path, providers: dict) -> None:  # type: ignore[type-arg]
    state = home / ".openclaw"
    state.mkdir(exist_ok=True)
    (state / "openclaw.json").write_text(json.dumps({"models": {"providers": providers}}))


def test_provider_policy_comes_from_the_config(isolated_home: Path) -> None:
    _write_config(isolated_home, {"lms": {"baseUrl": "http://192.168.1.10:1234/v1", "models": []}})
    ok = check("http://192.168.1.10:1234/v1/models", "--provider", "lms", "--json")
    assert ok.exit_code == 0, ok.output
    other = check("http://192.168.1.10:8080/v1/models", "--provider", "lms")
    assert other.exit_code == 1
    assert "models.providers.lms.request.allowPrivateNetwork" in other.stdout
    opened = check(
        "http://192.168.1.10:8080/v1", "--provider", "lms", "--allow-private-network", "true"
    )
    assert opened.exit_code == 0
    closed = check(
        "http://192.168.1.10:1234/v1", "--provider", "lms", "--allow-private-network", "false"
    )
    assert closed.exit_code == 1


def test_provider_allow_private_network_read_from_config(isolated_home: Path) -> None:
    _write_config(
        isolated_home,
        {
            "lms": {
                "baseUrl": "http://192.168.1.10:1234/v1",
                "models": [],
                "request": {"allowPrivateNetwork": False},
            }
        },
    )
    result = check("http://192.168.1.10:1234/v1/models", "--provider", "lms")
    assert result.exit_code == 1
    assert "is false" in result.stdout


@pytest.mark.parametrize("provider", ["lmstudio", "lm-studio"])
def test_unconfigured_provider_with_a_default_server_is_checked_against_it(
    isolated_home: Path, provider: str
) -> None:
    # A fresh HOME: LM Studio is used at its default server, so `net check` judges that URL
    # as the provider's own requests would be judged (and knows the provider by its alias).
    ok = check("http://localhost:1234/v1/models", "--provider", provider)
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith("allowed")
    other = check("http://localhost:9999/v1/models", "--provider", provider)
    assert other.exit_code == 1
    assert "models.providers.lmstudio.request.allowPrivateNetwork" in other.stdout


def test_metadata_never_allowed_even_with_opt_in() -> None:
    for url in (
        "http://169.254.169.254/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://metadata.google.internal/",
        "http://[64:ff9b:1::a9fe:a9fe]/",
    ):
        result = check(url, "--base-url", url, "--allow-private-network", "true", "--no-dns")
        assert result.exit_code == 1, url
        assert "never reachable" in result.stdout


def test_net_check_stays_light() -> None:
    code = (
        "import sys, atexit\n"
        "atexit.register(lambda: print(sorted(m for m in ('rich', 'pydantic', 'questionary') "
        "if m in sys.modules), file=sys.stderr))\n"
        "sys.argv = ['openclaw', 'net', 'check', 'http://93.184.216.34/']\n"
        "from openclaw.cli.main import main\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_policy_module_imports_no_http_library() -> None:
    code = "import sys, openclaw.net.policy; print('httpx2' in sys.modules, 'httpcore2' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "False False"
