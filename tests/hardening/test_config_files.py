"""Issue 14 points 7-10 and 16: the config file and the stores beside it.

7. ``config set`` refuses what the reader refuses (nesting over 64 levels), with one line and
   no RecursionError; 8. temp files of killed writers are swept for every locked store;
9. a symlinked openclaw.json stays a symlink; 10. a 0-byte file is an empty config for
readers and writers; 16. a parse error names the file, not ``<string>``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from openclaw.agent.sessions import SessionStore
from openclaw.auth.profiles import AuthProfileStore
from openclaw.config.paths import resolve_paths
from tests.conftest import run_cli

from .conftest import config_path, write_config

# --------------------------------------------------------------------- 7. depth


@pytest.mark.parametrize("segments", [63, 64, 65, 66])
def test_config_set_writes_only_what_the_reader_accepts(isolated_home: Path, segments: int) -> None:
    path = config_path(isolated_home)
    result = run_cli("config", "set", ".".join(["a"] * segments), "1")
    assert "Traceback" not in result.stderr
    if result.returncode == 0:
        assert run_cli("config", "validate").returncode == 0
        assert run_cli("config", "unset", ".".join(["a"] * segments)).returncode == 0
    else:
        assert "64 levels" in result.stderr
        assert not path.exists()
        # ...because the reader would refuse that very document.
        document: dict = {}
        node = document
        for _ in range(segments - 1):
            node["a"] = {}
            node = node["a"]
        node["a"] = 1
        write_config(isolated_home, document)
        assert run_cli("config", "validate").returncode == 1
    assert (result.returncode == 0) == (segments <= 64)


@pytest.mark.parametrize("depth", [65, 900, 30_000])
def test_config_set_refuses_deep_values(isolated_home: Path, depth: int) -> None:
    write_config(isolated_home, {"keep": True})
    before = config_path(isolated_home).read_bytes()
    result = run_cli("config", "set", "deep", "[" * depth + "]" * depth)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert "nested too deeply" in result.stderr or "64 levels" in result.stderr
    assert config_path(isolated_home).read_bytes() == before


# --------------------------------------------------------------------- 8. stale temp files


def _stale(path: Path, content: str) -> Path:
    """What a writer killed between creating and renaming its temp file leaves behind."""
    stale = path.with_name(f".{path.name}.999999.deadbeef.tmp")
    stale.write_text(content)
    return stale


def test_auth_profile_write_sweeps_stale_temp_files(isolated_home: Path) -> None:
    store_path = resolve_paths().auth_profiles_path("main")
    store_path.parent.mkdir(parents=True)
    stale = _stale(store_path, '{"profiles": {"x": {"key": "sk-OLD-KEY-0001"}}}')
    AuthProfileStore(store_path).upsert_api_key("lmstudio:default", "lmstudio", "sk-new-0002")
    assert not stale.exists()
    assert not [p for p in store_path.parent.iterdir() if p.name.endswith(".tmp")]
    assert AuthProfileStore(store_path).get("lmstudio:default")["key"] == "sk-new-0002"


def test_session_index_write_sweeps_stale_temp_files(isolated_home: Path) -> None:
    sessions_dir = resolve_paths().sessions_dir("main")
    sessions_dir.mkdir(parents=True)
    store = SessionStore(sessions_dir)
    stale = _stale(store.index_path, "{}")
    store.update(lambda index: index.setdefault("agent:main:main", {"sessionId": "abc"}))
    assert not stale.exists()
    assert store.get("agent:main:main") == {"sessionId": "abc"}


def test_config_write_still_sweeps_its_own(isolated_home: Path) -> None:
    path = write_config(isolated_home, {})
    stale = _stale(path, "{}")
    assert run_cli("config", "set", "a", "1").returncode == 0
    assert not stale.exists()


# --------------------------------------------------------------------- 9. symlinks


def test_symlinked_config_stays_a_symlink(isolated_home: Path, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "openclaw.json"
    target.write_text(json.dumps({"models": {"mode": "merge"}}))
    link = config_path(isolated_home)
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    stale = _stale(target, "{}")  # a killed writer's temp sits beside the target
    result = run_cli("config", "set", "gateway.port", "18789")
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    written = json.loads(target.read_text())
    assert written == {"models": {"mode": "merge"}, "gateway": {"port": 18789}}
    assert not stale.exists()
    assert json.loads(run_cli("config", "get", "gateway.port").stdout) == 18789
    # A second write goes to the same target, and the backup is a copy, not a link.
    assert run_cli("config", "set", "gateway.port", "18790").returncode == 0
    assert link.is_symlink() and json.loads(target.read_text())["gateway"]["port"] == 18790
    assert not link.with_name("openclaw.json.bak").is_symlink()


# --------------------------------------------------------------------- 10. empty file


@pytest.mark.parametrize("content", ["", "  \n"], ids=["0-byte", "blank"])
def test_empty_config_file_is_an_empty_config(isolated_home: Path, content: str) -> None:
    path = config_path(isolated_home)
    path.parent.mkdir(parents=True)
    path.write_text(content)
    for args in (("models", "list"), ("config", "validate"), ("models", "status")):
        result = run_cli(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert "Error" not in result.stderr
    assert json.loads(run_cli("config", "get").stdout) == {}
    assert run_cli("config", "set", "a", "1").returncode == 0
    assert json.loads(path.read_text()) == {"a": 1}


# --------------------------------------------------------------------- 16. parse errors


def test_parse_error_names_the_file_and_line(isolated_home: Path) -> None:
    path = config_path(isolated_home)
    path.parent.mkdir(parents=True)
    path.write_text('{\n  "models": {\n    "mode": "merge",,\n  }\n}\n')
    result = run_cli("models", "list")
    assert result.returncode == 1
    assert "<string>" not in result.stderr
    assert f"{path}:3:" in result.stderr
    assert "Traceback" not in result.stderr
