from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli

SEED = """{
  models: {
    providers: {
      lmstudio: {
        baseUrl: "http://localhost:1234/v1",
        apiKey: "${LM_API_TOKEN}",
        api: "openai-completions",
        models: [
          {
            id: "qwen/qwen3-coder-next",
            name: "Qwen 3 Coder Next",
            reasoning: false,
            input: ["text"],
            cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
            contextWindow: 128000,
            maxTokens: 8192,
          },
        ],
      },
    },
  },
}
"""
SECRET = "sk-lm-fake-TOKEN-0001"


def config_path(home: Path) -> Path:
    return home / ".openclaw" / "openclaw.json"


def install(home: Path, text: str) -> Path:
    path = config_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_seed_config_lists_with_token_set(isolated_home: Path) -> None:
    install(isolated_home, SEED)
    result = run_cli("models", "list", "--json", env={"LM_API_TOKEN": SECRET})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["count"] == 1
    row = data["models"][0]
    assert row["key"] == "lmstudio/qwen/qwen3-coder-next"
    assert row["contextWindow"] == 128000 and row["available"] is True
    assert SECRET not in result.output


def test_seed_config_without_token_warns_and_strict_validate_fails(isolated_home: Path) -> None:
    install(isolated_home, SEED)
    listed = run_cli("models", "list")
    assert listed.returncode == 0
    assert (
        'Missing env var "LM_API_TOKEN" referenced at config path: models.providers.lmstudio.apiKey'
        in listed.stderr
    )
    assert "lmstudio/qwen/qwen3-coder-next" in listed.stdout
    lenient = run_cli("config", "validate")
    assert lenient.returncode == 0 and "Config valid" in lenient.stdout
    strict = run_cli("config", "validate", "--strict")
    assert strict.returncode == 1
    assert strict.stderr.splitlines()[0] == (
        'Error: Missing env var "LM_API_TOKEN" referenced at config path: '
        "models.providers.lmstudio.apiKey"
    )
    assert "Traceback" not in strict.stderr


def test_invalid_config_reported_exactly_and_left_unchanged(isolated_home: Path) -> None:
    text = '{models: {providers: {lmstudio: {models: [{id: "m", contextWindow: "big"}]}}, mode: "x"}, gateway: {port: 1}}\n'
    path = install(isolated_home, text)
    before = path.read_bytes()
    for args in (("config", "validate"), ("models", "set", "lmstudio/m"),
                 ("config", "set", "gateway.port", "2"), ("models", "list")):  # fmt: skip
        result = run_cli(*args)
        assert result.returncode == 1, args
        lines = result.stderr.splitlines()
        assert lines[:3] == [
            f"Invalid config at {path}:",
            "- models.mode: Input should be 'merge' or 'replace'",
            "- models.providers.lmstudio.models.0.contextWindow: Input should be a valid integer",
        ], args
        assert "Traceback" not in result.stderr
        assert path.read_bytes() == before
    assert not path.with_name("openclaw.json.bak").exists()


def test_get_set_unset_file(isolated_home: Path) -> None:
    assert run_cli("config", "file").stdout.strip() == str(config_path(isolated_home))
    assert run_cli("config", "set", "gateway.port", "18789").returncode == 0
    assert run_cli("config", "set", "agents.defaults.workspace", "~/ws").returncode == 0
    assert run_cli("config", "set", "tools", "{profile: 'full', list: [1, 2,]}").returncode == 0
    assert (
        run_cli(
            "config", "set", 'agents.defaults.models["lmstudio/qwen/qwen3.5-9b"].alias', "fast"
        ).returncode
        == 0
    )
    written = json.loads(config_path(isolated_home).read_text())
    assert written["gateway"]["port"] == 18789
    assert written["agents"]["defaults"]["workspace"] == "~/ws"
    assert written["tools"] == {"profile": "full", "list": [1, 2]}
    assert written["agents"]["defaults"]["models"] == {
        "lmstudio/qwen/qwen3.5-9b": {"alias": "fast"}
    }
    assert run_cli("config", "get", "gateway.port").stdout == "18789\n"
    assert run_cli("config", "set", "gateway.offset", "-1").returncode == 0
    assert run_cli("config", "get", "gateway.offset").stdout == "-1\n"
    assert run_cli("config", "get", "agents.defaults.workspace").stdout == f"{isolated_home}/ws\n"
    assert json.loads(run_cli("config", "get", "tools", "--json").stdout) == {
        "profile": "full",
        "list": [1, 2],
    }
    assert run_cli("config", "unset", "tools.list").returncode == 0
    missing = run_cli("config", "get", "tools.list")
    assert missing.returncode == 1 and missing.stderr.startswith(
        "Error: Config path not found: tools.list"
    )
    assert run_cli("config", "unset", "nope").returncode == 1


