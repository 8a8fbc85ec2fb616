from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.conftest import run_cli

KEY = "sk-lm-fake-TOKEN-0001"


def test_set_changes_only_default_and_allowlist(reference_home: Path) -> None:
    before = json.loads(reference_home.read_text())
    original_bytes = reference_home.read_bytes()
    result = run_cli("models", "set", "lmstudio/qwen/qwen3-coder-30b")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Updated config: ~/.openclaw/openclaw.json",
        "  Backup: ~/.openclaw/openclaw.json.bak",
        "Default model: lmstudio/qwen/qwen3-coder-30b",
    ]
    after = json.loads(reference_home.read_text())
    expected = json.loads(json.dumps(before))
    expected["agents"]["defaults"]["model"]["primary"] = "lmstudio/qwen/qwen3-coder-30b"
    expected["agents"]["defaults"]["models"] = {"lmstudio/qwen/qwen3-coder-30b": {}}
    assert after == expected
    assert reference_home.with_name("openclaw.json.bak").read_bytes() == original_bytes
    assert stat.S_IMODE(reference_home.stat().st_mode) == 0o600
    assert reference_home.read_text().endswith("}\n")

    again = run_cli("models", "set", "lmstudio/qwen/qwen3.5-9b")
    assert again.returncode == 0
    assert json.loads(reference_home.with_name("openclaw.json.bak.1").read_bytes()) == before
    final = json.loads(reference_home.read_text())
    assert final["agents"]["defaults"]["models"] == {
        "lmstudio/qwen/qwen3-coder-30b": {},
        "lmstudio/qwen/qwen3.5-9b": {},
    }
    listed = run_cli("models", "list")
    assert listed.stdout.splitlines()[3] == (
        "lmstudio/qwen/qwen3.5-9b                   text+image 33k/262k    yes   yes   default,configured"
    )


def test_set_keeps_fallbacks_and_converts_string_model(isolated_home: Path) -> None:
    assert run_cli("config", "set", "agents.defaults.model", "lmstudio/a").returncode == 0
    assert run_cli("models", "fallbacks", "add", "lmstudio/b").returncode == 0
    result = run_cli("models", "set", "lmstudio/c")
    assert result.returncode == 0
    assert "not in the configured catalog" in result.stderr  # warns, still writes
    model = json.loads(run_cli("config", "get", "agents.defaults.model", "--json").stdout)
    assert model == {"primary": "lmstudio/c", "fallbacks": ["lmstudio/b"]}


def test_set_unknown_provider_fails_and_writes_nothing(reference_home: Path) -> None:
    before = reference_home.read_bytes()
    result = run_cli("models", "set", "nosuch/model")
    assert result.returncode == 1
    assert result.stderr.startswith('Error: Unknown provider "nosuch"')
    assert reference_home.read_bytes() == before


def test_list_flags(reference_home: Path) -> None:
    plain = run_cli("models", "list", "--plain")
    assert plain.stdout.splitlines() == [
        "lmstudio/google/gemma-3-1b",
        "lmstudio/qwen/qwen3-coder-30b",
        "lmstudio/qwen/qwen3.5-9b",
    ]
    data = json.loads(run_cli("models", "list", "--json").stdout)
    assert data["count"] == 3
    assert data["models"][0] == {
        "key": "lmstudio/google/gemma-3-1b", "name": "Gemma 3 1B", "input": "text",
        "contextWindow": 32768, "contextTokens": 4096, "local": True, "available": True, "tags": [],
    }  # fmt: skip
    assert (
        json.loads(run_cli("models", "list", "--json", "--provider", "vllm").stdout)["count"] == 0
    )
    assert json.loads(run_cli("models", "list", "--json", "--local").stdout)["count"] == 3


def test_status_text_json_plain_check(reference_home: Path) -> None:
    text = run_cli("models", "status")
    assert text.returncode == 0, text.stderr
    assert "Default" in text.stdout and "lmstudio/qwen/qwen3.5-9b" in text.stdout
    assert "- lmstudio effective=models.json:marker LM_API_TOKEN" in text.stdout
    data = json.loads(run_cli("models", "status", "--json").stdout)
    assert data["defaultModel"] == "lmstudio/qwen/qwen3.5-9b"
    assert data["agentDir"].endswith(".openclaw/agents/main/agent")
    assert data["auth"]["missingProvidersInUse"] == []
    assert run_cli("models", "status", "--plain").stdout == "lmstudio/qwen/qwen3.5-9b\n"
    assert run_cli("models", "status", "--check").returncode == 0

    from openclaw.auth.profiles import AuthProfileStore
    from openclaw.config.paths import resolve_paths

    AuthProfileStore(resolve_paths().auth_profiles_path()).upsert_api_key(
        "lmstudio:default", "lmstudio", KEY
    )
    with_profile = run_cli("models", "status", "--json")
    provider = json.loads(with_profile.stdout)["auth"]["providers"][0]
    assert provider["effective"] == {"kind": "profiles", "detail": "lmstudio:default=sk-l…0001"}
    assert provider["profiles"]["apiKey"] == 1
    assert KEY not in with_profile.output


def test_status_check_fails_for_missing_remote_credentials(isolated_home: Path) -> None:
    assert run_cli("config", "set", "models.providers.cloud",
                   '{baseUrl: "https://api.example.com/v1", apiKey: "${CLOUD_KEY}", models: [{id: "m"}]}').returncode == 0  # fmt: skip
    assert run_cli("models", "set", "cloud/m").returncode == 0
    check = run_cli("models", "status", "--check")
    assert check.returncode == 1
    assert "Missing credentials for providers in use: cloud" in check.stdout


