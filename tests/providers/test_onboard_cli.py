"""`openclaw onboard` for LM Studio, run as a new user would (subprocess, temp HOME)
(lmstudio.md §7.2/§7.6; openclaw-observed.md §3; §10 items 101-111, 81-86)."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.providers.lmstudio_helpers import inst, llm
from tests.servers.fake_lmstudio import FakeLMStudio

TOKEN = "sk-lm-fake-TOKEN-0001"
BASE_ARGS = ("onboard", "--non-interactive", "--accept-risk", "--auth-choice", "lmstudio")


def config_path(home: Path) -> Path:
    return home / ".openclaw" / "openclaw.json"


def profiles_path(home: Path) -> Path:
    return home / ".openclaw" / "agents" / "main" / "agent" / "auth-profiles.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BLOCK_A = [
    "Default LM Studio model: qwen/qwen3.5-9b",
    "Workspace OK: ~/.openclaw/workspace",
    "Sessions OK: ~/.openclaw/agents/main/sessions",
    "Updated config: ~/.openclaw/openclaw.json",
]


def test_default_url_with_nothing_listening_says_not_reachable(isolated_home: Path) -> None:
    """observed a1 (default URL http://localhost:1234) - exact text, exit 1, nothing written,
    bounded by a generous timeout (figures belong in bench/)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 1234)) == 0:
            pytest.skip("something listens on port 1234 here")
    result = run_cli(*BASE_ARGS, timeout=30)  # a generous bound against hangs
    assert result.returncode == 1
    assert result.stderr.startswith(
        "LM Studio could not be reached at http://localhost:1234/v1.\n"
        "Start LM Studio (or run lms server start) and re-run setup.\n"
    )
    assert "lms server start --port 1234" in result.stderr and "LM_API_TOKEN" in result.stderr
    assert result.stdout == ""
    assert not config_path(isolated_home).exists()


def test_keyless_default_form_writes_block_a(
    isolated_home: Path, fake_lmstudio: FakeLMStudio
) -> None:
    """observed a3/b9: no key -> apiKey "lmstudio-local", no auth, no profile; one GET
    /api/v1/models without Authorization; scheme-less base accepted."""
    base = f"127.0.0.1:{fake_lmstudio.port}"
    result = run_cli(*BASE_ARGS, "--custom-base-url", base, "--skip-health")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == BLOCK_A
    assert fake_lmstudio.paths() == ["GET /api/v1/models"]
    assert fake_lmstudio.requests[0].header("authorization") is None
    cfg = json.loads(config_path(isolated_home).read_text())
    provider = cfg["models"]["providers"]["lmstudio"]
    assert provider["baseUrl"] == f"http://127.0.0.1:{fake_lmstudio.port}/v1"
    assert provider["apiKey"] == "lmstudio-local"
    assert "auth" not in provider and "auth" not in cfg
    assert cfg["models"]["mode"] == "merge"
    assert cfg["agents"]["defaults"]["model"] == {"primary": "lmstudio/qwen/qwen3.5-9b"}
    assert "models" not in cfg["agents"]["defaults"]  # non-interactive adds no allow-list
    assert not profiles_path(isolated_home).exists()
    assert (isolated_home / ".openclaw" / "workspace").is_dir()
    assert (isolated_home / ".openclaw" / "agents" / "main" / "sessions").is_dir()


