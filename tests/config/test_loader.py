from __future__ import annotations

import json
from pathlib import Path

import pytest

from openclaw.config.loader import load_config
from openclaw.config.paths import resolve_paths
from openclaw.errors import ConfigError, IncludeError, MissingEnvVarError


def write_config(home: Path, text: str, name: str = "openclaw.json") -> Path:
    path = home / ".openclaw" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_is_an_empty_config() -> None:
    cfg = load_config()
    assert not cfg.exists and cfg.data == {} and cfg.providers() == {}


def test_json5_with_bom_comments_and_trailing_commas(isolated_home: Path) -> None:
    write_config(
        isolated_home,
        "\ufeff// a comment\n{ gateway: { port: 18789, }, 'tools': {profile: 'full'}, }",
    )
    cfg = load_config()
    assert cfg.data == {"gateway": {"port": 18789}, "tools": {"profile": "full"}}
    assert cfg.was_json5


@pytest.mark.parametrize("text", ["[1, 2]", "42", "{ broken"])
def test_top_level_must_be_an_object(isolated_home: Path, text: str) -> None:
    path = write_config(isolated_home, text)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(path) in info.value.message


@pytest.mark.parametrize(
    "text",
    [
        '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",  # past the C parser's recursion limit
        '{"a": ' + "[" * 500 + "]" * 500 + "}",  # parses, but every later step recurses
        "{a: " + "[" * 500 + "]" * 500 + ",}",  # the JSON5 path
    ],
)
def test_deeply_nested_config_is_a_clear_error(isolated_home: Path, text: str) -> None:
    path = write_config(isolated_home, text)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert info.value.message == (
        f"Failed to parse config at {path}: nested too deeply (more than 64 levels)"
    )
    write_config(isolated_home, '{"a": ' + "[" * 63 + "]" * 63 + "}")
    assert load_config().exists


def test_substitution_rules(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "box")
    monkeypatch.setenv("PORT", "1234")
    monkeypatch.setenv("EMPTY", "")
    write_config(
        isolated_home,
        json.dumps(
            {
                "x": {
                    "url": "http://${HOST}:${PORT}/v1",
                    "escaped": "$${HOST}",
                    "lower": "${host}",
                    "fallback": "${NOPE:-plain}",
                    "empty": "${EMPTY:-used}",
                    "missing": "${NOPE}",
                    "noRescan": "${LOOP}",
                }
            }
        ),
    )
    monkeypatch.setenv("LOOP", "${HOST}")
    cfg = load_config()
    x = cfg.data["x"]
    assert x["url"] == "http://box:1234/v1"
    assert x["escaped"] == "${HOST}"
    assert x["lower"] == "${host}"
    assert x["fallback"] == "plain"
    assert x["empty"] == "used"
    assert x["missing"] == "${NOPE}"
    assert x["noRescan"] == "${HOST}"
    assert cfg.unresolved == [("NOPE", "x.missing")]
    assert any('"NOPE"' in w and "x.missing" in w for w in cfg.warnings)


def test_strict_mode_raises_with_the_dotted_path(isolated_home: Path) -> None:
    write_config(isolated_home, '{models: {providers: {lmstudio: {apiKey: "${LM_API_TOKEN}"}}}}')
    with pytest.raises(MissingEnvVarError) as info:
        load_config(strict_env=True)
    assert info.value.message == (
        'Missing env var "LM_API_TOKEN" referenced at config path: models.providers.lmstudio.apiKey'
    )