def test_aliases(reference_home: Path) -> None:
    assert run_cli("models", "aliases", "add", "fast", "lmstudio/google/gemma-3-1b").returncode == 0
    clash = run_cli("models", "aliases", "add", "FAST", "lmstudio/qwen/qwen3.5-9b")
    assert clash.returncode == 1
    assert (
        clash.stderr.splitlines()[0]
        == "Error: Alias FAST already points to lmstudio/google/gemma-3-1b."
    )
    assert run_cli("models", "aliases", "list").stdout == "fast -> lmstudio/google/gemma-3-1b\n"
    assert (
        run_cli("models", "set", "fast").stdout.splitlines()[-1]
        == "Default model: lmstudio/google/gemma-3-1b"
    )
    assert "alias:fast" in run_cli("models", "list").stdout
    assert run_cli("models", "aliases", "remove", "fast").returncode == 0
    assert json.loads(run_cli("models", "aliases", "list", "--json").stdout) == {"aliases": {}}
    assert run_cli("models", "aliases", "remove", "fast").returncode == 1


def test_fallbacks(reference_home: Path) -> None:
    assert run_cli("models", "fallbacks", "add", "lmstudio/google/gemma-3-1b").returncode == 0
    assert run_cli("models", "fallbacks", "add", "lmstudio/qwen/qwen3-coder-30b").returncode == 0
    assert run_cli("models", "fallbacks", "list").stdout.splitlines() == [
        "1. lmstudio/google/gemma-3-1b",
        "2. lmstudio/qwen/qwen3-coder-30b",
    ]
    tags = {
        r["key"]: r["tags"]
        for r in json.loads(run_cli("models", "list", "--json").stdout)["models"]
    }
    assert tags["lmstudio/qwen/qwen3-coder-30b"] == ["fallback#2", "configured"]
    assert run_cli("models", "fallbacks", "remove", "lmstudio/google/gemma-3-1b").returncode == 0
    assert json.loads(run_cli("models", "fallbacks", "list", "--json").stdout) == {
        "fallbacks": ["lmstudio/qwen/qwen3-coder-30b"]
    }
    assert run_cli("models", "fallbacks", "clear").returncode == 0
    assert run_cli("models", "fallbacks", "list").stdout == "No fallbacks.\n"
    assert json.loads(
        run_cli("config", "get", "agents.defaults.model.primary", "--json").stdout
    ) == ("lmstudio/qwen/qwen3.5-9b")


def test_empty_home(isolated_home: Path) -> None:
    listed = run_cli("models", "list", "--json")
    assert json.loads(listed.stdout) == {"count": 0, "models": []}
    status = run_cli("models", "status")
    assert status.returncode == 0 and "(missing)" in status.stdout
    assert not (isolated_home / ".openclaw").exists()  # reading never creates files


@pytest.mark.parametrize(
    "ref", ["", "/", "lmstudio/", "/model", "@work", "lmstudio/m@", "a b/c", "nope", "../x/y"]
)
def test_set_and_fallbacks_reject_junk_refs_and_write_nothing(
    reference_home: Path, ref: str
) -> None:
    before = reference_home.read_bytes()
    for args in (("models", "set", ref), ("models", "fallbacks", "add", ref),
                 ("models", "aliases", "add", "fast", ref)):  # fmt: skip
        result = run_cli(*args)
        assert result.returncode == 1, args
        first, *rest = result.stderr.splitlines()
        assert first.startswith("Error: ") and all(line.startswith("Hint: ") for line in rest)
        assert result.stdout == "" and "Traceback" not in result.stderr
    assert reference_home.read_bytes() == before
    assert not reference_home.with_name("openclaw.json.bak").exists()


@pytest.mark.parametrize(
    ("expires_in", "code", "line"),
    [
        (-60, 1, "Missing credentials for providers in use: cloud"),
        (3600, 2, "Credentials expiring soon for providers in use: cloud"),
        (30 * 24 * 3600, 0, None),
    ],
)
def test_status_check_follows_token_expiry(
    isolated_home: Path, expires_in: int, code: int, line: str | None
) -> None:
    """core.md §3.4: --check exits 1 for expired credentials in use, 2 when they expire soon."""
    import time

    from openclaw.auth.profiles import AuthProfileStore
    from openclaw.config.paths import resolve_paths

    assert run_cli("config", "set", "models.providers.cloud",
                   '{baseUrl: "https://api.example.com/v1", models: [{id: "m"}]}').returncode == 0  # fmt: skip
    assert run_cli("models", "set", "cloud/m").returncode == 0
    expires_ms = int((time.time() + expires_in) * 1000)

    def add_token(doc: dict) -> None:
        doc["profiles"]["cloud:work"] = {
            "type": "token", "provider": "cloud", "token": KEY, "expires": expires_ms,
        }  # fmt: skip

    AuthProfileStore(resolve_paths().auth_profiles_path()).update(add_token)
    plain = run_cli("models", "status")
    assert plain.returncode == 0  # without --check the overview always succeeds
    check = run_cli("models", "status", "--check")
    assert check.returncode == code, check.stderr
    if line:
        assert line in check.stdout
    assert KEY not in check.output
