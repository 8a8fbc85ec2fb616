"""Interactive `openclaw onboard` items of lmstudio.md §10 F not covered elsewhere: the retry
ladder, abort during a retry, the Docker default base, header auth and re-auth over a stale key
(items 115, 116, 118, 120-124), through a real pseudo-terminal (pexpect)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from tests.providers.test_onboard_interactive import CLEAR, spawn
from tests.servers.fake_lmstudio import FakeLMStudio, default_models

pexpect = pytest.importorskip("pexpect")


def config_path(home: Path) -> Path:
    return home / ".openclaw" / "openclaw.json"


def profiles_path(home: Path) -> Path:
    return home / ".openclaw" / "agents" / "main" / "agent" / "auth-profiles.json"


def write_config(home: Path, provider: dict) -> bytes:
    path = config_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"models": {"providers": {"lmstudio": provider}}}, indent=2))
    return path.read_bytes()


def write_profile(home: Path, key: str) -> bytes:
    path = profiles_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "profiles": {
                    "lmstudio:default": {"type": "api_key", "provider": "lmstudio", "key": key}
                },
            }
        )
    )
    return path.read_bytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answer_url_and_key(child, base: str, key: str = "") -> None:
    child.expect("LM Studio base URL")
    child.send(CLEAR + base + "\r")
    child.expect("LM Studio API key")
    child.send(key + "\r")


def finish(child) -> None:
    child.expect("Preferred context length")
    child.send("\r")
    child.expect("Default model")
    child.send("\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before


def test_retry_ladder_unreachable_then_no_llm_then_503_then_ok(isolated_home: Path) -> None:
    """§10 items 115/116: each retryable failure shows its first line plus the "continue to
    retry" line and asks "Retry this LM Studio connection now?" (default yes): unreachable ->
    embedding-only catalog -> HTTP 503 -> OK, three confirms, then the model is set. (Item 115
    changed: the reference ends a local setup at the first "not reachable" note; here the
    retry offer of its remote wizard is always made, as the issue asks.)"""
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    child = spawn("--auth-choice", "lmstudio", "--accept-risk")
    answer_url_and_key(child, base)
    child.expect(f"LM Studio could not be reached at {base}.")
    child.expect(r"Start LM Studio \(or run lms server start\), then continue to retry.")
    child.expect("Retry this LM Studio connection now")
    embedding_only = [m for m in default_models() if m["type"] == "embedding"]
    with FakeLMStudio(models=embedding_only, port=port) as lms:
        child.send("y")
        child.expect(f"No loaded LM Studio LLM models were found at {base}.")
        child.expect(r"then continue to retry.")
        child.expect("Retry this LM Studio connection now")
        lms.set_models(default_models())
        lms.override("/api/v1/models", 503, {"error": "busy"})
        child.send("y")
        child.expect(f"LM Studio returned HTTP 503 while listing models at {base}.")
        child.expect("Wait for LM Studio to recover, then continue to retry.")
        child.expect("Retry this LM Studio connection now")
        child.send("y")
        finish(child)
        assert lms.paths() == ["GET /api/v1/models"] * 3
    cfg = json.loads(config_path(isolated_home).read_text())
    assert cfg["agents"]["defaults"]["model"]["primary"] == "lmstudio/qwen/qwen3.5-9b"


def test_abort_during_retry_discovery_changes_nothing(isolated_home: Path) -> None:
    """§10 item 118: Ctrl-C while the retried discovery is still waiting ends setup (exit 130)
    without removing the stored profile or touching the config."""
    with FakeLMStudio() as lms:
        config_before = write_config(isolated_home, {"baseUrl": lms.base_url, "models": []})
        profiles_before = write_profile(isolated_home, "kept-profile-key")
        lms.override("/api/v1/models", 503, {"error": "busy"})
        child = spawn("--auth-choice", "lmstudio", "--accept-risk")
        answer_url_and_key(child, lms.base_url)
        child.expect("Retry this LM Studio connection now")
        lms.override("/api/v1/models", 200, {"models": []}, delay=5.0)
        child.send("y")
        while lms.count("GET", "/api/v1/models") < 2:
            child.expect([pexpect.TIMEOUT], timeout=0.05)
        child.sendintr()
        child.expect(pexpect.EOF, timeout=4)
        child.close()
        assert child.exitstatus == 130
    assert config_path(isolated_home).read_bytes() == config_before
    assert profiles_path(isolated_home).read_bytes() == profiles_before


def test_docker_default_base_in_prompt(isolated_home: Path) -> None:
    """§10 item 120 (interactive): with OPENCLAW_DOCKER_SETUP=1 the URL prompt is pre-filled
    with http://host.docker.internal:1234 (the test then types the fake server's URL, so no
    name is looked up)."""
    with FakeLMStudio() as lms:
        child = spawn("--auth-choice", "lmstudio", "--accept-risk", env_extra={
            "OPENCLAW_DOCKER_SETUP": "1"
        })  # fmt: skip
        child.expect("LM Studio base URL")
        child.expect("http://host.docker.internal:1234")
        child.send(CLEAR + lms.base_url + "\r")
        child.expect("LM Studio API key")
        child.send("\r")
        finish(child)


def test_docker_default_base_non_interactive(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """§10 items 77/120 (non-interactive, in process): OPENCLAW_DOCKER_SETUP=1 and no
    --custom-base-url -> setup asks http://host.docker.internal:1234/v1 (a stub resolver answers
    nothing, so no lookup leaves the machine) and says so in the unreachable text."""
    from openclaw.cli.main import main
    from openclaw.net import guard

    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(f"{host}:{port}")
        return []

    monkeypatch.setattr(guard, "system_resolver", resolver)
    monkeypatch.setenv("OPENCLAW_DOCKER_SETUP", "1")
    with pytest.raises(SystemExit) as exited:
        main(["onboard", "--non-interactive", "--accept-risk", "--auth-choice", "lmstudio"])
    assert exited.value.code == 1
    assert capsys.readouterr().err.startswith(
        "LM Studio could not be reached at http://host.docker.internal:1234/v1.\n"
    )
    assert asked == ["host.docker.internal:1234"]
    assert not config_path(isolated_home).exists()


def test_header_auth_with_blank_key(isolated_home: Path) -> None:
    """§10 item 121: an existing Authorization header and a blank key -> discovery sends the
    header (no key of its own), stored lmstudio profiles are removed, the provider keeps its
    headers and gets neither apiKey nor auth."""
    with FakeLMStudio(api_key="proxy-token") as lms:
        write_config(
            isolated_home,
            {"baseUrl": lms.base_url, "headers": {"Authorization": "Bearer proxy-token"}},
        )
        write_profile(isolated_home, "stale-profile-key")
        child = spawn("--auth-choice", "lmstudio", "--accept-risk")
        answer_url_and_key(child, lms.base_url)
        finish(child)
        assert [r.header("authorization") for r in lms.requests] == ["Bearer proxy-token"]
    provider = json.loads(config_path(isolated_home).read_text())["models"]["providers"]["lmstudio"]
    assert provider["headers"] == {"Authorization": "Bearer proxy-token"}
    assert "apiKey" not in provider and "auth" not in provider
    assert len(provider["models"]) == 3
    store = json.loads(profiles_path(isolated_home).read_text())
    assert "lmstudio:default" not in store["profiles"]


def test_blank_key_removes_profiles_and_writes_local_marker(isolated_home: Path) -> None:
    """§10 item 122: no header, blank key -> discovery without Authorization (the
    "lmstudio-local" marker is never sent), stored lmstudio profiles removed, provider apiKey
    "lmstudio-local", no auth."""
    with FakeLMStudio() as lms:
        write_profile(isolated_home, "stale-profile-key")
        child = spawn("--auth-choice", "lmstudio", "--accept-risk")
        answer_url_and_key(child, lms.base_url)
        finish(child)
        assert [r.header("authorization") for r in lms.requests] == [None]
    provider = json.loads(config_path(isolated_home).read_text())["models"]["providers"]["lmstudio"]
    assert provider["apiKey"] == "lmstudio-local" and "auth" not in provider
    store = json.loads(profiles_path(isolated_home).read_text())
    assert "lmstudio:default" not in store["profiles"]


def test_reauth_over_stale_config_key_keeps_headers(isolated_home: Path) -> None:
    """§10 items 123/124: a fresh typed key over `auth: api-key, apiKey: "stale-config-key"`
    -> auth api-key, apiKey LM_API_TOKEN (the stale value is gone), the profile holds the fresh
    key, and the existing non-auth headers are kept and sent."""
    with FakeLMStudio(api_key="fresh-prompt-key") as lms:
        write_config(
            isolated_home,
            {
                "baseUrl": lms.base_url,
                "auth": "api-key",
                "apiKey": "stale-config-key",
                "headers": {"X-Proxy-Auth": "proxy-token"},
            },
        )
        child = spawn("--auth-choice", "lmstudio", "--accept-risk")
        answer_url_and_key(child, lms.base_url, "fresh-prompt-key")
        finish(child)
        assert [(r.header("authorization"), r.header("x-proxy-auth")) for r in lms.requests] == [
            ("Bearer fresh-prompt-key", "proxy-token")
        ]
    text = config_path(isolated_home).read_text()
    assert "stale-config-key" not in text and "fresh-prompt-key" not in text
    provider = json.loads(text)["models"]["providers"]["lmstudio"]
    assert (provider["auth"], provider["apiKey"]) == ("api-key", "LM_API_TOKEN")
    assert provider["headers"] == {"X-Proxy-Auth": "proxy-token"}
    store = json.loads(profiles_path(isolated_home).read_text())
    assert store["profiles"]["lmstudio:default"]["key"] == "fresh-prompt-key"