def test_documented_token_form_then_models_set_and_list(isolated_home: Path) -> None:
    """observed b2 + §4: the page's full command against a token-checking server, then
    `models set` and `models list`."""
    with FakeLMStudio(api_key=TOKEN) as lms:
        result = run_cli(
            *BASE_ARGS,
            "--custom-base-url",
            lms.base_url,
            "--lmstudio-api-key",
            TOKEN,
            "--custom-model-id",
            "qwen/qwen3.5-9b",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == BLOCK_A
        assert TOKEN not in result.stdout + result.stderr
        assert [r.header("authorization") for r in lms.requests] == [f"Bearer {TOKEN}"]
        text = config_path(isolated_home).read_text()
        assert TOKEN not in text
        cfg = json.loads(text)
        provider = cfg["models"]["providers"]["lmstudio"]
        assert (provider["auth"], provider["apiKey"]) == ("api-key", "LM_API_TOKEN")
        assert [m["id"] for m in provider["models"]] == [
            "qwen/qwen3.5-9b",
            "qwen/qwen3-coder-30b",
            "google/gemma-3-1b",
        ]
        gemma = provider["models"][2]
        assert "compat" not in gemma
        assert (gemma["contextWindow"], gemma["contextTokens"], gemma["maxTokens"]) == (
            32768,
            4096,
            4096,
        )
        assert cfg["auth"]["profiles"]["lmstudio:default"] == {
            "provider": "lmstudio",
            "mode": "api_key",
        }
        store = profiles_path(isolated_home)
        assert stat.S_IMODE(store.stat().st_mode) == 0o600
        assert stat.S_IMODE(config_path(isolated_home).stat().st_mode) == 0o600
        profile = json.loads(store.read_text())["profiles"]["lmstudio:default"]
        assert profile == {"type": "api_key", "provider": "lmstudio", "key": TOKEN}
        lms.clear_requests()

        set_result = run_cli("models", "set", "lmstudio/qwen/qwen3.5-9b")
        assert set_result.returncode == 0, set_result.stderr
        assert "Updated config: ~/.openclaw/openclaw.json" in set_result.stdout
        assert "Backup: ~/.openclaw/openclaw.json.bak" in set_result.stdout
        assert set_result.stdout.rstrip().endswith("Default model: lmstudio/qwen/qwen3.5-9b")
        listed = run_cli("models", "list")
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        row = next(line for line in lines if line.startswith("lmstudio/qwen/qwen3.5-9b"))
        assert "text+image" in row and "33k/262k" in row and "default" in row
        assert any(
            line.startswith("lmstudio/qwen/qwen3-coder-30b") and "64k/262k" in line
            for line in lines
        )
        assert any(
            line.startswith("lmstudio/google/gemma-3-1b") and "4k/33k" in line for line in lines
        )
        assert lms.requests == []  # set/list send nothing to LM Studio (observed §4)


def test_env_token_and_json_output(isolated_home: Path) -> None:
    """observed b6: key from env LM_API_TOKEN, --json on stdout, block A on stderr."""
    with FakeLMStudio(api_key=TOKEN) as lms:
        result = run_cli(
            *BASE_ARGS, "--custom-base-url", lms.base_url, "--json", env={"LM_API_TOKEN": TOKEN}
        )
        assert result.returncode == 0, result.stderr
        payload = json.loads(result.stdout)
        assert payload["ok"] is True and payload["authChoice"] == "lmstudio"
        assert payload["defaultModel"] == "lmstudio/qwen/qwen3.5-9b"
        assert TOKEN not in result.stdout + result.stderr
        assert result.stderr.splitlines()[:4] == BLOCK_A
        assert lms.requests[0].header("authorization") == f"Bearer {TOKEN}"


def _seed_config(home: Path) -> bytes:
    path = config_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = b'{\n  // my settings\n  agents: {defaults: {model: "other/model"}},\n}\n'
    path.write_bytes(content)
    return content


@pytest.mark.parametrize(
    ("scenario", "extra", "expected"),
    [
        (
            "wrong-token",
            ["--lmstudio-api-key", "WRONG-token"],
            "LM Studio returned HTTP 401 while listing models at {base}.\n"
            "Check the base URL and API key, then re-run setup.",
        ),
        (
            "no-key-on-auth-server",
            [],
            "LM Studio returned HTTP 401 while listing models at {base}.\n"
            "Check the base URL and API key, then re-run setup.",
        ),
        (
            "unknown",
            ["--lmstudio-api-key", TOKEN, "--custom-model-id", "nope/missing"],
            "LM Studio model nope/missing was not found at {base}.\n"
            "Available models: qwen/qwen3.5-9b, qwen/qwen3-coder-30b, google/gemma-3-1b",
        ),
        (
            "prefixed-id",
            ["--lmstudio-api-key", TOKEN, "--custom-model-id", "lmstudio/qwen/qwen3.5-9b"],
            "LM Studio model lmstudio/qwen/qwen3.5-9b was not found at {base}.\n"
            "Available models: qwen/qwen3.5-9b, qwen/qwen3-coder-30b, google/gemma-3-1b",
        ),
    ],
)
def test_failures_print_reference_text_and_leave_config_untouched(
    isolated_home: Path, scenario: str, extra: list[str], expected: str
) -> None:
    """observed b3, b5, b7, b8; §10 items 84, 110, 111: exit 1, config byte-for-byte the same,
    no auth profile, one request."""
    before = _seed_config(isolated_home)
    with FakeLMStudio(api_key=TOKEN) as lms:
        result = run_cli(*BASE_ARGS, "--custom-base-url", lms.base_url, *extra)
        assert result.returncode == 1
        assert result.stderr.startswith(expected.format(base=lms.base_url) + "\n")
        assert len(lms.requests) == 1
    assert config_path(isolated_home).read_bytes() == before
    assert not profiles_path(isolated_home).exists()
    assert "WRONG-token" not in result.stdout + result.stderr


def test_server_down_is_fast_and_writes_nothing(isolated_home: Path) -> None:
    """observed b4: guidance text, nothing written (a generous timeout bounds the run)."""
    before = _seed_config(isolated_home)
    port = free_port()
    result = run_cli(
        *BASE_ARGS, "--custom-base-url", f"http://127.0.0.1:{port}/v1", "--json", timeout=30
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"LM Studio could not be reached at http://127.0.0.1:{port}/v1.\n"
        "Start LM Studio (or run lms server start) and re-run setup.\n"
    )
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and "could not be reached" in payload["error"]
    assert config_path(isolated_home).read_bytes() == before


def test_no_loaded_model_and_retryable_status(isolated_home: Path) -> None:
    """§7 table rows: nothing loaded; HTTP 503 is the "wait to recover" variant."""
    with FakeLMStudio() as lms:
        lms.set_models([llm("phi-4"), {"type": "embedding", "key": "e"}])
        result = run_cli(*BASE_ARGS, "--custom-base-url", lms.base_url)
        assert result.returncode == 1
        assert result.stderr.startswith(
            f"No loaded LM Studio LLM models were found at {lms.base_url}.\n"
            "Load a model in LM Studio (or run lms load <model>), then re-run setup.\n"
        )
        lms.override("/api/v1/models", 503, "busy")
        result = run_cli(*BASE_ARGS, "--custom-base-url", lms.base_url)
        assert result.stderr.startswith(
            f"LM Studio returned HTTP 503 while listing models at {lms.base_url}.\n"
            "Wait for LM Studio to recover, then re-run setup.\n"
        )
    assert not config_path(isolated_home).exists()


def test_default_model_preference_and_api_v1_base(isolated_home: Path) -> None:
    """§10 items 101, 103: /api/v1/ base normalised; the preferred local family wins."""
    with FakeLMStudio() as lms:
        lms.set_models(
            [
                llm("phi-4", max_ctx=65536, instances=[inst("phi-4", 8192)]),
                llm("qwen3-8b-instruct", instances=[inst("qwen3-8b-instruct", 64000)]),
                {"type": "embedding", "key": "nomic"},
            ]
        )
        result = run_cli(*BASE_ARGS, "--custom-base-url", lms.server_url + "/api/v1/")
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[0] == "Default LM Studio model: qwen3-8b-instruct"
    cfg = json.loads(config_path(isolated_home).read_text())
    provider = cfg["models"]["providers"]["lmstudio"]
    assert provider["baseUrl"] == lms.base_url
    assert [m["id"] for m in provider["models"]] == ["phi-4", "qwen3-8b-instruct"]
    assert provider["models"][0]["contextWindow"] == 65536
    assert provider["models"][1]["contextWindow"] == 128000
    assert provider["models"][1]["contextTokens"] == 64000
    assert cfg["agents"]["defaults"]["model"]["primary"] == "lmstudio/qwen3-8b-instruct"


def test_rerun_replaces_stale_key_and_keeps_fallbacks_and_headers(isolated_home: Path) -> None:
    """§10 items 102, 109: existing headers unchanged, stale apiKey replaced by the marker,
    fallbacks kept, a second run writes a backup."""
    path = config_path(isolated_home)
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "models": {
                    "providers": {
                        "lmstudio": {
                            "baseUrl": "http://old:1234/v1",
                            "auth": "api-key",
                            "apiKey": "stale-config-key",
                            "headers": {"X-Proxy-Auth": "proxy"},
                            "models": [],
                        }
                    }
                },
                "agents": {"defaults": {"model": {"primary": "x/y", "fallbacks": ["a/b"]}}},
            }
        )
    )
    with FakeLMStudio(api_key=TOKEN) as lms:
        result = run_cli(*BASE_ARGS, "--custom-base-url", lms.base_url, "--custom-api-key", TOKEN)
        assert result.returncode == 0, result.stderr
        assert "  Backup: ~/.openclaw/openclaw.json.bak" in result.stdout.splitlines()
        assert lms.requests[0].header("x-proxy-auth") == "proxy"
    cfg = json.loads(path.read_text())
    provider = cfg["models"]["providers"]["lmstudio"]
    assert provider["apiKey"] == "LM_API_TOKEN" and provider["auth"] == "api-key"
    assert provider["headers"] == {"X-Proxy-Auth": "proxy"}
    assert cfg["agents"]["defaults"]["model"] == {
        "primary": "lmstudio/qwen/qwen3.5-9b",
        "fallbacks": ["a/b"],
    }