def test_bad_path_is_one_clear_line(isolated_home: Path) -> None:
    result = run_cli("config", "set", "a..b", "1")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "Error: Invalid config path: a..b"
    assert not config_path(isolated_home).exists()


def test_validate_lists_unknown_keys_as_warnings(isolated_home: Path) -> None:
    install(
        isolated_home, json.dumps({"models": {"providers": {"lmstudio": {"fromTheFuture": True}}}})
    )
    result = run_cli("config", "validate")
    assert result.returncode == 0
    assert (
        "Warning: models.providers.lmstudio.fromTheFuture: unknown key (kept as is)"
        in result.stderr
    )
    as_json = json.loads(run_cli("config", "validate", "--json").stdout)
    assert as_json["valid"] is True and len(as_json["warnings"]) == 1


def test_secret_never_shown_anywhere(isolated_home: Path) -> None:
    result = run_cli("config", "set", "models.providers.lmstudio.apiKey", SECRET)
    assert result.returncode == 0 and SECRET not in result.output
    run_cli("config", "set", "models.providers.lmstudio.baseUrl", "http://localhost:1234/v1")
    run_cli("config", "set", "models.providers.lmstudio.models", '[{id: "m"}]')
    outputs = [
        run_cli("config", "get"),
        run_cli("config", "get", "--json"),
        run_cli("config", "get", "models.providers.lmstudio.apiKey"),
        run_cli("config", "get", "models.providers.lmstudio", "--json"),
        run_cli("config", "validate"),
        run_cli("models", "list", "--json"),
        run_cli("models", "status"),
        run_cli("models", "status", "--json"),
        run_cli("config", "set", "models.providers.lmstudio.contextWindow", SECRET),
    ]
    for result in outputs:
        assert SECRET not in result.output
    assert (
        run_cli("config", "get", "models.providers.lmstudio.apiKey").stdout
        == "__OPENCLAW_REDACTED__\n"
    )
    # Writing the sentinel back keeps the stored key.
    assert (
        run_cli(
            "config", "set", "models.providers.lmstudio.apiKey", "__OPENCLAW_REDACTED__"
        ).returncode
        == 0
    )
    assert (
        json.loads(config_path(isolated_home).read_text())["models"]["providers"]["lmstudio"][
            "apiKey"
        ]
        == SECRET
    )
    status = run_cli("models", "status")
    assert "sk-l…0001" in status.stdout


def test_secret_from_env_and_profile_not_shown(isolated_home: Path) -> None:
    install(isolated_home, SEED)
    env = {"LM_API_TOKEN": SECRET}
    for args in (("models", "status", "--json"), ("models", "status"), ("config", "get"),
                 ("models", "list", "--json"), ("config", "validate", "--strict")):  # fmt: skip
        result = run_cli(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert SECRET not in result.output


def test_concurrent_cli_writers(isolated_home: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c",
             "import sys\nfrom openclaw.cli.main import main\n"
             f"for n in range(5):\n    try:\n        main(['config', 'set', 'k.w{w}_' + str(n), str(n)])\n"
             "    except SystemExit as e:\n        assert not e.code, e.code\n"],
            stdout=subprocess.DEVNULL,
        )
        for w in range(4)
    ]  # fmt: skip
    for proc in procs:
        assert proc.wait(120) == 0
    keys = json.loads(config_path(isolated_home).read_text())["k"]
    assert len(keys) == 20


