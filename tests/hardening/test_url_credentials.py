"""Issue 14 point 2: credentials in a provider base URL are refused everywhere.

``http://user:KEY@host/v1`` used to be accepted by ``config set``; commands then printed the
key and sent the userinfo as Basic auth instead of the configured key. Now ``config set``
refuses it (nothing written), and a hand-edited file with one is refused on load by every
command with one message that names the origin and points at apiKey / an auth profile.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.servers.fake_lmstudio import FakeLMStudio

from .conftest import config_path, provider_config, write_config

KEY = "sk-url-SECRET-0123456789"


def with_userinfo(fake: FakeLMStudio) -> str:
    return f"http://user:{KEY}@127.0.0.1:{fake.port}/v1"


def test_config_set_refuses_url_with_credentials(isolated_home: Path, lms: FakeLMStudio) -> None:
    path = write_config(isolated_home, provider_config(lms.base_url, provider="vllm"))
    before = path.read_bytes()
    result = run_cli("config", "set", "models.providers.vllm.baseUrl", with_userinfo(lms))
    assert result.returncode == 1
    assert KEY not in result.output
    assert "models.providers.vllm.baseUrl" in result.stderr
    assert "models.providers.vllm.apiKey" in result.stderr
    assert f"127.0.0.1:{lms.port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before
    # A whole provider object (and a model row's own baseUrl) is checked the same way.
    whole = json.dumps({"baseUrl": with_userinfo(lms), "models": []})
    assert run_cli("config", "set", "models.providers.other", whole).returncode == 1
    row = run_cli("config", "set", "models.providers.vllm.models.0.baseUrl", with_userinfo(lms))
    assert row.returncode == 1 and KEY not in row.output
    assert path.read_bytes() == before


COMMANDS = [
    ("models", "list"),
    ("models", "list", "--refresh"),
    ("models", "status", "--probe", "--json"),
    ("agent", "-m", "hi", "--json"),
    ("config", "get"),
    ("config", "validate"),
    ("embed", "hello"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_hand_edited_url_with_credentials_is_refused_on_load(
    isolated_home: Path, lms: FakeLMStudio, args: tuple[str, ...]
) -> None:
    write_config(isolated_home, provider_config(with_userinfo(lms)))
    result = run_cli(*args)
    assert result.returncode == 1, result.output
    assert KEY not in result.output
    assert "models.providers.lmstudio.baseUrl" in result.stderr
    assert "Traceback" not in result.stderr
    assert lms.requests == []  # refused before any request: no Basic auth sent


def test_validate_json_reports_it_and_unset_repairs(isolated_home: Path, lms: FakeLMStudio) -> None:
    write_config(isolated_home, provider_config(with_userinfo(lms)))
    result = run_cli("config", "validate", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert [e["path"] for e in report["errors"]] == ["models.providers.lmstudio.baseUrl"]
    assert KEY not in result.output
    fixed = run_cli("config", "set", "models.providers.lmstudio.baseUrl", lms.base_url)
    assert fixed.returncode == 0, fixed.stderr
    assert KEY not in config_path(isolated_home).read_text()
    assert run_cli("config", "validate").returncode == 0