def test_header_only_auth_removes_profiles(isolated_home: Path) -> None:
    """§10 items 105-107: an Authorization header and no flag key -> header-only auth: the
    stored profile is removed, no apiKey/auth in the provider, the header is sent."""
    path = config_path(isolated_home)
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "models": {
                    "providers": {
                        "lmstudio": {
                            "baseUrl": "http://x:1/v1",
                            "headers": {"Authorization": f"Bearer {TOKEN}"},
                            "models": [],
                        }
                    }
                },
                "auth": {
                    "profiles": {"lmstudio:default": {"provider": "lmstudio", "mode": "api_key"}}
                },
            }
        )
    )
    store = profiles_path(isolated_home)
    store.parent.mkdir(parents=True)
    store.write_text(
        json.dumps(
            {
                "version": 1,
                "profiles": {
                    "lmstudio:default": {
                        "type": "api_key",
                        "provider": "lmstudio",
                        "key": "stale-profile-key",
                    }
                },
            }
        )
    )
    with FakeLMStudio(api_key=TOKEN) as lms:
        result = run_cli(
            *BASE_ARGS, "--custom-base-url", lms.base_url, env={"LM_API_TOKEN": "env-fallback-key"}
        )
        assert result.returncode == 0, result.stderr
        assert lms.requests[0].header("authorization") == f"Bearer {TOKEN}"
    cfg = json.loads(path.read_text())
    provider = cfg["models"]["providers"]["lmstudio"]
    assert "apiKey" not in provider and "auth" not in provider
    assert provider["headers"] == {"Authorization": f"Bearer {TOKEN}"}
    assert "auth" not in cfg
    assert json.loads(store.read_text())["profiles"] == {}