@pytest.mark.parametrize("flag", ["--profile", "--dev"])
def test_profile_flag_isolates_state(isolated_home: Path, flag: str) -> None:
    args = [flag, "work"] if flag == "--profile" else [flag]
    assert run_cli(*args, "config", "set", "gateway.port", "1").returncode == 0
    name = "work" if flag == "--profile" else "dev"
    assert (isolated_home / f".openclaw-{name}" / "openclaw.json").exists()
    assert not config_path(isolated_home).exists()


def test_get_shows_references_not_their_values(isolated_home: Path) -> None:
    install(isolated_home, json.dumps({"models": {"providers": {"box": {
        "baseUrl": "http://${BOX_HOST}/v1", "headers": {"X-Custom": "${BOX_SECRET}"}, "models": []}}}}))  # fmt: skip
    env = {"BOX_SECRET": "very-private-value-42", "BOX_HOST": "box.lan"}
    result = run_cli("config", "get", "models.providers.box", "--json", env=env)
    assert json.loads(result.stdout) == {
        "baseUrl": "http://${BOX_HOST}/v1",
        "headers": {"X-Custom": "${BOX_SECRET}"},
        "models": [],
    }
    assert "very-private-value-42" not in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0x10", 16), ("abc", "abc"), ("'quoted'", "quoted"), ("[1,]", [1]), ("true", True),
     ("lmstudio/qwen/qwen3.5-9b", "lmstudio/qwen/qwen3.5-9b"), ("{a: 1", "{a: 1")],
)  # fmt: skip
def test_set_value_parsing(text: str, expected: object) -> None:
    from openclaw.cli.config_cmd import parse_cli_value

    assert parse_cli_value(text) == expected


@pytest.mark.parametrize("value", ["1e999", "-1e999", "NaN", "Infinity"])
def test_set_non_finite_number_is_refused_and_nothing_written(
    isolated_home: Path, value: str
) -> None:
    path = install(isolated_home, '{"gateway": {"port": 1}}\n')
    before = path.read_bytes()
    result = run_cli("config", "set", "gateway.port", value)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "Error: Cannot write gateway.port: NaN and Infinity are not valid JSON numbers"
    )
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert path.read_bytes() == before
    assert not path.with_name("openclaw.json.bak").exists()


@pytest.mark.parametrize(
    ("content", "first_line"),
    [
        (b'{"a": "\xff"}', "not valid UTF-8"),
        (b"[1, 2]", "the top level must be an object"),
        (None, "Is a directory"),
    ],
)
def test_unusable_config_file_one_line_for_every_command(
    isolated_home: Path, content: bytes | None, first_line: str
) -> None:
    path = config_path(isolated_home)
    path.parent.mkdir(parents=True)
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    for args in (("config", "set", "a", "1"), ("config", "get"), ("config", "validate"),
                 ("models", "list"), ("models", "set", "lmstudio/m"),
                 ("models", "fallbacks", "clear"), ("models", "status")):  # fmt: skip
        result = run_cli(*args)
        assert result.returncode == 1, args
        assert result.stderr.startswith("Error: ") and first_line in result.stderr, args
        assert "Traceback" not in result.stderr and "unexpected" not in result.stderr, args
        assert result.stdout == "", args
    if content is not None:
        assert path.read_bytes() == content
    assert not path.with_name("openclaw.json.bak").exists()


def test_validate_json_reports_invalid_config(isolated_home: Path) -> None:
    path = install(isolated_home, '{"models": {"mode": "x"}}')
    result = run_cli("config", "validate", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout) == {
        "valid": False,
        "exists": True,
        "path": str(path),
        "errors": [{"path": "models.mode", "message": "Input should be 'merge' or 'replace'"}],
    }


def test_state_dir_that_is_a_file_gives_one_line(isolated_home: Path) -> None:
    (isolated_home / ".openclaw").write_text("not a directory")
    result = run_cli("config", "set", "gateway.port", "1")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "Error: Cannot write config file ~/.openclaw/openclaw.json: File exists: ~/.openclaw"
    )
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
