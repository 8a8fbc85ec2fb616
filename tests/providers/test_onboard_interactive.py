"""Interactive `openclaw onboard` through a real pseudo-terminal (pexpect)
(lmstudio.md §7.1; §10 items 112, 113, 119, 125, 144)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from tests.servers.fake_lmstudio import FakeLMStudio

pexpect = pytest.importorskip("pexpect")

CLEAR = "\x15"  # Ctrl-U: clear the pre-filled answer
DOWN = "\x1b[B"


def spawn(*args: str, env_extra: dict | None = None):
    env = dict(os.environ)
    env.update(env_extra or {})
    env["TERM"] = "xterm"
    env["PROMPT_TOOLKIT_NO_CPR"] = "1"
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "openclaw", "onboard", *args],
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 160),
    )
    return child


def test_interactive_url_reprompt_blank_key_context_and_model_choice(
    isolated_home: Path, fake_lmstudio: FakeLMStudio
) -> None:
    """Bad URL keeps the user in the prompt; blank key -> keyless; 4096 applied to every
    model; the chosen model becomes the default; every model joins the allow-list."""
    cfg_path = isolated_home / ".openclaw" / "openclaw.json"
    cfg_path.parent.mkdir(parents=True)
    cfg_path.write_text(
        json.dumps(
            {
                "agents": {
                    "defaults": {"models": {"anthropic/claude-sonnet-4-6": {"alias": "Sonnet"}}}
                }
            }
        )
    )
    child = spawn()
    child.expect("I understand")
    child.send("y")
    child.expect("Model provider")
    child.send("\r")  # LM Studio is the first choice
    child.expect("LM Studio base URL")
    child.send(CLEAR + "ftp://localhost:1234\r")
    child.expect("Enter a valid HTTP or HTTPS URL")
    child.send(CLEAR + f"127.0.0.1:{fake_lmstudio.port}/api/v1/\r")
    child.expect("LM Studio API key")
    child.send("\r")  # blank: unauthenticated server
    child.expect("Preferred context length")
    child.send("abc\r")
    child.expect("Enter a positive integer token count")
    child.send(CLEAR + "4096\r")
    child.expect("Default model")
    child.send(DOWN + "\r")  # second loaded model: google/gemma-3-1b
    child.expect("Updated config")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    cfg = json.loads(cfg_path.read_text())
    provider = cfg["models"]["providers"]["lmstudio"]
    assert provider["baseUrl"] == fake_lmstudio.base_url
    assert provider["apiKey"] == "lmstudio-local" and "auth" not in provider
    by_id = {m["id"]: m for m in provider["models"]}
    assert by_id["qwen/qwen3.5-9b"]["contextTokens"] == 4096
    assert by_id["qwen/qwen3.5-9b"]["maxTokens"] == 4096
    assert by_id["qwen/qwen3-coder-30b"]["contextTokens"] == 4096
    assert cfg["agents"]["defaults"]["model"]["primary"] == "lmstudio/google/gemma-3-1b"
    assert cfg["agents"]["defaults"]["models"] == {
        "anthropic/claude-sonnet-4-6": {"alias": "Sonnet"},
        "lmstudio/qwen/qwen3.5-9b": {},
        "lmstudio/qwen/qwen3-coder-30b": {},
        "lmstudio/google/gemma-3-1b": {},
    }
    assert fake_lmstudio.paths() == ["GET /api/v1/models"]
    assert fake_lmstudio.requests[0].header("authorization") is None


def test_interactive_key_is_stored_in_profile_only(isolated_home: Path) -> None:
    """§10 item 112: a typed key -> auth api-key + LM_API_TOKEN marker, profile with the key;
    a key that cannot travel in a header keeps the user in the password prompt."""
    token = "lmstudio-test-key"
    with FakeLMStudio(api_key=token) as lms:
        child = spawn("--auth-choice", "lmstudio", "--accept-risk")
        child.expect("LM Studio base URL")
        child.send(CLEAR + lms.base_url + "\r")
        child.expect("LM Studio API key")
        child.send("tökén\r")  # cannot be sent in a header: stays in the prompt
        child.expect("characters an HTTP header cannot carry")
        child.send(CLEAR + token + "\r")
        child.expect("Preferred context length")
        child.send("\r")
        child.expect("Default model")
        child.send("\r")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        assert [r.header("authorization") for r in lms.requests] == [f"Bearer {token}"]
    cfg_text = (isolated_home / ".openclaw" / "openclaw.json").read_text()
    assert token not in cfg_text
    provider = json.loads(cfg_text)["models"]["providers"]["lmstudio"]
    assert (provider["auth"], provider["apiKey"]) == ("api-key", "LM_API_TOKEN")
    assert provider["models"][0]["contextTokens"] == 32768
    store = isolated_home / ".openclaw" / "agents" / "main" / "agent" / "auth-profiles.json"
    assert json.loads(store.read_text())["profiles"]["lmstudio:default"] == {
        "type": "api_key",
        "provider": "lmstudio",
        "key": token,
    }


def test_interactive_unreachable_offers_retry(isolated_home: Path) -> None:
    """Unreachable server: the note plus a retry offer; declining cancels, nothing written."""
    fake = FakeLMStudio().start()
    base = fake.base_url
    fake.stop()
    child = spawn("--auth-choice", "lmstudio", "--accept-risk")
    child.expect("LM Studio base URL")
    child.send(CLEAR + base + "\r")
    child.expect("LM Studio API key")
    child.send("\r")
    child.expect(f"LM Studio could not be reached at {base}")
    child.expect("Retry this LM Studio connection now")
    child.send("n")
    child.expect("LM Studio setup cancelled")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert not (isolated_home / ".openclaw" / "openclaw.json").exists()


def test_interactive_401_asks_for_the_key_again(isolated_home: Path) -> None:
    """§10 item 117, deliberately changed: the reference aborts setup on HTTP 401; here the
    note is shown and the key prompt comes back, since a mistyped token is the usual cause."""
    with FakeLMStudio(api_key="right-token") as lms:
        child = spawn("--auth-choice", "lmstudio", "--accept-risk")
        child.expect("LM Studio base URL")
        child.send(CLEAR + lms.base_url + "\r")
        child.expect("LM Studio API key")
        child.send("wrong\r")
        child.expect(f"LM Studio returned HTTP 401 while listing models at {lms.base_url}")
        child.expect("LM Studio API key")
        assert not (isolated_home / ".openclaw" / "openclaw.json").exists()
        child.send("right-token\r")
        child.expect("Preferred context length")
        child.send("\r")
        child.expect("Default model")
        child.send("\r")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        assert [r.header("authorization") for r in lms.requests] == [
            "Bearer wrong",
            "Bearer right-token",
        ]
    written = (isolated_home / ".openclaw" / "openclaw.json").read_text()
    assert "right-token" not in written and "wrong" not in written