def test_non_interactive_requires_accept_risk(isolated_home: Path) -> None:
    """core.md §5.1: the explanation and the flag to add; exit 1; nothing written."""
    result = run_cli("onboard", "--non-interactive", "--auth-choice", "lmstudio")
    assert result.returncode == 1
    assert "risk acknowledgement" in result.stderr and "--accept-risk" in result.stderr
    assert not config_path(isolated_home).exists()


def test_interactive_refuses_without_tty(isolated_home: Path) -> None:
    """A non-TTY stdin gets a refusal with a hint to use --non-interactive."""
    result = run_cli("onboard")
    assert result.returncode == 1
    assert "--non-interactive" in result.stderr
    assert not config_path(isolated_home).exists()


def test_secrets_never_in_openclaw_json_with_env_key(isolated_home: Path) -> None:
    """The key lives only in auth-profiles.json (0600)."""
    with FakeLMStudio(api_key=TOKEN) as lms:
        run_cli(*BASE_ARGS, "--custom-base-url", lms.base_url, env={"LM_API_TOKEN": TOKEN})
    for path in (isolated_home / ".openclaw").rglob("*"):
        if path.is_file() and path.name != "auth-profiles.json":
            assert TOKEN.encode() not in path.read_bytes(), path
    assert os.path.exists(profiles_path(isolated_home))


