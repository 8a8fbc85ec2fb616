from __future__ import annotations

from pathlib import Path

import pytest

from openclaw.config.paths import resolve_paths
from openclaw.errors import ConfigError


def test_defaults_live_under_home_dot_openclaw(isolated_home: Path) -> None:
    paths = resolve_paths()
    assert paths.state_dir == isolated_home / ".openclaw"
    assert paths.config_path == isolated_home / ".openclaw" / "openclaw.json"
    assert paths.agent_dir() == isolated_home / ".openclaw/agents/main/agent"
    assert paths.sessions_dir("work") == isolated_home / ".openclaw/agents/work/sessions"
    assert (
        paths.auth_profiles_path()
        == isolated_home / ".openclaw/agents/main/agent/auth-profiles.json"
    )
    assert paths.display(paths.config_path) == "~/.openclaw/openclaw.json"


def test_overrides_in_precedence_order(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "h"), "OPENCLAW_HOME": str(tmp_path / "oh")}
    assert resolve_paths(env).state_dir == tmp_path / "oh/.openclaw"
    env["OPENCLAW_PROFILE"] = "work"
    assert resolve_paths(env).state_dir == tmp_path / "oh/.openclaw-work"
    env["OPENCLAW_STATE_DIR"] = "~/state"
    assert resolve_paths(env).state_dir == tmp_path / "oh/state"
    assert resolve_paths(env).config_path == tmp_path / "oh/state/openclaw.json"
    env["OPENCLAW_CONFIG_PATH"] = str(tmp_path / "elsewhere.json")
    assert resolve_paths(env).config_path == tmp_path / "elsewhere.json"


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".."])
def test_agent_ids_cannot_escape_the_state_dir(bad: str) -> None:
    with pytest.raises(ConfigError):
        resolve_paths().agent_dir(bad)
