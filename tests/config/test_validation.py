from __future__ import annotations

import json
from pathlib import Path

import pytest

from openclaw.config.loader import load_config
from openclaw.errors import ConfigValidationError

FIXTURE = Path(__file__).parent.parent / "cli" / "fixtures" / "reference_openclaw.json"


def write(home: Path, data: object) -> Path:
    path = home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def issues_for(home: Path, data: object) -> list[tuple[str, str]]:
    write(home, data)
    with pytest.raises(ConfigValidationError) as info:
        load_config()
    return info.value.issues


def test_reference_config_is_valid_and_other_sections_carried(isolated_home: Path) -> None:
    write(isolated_home, json.loads(FIXTURE.read_text()))
    cfg = load_config()
    assert cfg.unknown_keys == []
    assert cfg.data["gateway"]["port"] == 18789
    assert cfg.data["hooks"]["internal"]["entries"]["session-memory"]["enabled"] is True


@pytest.mark.parametrize(
    ("patch", "path", "fragment"),
    [
        ({"contextWindow": "big"}, "models.providers.lmstudio.models.0.contextWindow", "integer"),
        (
            {"contextTokens": 0},
            "models.providers.lmstudio.models.0.contextTokens",
            "greater than 0",
        ),
        ({"reasoning": "yes"}, "models.providers.lmstudio.models.0.reasoning", "boolean"),
        ({"input": ["text", "smell"]}, "models.providers.lmstudio.models.0.input.1", "'image'"),
        (
            {"compat": {"maxTokensField": "tokens"}},
            "models.providers.lmstudio.models.0.compat.maxTokensField",
            "max_tokens",
        ),
        (
            {"cost": {"input": -1}},
            "models.providers.lmstudio.models.0.cost.input",
            "greater than or equal",
        ),
    ],
)
def test_model_row_errors_name_the_path(
    isolated_home: Path, patch: dict, path: str, fragment: str
) -> None:
    row = {"id": "qwen/qwen3.5-9b", **patch}
    issues = issues_for(
        isolated_home,
        {
            "models": {
                "providers": {"lmstudio": {"baseUrl": "http://localhost:1234/v1", "models": [row]}}
            }
        },
    )
    assert len(issues) == 1
    assert issues[0][0] == path
    assert fragment in issues[0][1]


def test_provider_level_errors(isolated_home: Path) -> None:
    issues = issues_for(
        isolated_home,
        {"models": {"providers": {
            "lmstudio": {"api": "carrier-pigeon", "apiKey": 5, "request": {"allowPrivateNetwork": "no"}},
            "mybox": {"api": "openai-completions"},
        }}, "agents": {"defaults": {"model": {"primary": 3}}}, "auth": {"profiles": {"x:y": {"provider": "x", "mode": "magic"}}}},
    )  # fmt: skip
    paths = {p for p, _ in issues}
    assert {
        "models.providers.lmstudio.api",
        "models.providers.lmstudio.apiKey",
        "models.providers.lmstudio.request.allowPrivateNetwork",
        "agents.defaults.model",
        'auth.profiles["x:y"].mode',
    } <= paths


def test_custom_provider_needs_base_url_and_models(isolated_home: Path) -> None:
    issues = issues_for(
        isolated_home, {"models": {"providers": {"mybox": {"api": "openai-completions"}}}}
    )
    assert [p for p, _ in issues] == [
        "models.providers.mybox.baseUrl",
        "models.providers.mybox.models",
    ]
    assert "custom model providers must declare baseUrl" in issues[0][1]


def test_report_format(isolated_home: Path) -> None:
    path = write(isolated_home, {"models": {"mode": "sometimes"}})
    with pytest.raises(ConfigValidationError) as info:
        load_config()
    lines = info.value.message.splitlines()
    assert lines[0] == f"Invalid config at {path}:"
    assert lines[1].startswith("- models.mode: Input should be 'merge' or 'replace'")