def test_env_precedence_process_then_cwd_dotenv_then_state_dotenv_then_config(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("A_VAR", "process")
    (Path.cwd() / ".env").write_text("A_VAR=cwd\nB_VAR=cwd\n")
    write_config(isolated_home, "C_VAR='state'\nB_VAR=state\nD_VAR=state # note\n", ".env")
    write_config(
        isolated_home,
        json.dumps(
            {
                "env": {"D_VAR": "config", "vars": {"E_VAR": "config"}},
                "v": ["${A_VAR}", "${B_VAR}", "${C_VAR}", "${D_VAR}", "${E_VAR}"],
            }
        ),
    )
    cfg = load_config()
    assert cfg.data["v"] == ["process", "cwd", "state", "state", "config"]
    import os

    assert "E_VAR" not in os.environ  # loading does not leak into the process


def test_tilde_expanded_only_for_path_like_keys(isolated_home: Path) -> None:
    write_config(
        isolated_home,
        json.dumps({"agents": {"defaults": {"workspace": "~/ws", "name": "~/keep"}},
                    "x": {"extraPaths": ["~/a", "b"], "cacheDir": "~"}}),
    )  # fmt: skip
    data = load_config().data
    assert data["agents"]["defaults"]["workspace"] == f"{isolated_home}/ws"
    assert data["agents"]["defaults"]["name"] == "~/keep"
    assert data["x"]["extraPaths"] == [f"{isolated_home}/a", "b"]
    assert data["x"]["cacheDir"] == str(isolated_home)


def test_include_single_and_list_merge(isolated_home: Path) -> None:
    write_config(isolated_home, "{a: {x: 1, y: {z: 1}}, list: [1]}", "one.json5")
    write_config(isolated_home, "{a: {y: {w: 2}}, list: [2]}", "two.json5")
    write_config(isolated_home, '{$include: "one.json5", a: {x: 9}}', "single.json5")
    write_config(
        isolated_home,
        json.dumps({"merged": {"$include": ["one.json5", "two.json5"], "list": [3]},
                    "single": {"$include": "single.json5"}}),
    )  # fmt: skip
    cfg = load_config()
    assert cfg.data["merged"] == {"a": {"x": 1, "y": {"z": 1, "w": 2}}, "list": [3]}
    assert cfg.data["single"] == {"a": {"x": 9, "y": {"z": 1}}, "list": [1]}
    assert cfg.raw["merged"]["$include"] == ["one.json5", "two.json5"]


def test_include_outside_config_dir_is_refused(isolated_home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    write_config(isolated_home, json.dumps({"a": {"$include": str(outside)}}))
    with pytest.raises(IncludeError, match="outside the config directory"):
        load_config()
    write_config(isolated_home, json.dumps({"a": {"$include": "../../x.json"}}))
    with pytest.raises(IncludeError, match="outside"):
        load_config()


def test_include_roots_env_allows_extra_directories(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "m.json").write_text('{"k": 1}')
    write_config(isolated_home, json.dumps({"a": {"$include": str(shared / "m.json")}}))
    monkeypatch.setenv("OPENCLAW_INCLUDE_ROOTS", str(shared))
    assert load_config().data["a"] == {"k": 1}


def test_include_cycle_depth_and_size(isolated_home: Path) -> None:
    write_config(isolated_home, '{$include: "b.json"}', "a.json")
    write_config(isolated_home, '{$include: "a.json"}', "b.json")
    write_config(isolated_home, '{x: {$include: "a.json"}}')
    with pytest.raises(IncludeError, match="cycle"):
        load_config()
    for n in range(12):
        write_config(isolated_home, json.dumps({"$include": f"d{n + 1}.json"}), f"d{n}.json")
    write_config(isolated_home, "{}", "d12.json")
    write_config(isolated_home, '{x: {$include: "d0.json"}}')
    with pytest.raises(IncludeError, match="deeper than 10"):
        load_config()
    write_config(isolated_home, '{"pad": "' + "x" * (2 * 1024 * 1024) + '"}', "big.json")
    write_config(isolated_home, '{x: {$include: "big.json"}}')
    with pytest.raises(IncludeError, match="2 MB"):
        load_config()


def test_profile_env_selects_isolated_state(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCLAW_PROFILE", "dev")
    write_config(isolated_home, '{"models": {"mode": "merge"}}')
    assert not load_config().exists
    assert resolve_paths().config_path == isolated_home / ".openclaw-dev" / "openclaw.json"