def test_lmstudio_flag_beats_custom_api_key(isolated_home: Path) -> None:
    """§10 item 108: --lmstudio-api-key wins over --custom-api-key."""
    with FakeLMStudio(api_key=TOKEN) as lms:
        result = run_cli(
            *BASE_ARGS,
            "--custom-base-url",
            lms.base_url,
            "--lmstudio-api-key",
            TOKEN,
            "--custom-api-key",
            "old-custom-key",
        )
        assert result.returncode == 0, result.stderr
        assert lms.requests[0].header("authorization") == f"Bearer {TOKEN}"


def test_empty_key_flag_from_unset_env_is_keyless(
    isolated_home: Path, fake_lmstudio: FakeLMStudio
) -> None:
    """The page's `--lmstudio-api-key "$LM_API_TOKEN"` with the variable unset passes "":
    that is a keyless setup, not an error."""
    result = run_cli(
        *BASE_ARGS,
        "--custom-base-url",
        fake_lmstudio.base_url,
        "--lmstudio-api-key",
        "",
        "--custom-model-id",
        "qwen/qwen3.5-9b",
    )
    assert result.returncode == 0, result.stderr
    cfg = json.loads(config_path(isolated_home).read_text())
    assert cfg["models"]["providers"]["lmstudio"]["apiKey"] == "lmstudio-local"
    assert fake_lmstudio.requests[0].header("authorization") is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://127.0.0.1:{port}", "Enter a valid HTTP or HTTPS URL"),
        ("http://", "Enter a valid HTTP or HTTPS URL"),
        ("http://127.0.0.1:99999", "Enter a valid HTTP or HTTPS URL"),
        ("http://lm:hunter2-secret@127.0.0.1:{port}/v1", "not in the URL"),
    ],
)
def test_bad_base_url_is_one_clear_line(isolated_home: Path, url: str, expected: str) -> None:
    """Odd --custom-base-url values: the setup prompt's message (§2.3) as one error line plus
    a hint, exit 1, no request, nothing written; a password in the URL is never echoed."""
    before = _seed_config(isolated_home)
    with FakeLMStudio() as lms:
        result = run_cli(*BASE_ARGS, "--custom-base-url", url.format(port=lms.port))
        assert lms.requests == []
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: --custom-base-url: ") and expected in lines[0]
    assert lines[1].startswith("Hint: ") and len(lines) == 2
    assert result.stdout == ""
    assert "hunter2" not in result.stderr
    assert config_path(isolated_home).read_bytes() == before


@pytest.mark.parametrize("source", ["flag", "env"])
@pytest.mark.parametrize("key", ["sk-lm-fake\nTOKEN-0001", "sk-lm-fäke-TOKEN-0001"])
def test_unsendable_key_is_refused_before_any_request(
    isolated_home: Path, source: str, key: str
) -> None:
    """A pasted line break or a non-ASCII character: one line naming where the key came
    from (never the key), exit 1, no request, nothing written."""
    before = _seed_config(isolated_home)
    with FakeLMStudio(api_key=TOKEN) as lms:
        if source == "flag":
            result = run_cli(
                *BASE_ARGS, "--custom-base-url", lms.base_url, "--lmstudio-api-key", key
            )
        else:
            result = run_cli(
                *BASE_ARGS, "--custom-base-url", lms.base_url, env={"LM_API_TOKEN": key}
            )
        assert lms.requests == []
    assert result.returncode == 1
    origin = "--lmstudio-api-key" if source == "flag" else "LM_API_TOKEN"
    assert result.stderr.splitlines()[0] == (
        "Error: The LM Studio API key contains characters an HTTP header cannot carry. "
        f"(from {origin})"
    )
    assert "TOKEN-0001" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert config_path(isolated_home).read_bytes() == before
    assert not profiles_path(isolated_home).exists()