def test_unknown_keys_are_warnings_and_kept(isolated_home: Path) -> None:
    write(isolated_home, {
        "models": {"providers": {"lmstudio": {"futureFlag": 1, "models": [{"id": "m", "newField": {"a": 1},
                   "params": {"temperature": 0.2}}]}}},
        "agents": {"defaults": {"somethingElse": True, "models": {"lmstudio/m": {"alias": "m", "later": 1}}}},
        "gateway": {"whatever": {"deep": True}},
    })  # fmt: skip
    cfg = load_config()
    assert sorted(p for p, _ in cfg.unknown_keys) == [
        'agents.defaults.models["lmstudio/m"].later',
        "models.providers.lmstudio.futureFlag",
        "models.providers.lmstudio.models.0.newField",
    ]
    assert cfg.data["models"]["providers"]["lmstudio"]["models"][0]["newField"] == {"a": 1}


def test_validation_stamp_reused_but_content_change_revalidates(isolated_home: Path) -> None:
    write(isolated_home, {"models": {"providers": {"lmstudio": {"futureFlag": 1}}}})
    assert load_config().unknown_keys  # validated, stamped
    assert load_config().unknown_keys  # from the stamp: same warnings
    write(
        isolated_home,
        {"models": {"providers": {"lmstudio": {"futureFlag": "x", "maxTokens": "1"}}}},
    )
    with pytest.raises(ConfigValidationError):
        load_config()


def _stamp(home: Path) -> Path:
    return home / ".openclaw" / ".config-validated.json"


def test_stamp_skips_pydantic_only_for_identical_resolved_content(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stat

    import openclaw.config.validate as validate_module

    calls: list[int] = []
    real = validate_module.validate_config

    def counting(data: dict) -> tuple[list, list]:
        calls.append(1)
        return real(data)

    monkeypatch.setattr(validate_module, "validate_config", counting)
    provider = {"baseUrl": "${BASE}", "models": [], "futureFlag": 1}
    write(isolated_home, {"models": {"providers": {"lmstudio": provider}}})
    monkeypatch.setenv("BASE", "http://localhost:1234/v1")
    first = load_config()
    assert len(calls) == 1 and _stamp(isolated_home).is_file()
    assert stat.S_IMODE(_stamp(isolated_home).stat().st_mode) == 0o600
    again = load_config()
    assert len(calls) == 1  # reused
    assert again.unknown_keys == first.unknown_keys != []
    # Same file, different environment: the resolved value changed, so validation re-runs.
    monkeypatch.setenv("BASE", "ftp://example.com")
    with pytest.raises(ConfigValidationError):
        load_config()
    assert len(calls) == 2
    # A section we do not validate does not invalidate the stamp.
    monkeypatch.setenv("BASE", "http://localhost:1234/v1")
    load_config()
    calls.clear()
    write(isolated_home, {"models": {"providers": {"lmstudio": provider}}, "gateway": {"p": 1}})
    load_config()
    assert calls == []


def test_stamp_not_written_for_invalid_config_or_without_state_dir(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert issues_for(isolated_home, {"models": {"mode": "x"}})
    assert not _stamp(isolated_home).exists()
    elsewhere = tmp_path / "conf" / "openclaw.json"
    elsewhere.parent.mkdir()
    elsewhere.write_text(json.dumps({"models": {"mode": "merge"}}))
    monkeypatch.setenv("OPENCLAW_CONFIG_PATH", str(elsewhere))
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path / "no-state"))
    assert load_config().exists
    assert not (tmp_path / "no-state").exists()


def test_every_secret_slot_takes_a_string_or_secret_ref(isolated_home: Path) -> None:
    provider = {
        "baseUrl": "http://localhost:1234/v1",
        "apiKey": {"source": "env", "provider": "default", "id": "LM_API_TOKEN"},
        "headers": {"X-Ok": "v", "X-Bad": 3},
        "request": {"auth": {"mode": "header", "value": ["x"]}, "tls": {"passphrase": 1}},
        "models": [{"id": "m", "headers": {"X-Row": {"source": "nowhere", "id": "A"}}}],
    }
    issues = issues_for(isolated_home, {"models": {"providers": {"lmstudio": provider}}})
    assert [p for p, _ in issues] == [
        "models.providers.lmstudio.headers.X-Bad",
        "models.providers.lmstudio.request.auth.value",
        "models.providers.lmstudio.request.tls.passphrase",
        "models.providers.lmstudio.models.0.headers.X-Row",
    ]
    assert all("SecretRef" in message for _, message in issues)
