from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from openclaw.auth.profiles import AuthProfileStore
from openclaw.auth.resolve import resolve_credential
from openclaw.config.loader import load_config
from openclaw.config.paths import resolve_paths
from openclaw.errors import AuthError

KEY = "sk-lm-fake-TOKEN-0001"


def write_config(home: Path, data: dict) -> None:
    path = home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def lmstudio(api_key: object = None, base: str = "http://localhost:1234/v1") -> dict:
    provider: dict = {"baseUrl": base, "api": "openai-completions", "models": []}
    if api_key is not None:
        provider["apiKey"] = api_key
    return {"models": {"providers": {"lmstudio": provider}}}


def store() -> AuthProfileStore:
    return AuthProfileStore(resolve_paths().auth_profiles_path())


def test_store_shape_mode_and_unknown_fields_kept(isolated_home: Path) -> None:
    s = store()
    assert s.load() == {"version": 1, "profiles": {}, "order": {}, "lastGood": {}, "usageStats": {}}
    s.upsert_api_key("lmstudio:default", "lmstudio", KEY)
    raw = json.loads(s.path.read_text())
    raw["future"] = {"x": 1}
    s.path.write_text(json.dumps(raw))
    s.upsert_api_key("lmstudio:work", "lmstudio", "sk-other-000000002")
    doc = json.loads(s.path.read_text())
    assert doc["future"] == {"x": 1}
    assert doc["profiles"]["lmstudio:default"] == {
        "type": "api_key",
        "provider": "lmstudio",
        "key": KEY,
    }
    assert stat.S_IMODE(s.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(s.path.parent.stat().st_mode) == 0o700
    assert [pid for pid, _ in s.for_provider("lmstudio")] == ["lmstudio:default", "lmstudio:work"]
    with pytest.raises(AuthError):
        s.upsert_api_key("other:default", "lmstudio", KEY)


def test_env_name_marker_prefers_profile_then_env_then_keyless(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(isolated_home, lmstudio("LM_API_TOKEN"))
    cred = resolve_credential(load_config(), "lmstudio", required=True)
    assert (cred.key, cred.source, cred.detail) == (None, "marker", "LM_API_TOKEN")
    monkeypatch.setenv("LM_API_TOKEN", "sk-from-env-00000001")
    cred = resolve_credential(load_config(), "lmstudio")
    assert (cred.key, cred.source, cred.detail) == ("sk-from-env-00000001", "env", "LM_API_TOKEN")
    store().upsert_api_key("lmstudio:default", "lmstudio", KEY)
    cred = resolve_credential(load_config(), "lmstudio")
    assert (cred.key, cred.source, cred.detail) == (KEY, "profile", "lmstudio:default")
    assert cred.masked() == "sk-l…0001"


def test_cooling_down_profile_is_skipped(isolated_home: Path) -> None:
    write_config(isolated_home, lmstudio("lmstudio-local"))
    s = store()
    s.upsert_api_key("lmstudio:default", "lmstudio", KEY)
    s.update(
        lambda d: d["usageStats"].update(
            {"lmstudio:default": {"cooldownUntil": (time.time() + 60) * 1000}}
        )
    )
    cred = resolve_credential(load_config(), "lmstudio")
    assert cred.source == "marker" and cred.key is None


def test_rotation_order_puts_cooling_profiles_last_and_resolution_skips_them(
    isolated_home: Path,
) -> None:
    write_config(isolated_home, lmstudio("lmstudio-local"))
    s = store()
    s.upsert_api_key("lmstudio:a", "lmstudio", "sk-aaaa-0000000001")
    s.upsert_api_key("lmstudio:b", "lmstudio", "sk-bbbb-0000000002")
    s.upsert_api_key("lmstudio:c", "lmstudio", "sk-cccc-0000000003")
    later = (time.time() + 60) * 1000
    s.update(lambda d: d.update({
        "order": {"lmstudio": ["lmstudio:a", "lmstudio:c", "lmstudio:b"]},
        "usageStats": {"lmstudio:a": {"disabledUntil": later}},
    }))  # fmt: skip
    assert [pid for pid, _ in s.for_provider("lmstudio")] == [
        "lmstudio:c", "lmstudio:b", "lmstudio:a",
    ]  # fmt: skip
    assert [pid for pid, _ in s.for_provider("lmstudio", skip_cooldown=True)] == [
        "lmstudio:c", "lmstudio:b",
    ]  # fmt: skip
    cred = resolve_credential(load_config(), "lmstudio")
    assert (cred.key, cred.source, cred.detail) == ("sk-cccc-0000000003", "profile", "lmstudio:c")


def test_unresolved_placeholder_is_never_a_key(isolated_home: Path) -> None:
    write_config(isolated_home, lmstudio("${LM_API_TOKEN}"))
    cfg = load_config()
    cred = resolve_credential(cfg, "lmstudio", required=True)  # local: keyless is allowed
    assert cred.key is None and cred.source == "none" and cred.unresolved == ("LM_API_TOKEN",)
    write_config(isolated_home, {"models": {"providers": {"cloud": {
        "baseUrl": "https://api.example.com/v1", "apiKey": "${CLOUD_KEY}", "models": []}}}})  # fmt: skip
    with pytest.raises(AuthError) as info:
        resolve_credential(load_config(), "cloud", required=True)
    assert info.value.message.startswith(
        'No API key found for provider "cloud". Auth store: '
        f"{isolated_home}/.openclaw/agents/main/agent/auth-profiles.json (agentDir: "
    )
    assert (
        "(openclaw agents add cloud) or copy auth-profiles.json from the main agentDir."
        in info.value.message
    )
    assert "CLOUD_KEY" in (info.value.hint or "")


def test_config_literal_and_secretref(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(isolated_home, {"models": {"providers": {
        "box": {"baseUrl": "https://box.example/v1", "apiKey": "sk-literal-000000001", "models": []},
        "ref": {"baseUrl": "https://ref.example/v1", "apiKey": {"source": "env", "provider": "default", "id": "REF_KEY"}, "models": []},
    }}})  # fmt: skip
    cfg = load_config()
    cred = resolve_credential(cfg, "box")
    assert (cred.source, cred.detail) == ("config", "models.providers.box.apiKey")
    monkeypatch.setenv("REF_KEY", "sk-ref-0000000001")
    cred = resolve_credential(load_config(), "ref")
    assert (cred.key, cred.source) == ("sk-ref-0000000001", "env")


def test_explicit_profile_only(isolated_home: Path) -> None:
    write_config(isolated_home, lmstudio("lmstudio-local"))
    store().upsert_api_key("lmstudio:work", "lmstudio", KEY)
    cfg = load_config()
    assert resolve_credential(cfg, "lmstudio", profile="lmstudio:work").key == KEY
    with pytest.raises(AuthError):
        resolve_credential(cfg, "lmstudio", profile="lmstudio:nope", required=True)


def _upsert_many(path: str, worker: int) -> None:
    s = AuthProfileStore(Path(path))
    for n in range(20):
        s.upsert_api_key(f"lmstudio:w{worker}-{n}", "lmstudio", f"sk-key-{worker}-{n:04d}-abcdef")


def test_concurrent_profile_writers_lose_nothing(isolated_home: Path) -> None:
    import multiprocessing

    path = str(store().path)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_upsert_many, args=(path, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(store().load()["profiles"]) == 80


def test_reprs_never_carry_secrets(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(isolated_home, lmstudio("${LM_API_TOKEN}"))
    monkeypatch.setenv("LM_API_TOKEN", KEY)
    cfg = load_config()
    cred = resolve_credential(cfg, "lmstudio")
    assert cred.key == KEY
    assert KEY not in repr(cfg) and KEY not in repr(cred)