def test_key_from_the_state_dir_dotenv(isolated_home: Path) -> None:
    """LM_API_TOKEN in ~/.openclaw/.env counts like the process environment (config
    loading reads it; credential lookups use cfg.env, never os.environ alone)."""
    dotenv = isolated_home / ".openclaw" / ".env"
    dotenv.parent.mkdir(parents=True)
    dotenv.write_text(f"LM_API_TOKEN={TOKEN}\n")
    with FakeLMStudio(api_key=TOKEN) as lms:
        result = run_cli(*BASE_ARGS, "--custom-base-url", lms.base_url)
        assert result.returncode == 0, result.stderr
        assert [r.header("authorization") for r in lms.requests] == [f"Bearer {TOKEN}"]
    provider = json.loads(config_path(isolated_home).read_text())["models"]["providers"]
    assert provider["lmstudio"]["apiKey"] == "LM_API_TOKEN"
    store = json.loads(profiles_path(isolated_home).read_text())
    assert store["profiles"]["lmstudio:default"]["key"] == TOKEN


def test_installed_unloaded_model_is_loaded_at_its_configured_context(
    isolated_home: Path,
) -> None:
    """Issue 14 point 15: a chosen model that is installed but not loaded is loaded at the
    configured context (--context here), then written with that context; the same as the
    interactive path and the agent (the reference refused it)."""
    with FakeLMStudio(api_key=TOKEN) as lms:
        result = run_cli(
            *BASE_ARGS,
            "--custom-base-url",
            lms.base_url,
            "--lmstudio-api-key",
            TOKEN,
            "--custom-model-id",
            "qwen/qwen3-coder-30b",
            "--context",
            "16384",
        )
        assert result.returncode == 0, result.stderr
        assert "Loading qwen/qwen3-coder-30b in LM Studio (16384 context tokens)" in result.stderr
        loads = [r.json for r in lms.requests if r.path == "/api/v1/models/load"]
        assert loads == [{"model": "qwen/qwen3-coder-30b", "context_length": 16384}]
    provider = json.loads(config_path(isolated_home).read_text())["models"]["providers"]
    row = next(m for m in provider["lmstudio"]["models"] if m["id"] == "qwen/qwen3-coder-30b")
    assert row["contextTokens"] == 16384


def test_failed_load_of_an_unloaded_model_writes_nothing(isolated_home: Path) -> None:
    """A load that fails (LM Studio runs out of memory) ends onboarding with the server's
    reason, exit 1, and the config byte-for-byte unchanged."""
    before = _seed_config(isolated_home)
    with FakeLMStudio() as lms:
        lms.override("/api/v1/models/load", 500, {"error": {"message": "out of memory"}})
        result = run_cli(
            *BASE_ARGS, "--custom-base-url", lms.base_url, "--custom-model-id",
            "qwen/qwen3-coder-30b",
        )  # fmt: skip
    assert result.returncode == 1
    assert "out of memory" in result.stderr and "Traceback" not in result.stderr
    assert config_path(isolated_home).read_bytes() == before


def test_unreachable_hint_names_the_port_actually_configured(isolated_home: Path) -> None:
    """Issue 14 point 13: the start hint carries the URL's own port, not the default 1234."""
    port = free_port()
    result = run_cli(*BASE_ARGS, "--custom-base-url", f"http://127.0.0.1:{port}")
    assert result.returncode == 1
    assert f"lms server start --port {port}" in result.stderr
    assert "--port 1234" not in result.stderr
