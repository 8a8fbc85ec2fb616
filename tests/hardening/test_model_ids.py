"""Issue 14 point 3: model ids with control characters, over 512 characters or with empty
path segments are refused from ``models set`` and skipped (with one warning naming the count)
when a server lists them; they are never written to the config nor printed raw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.servers.fake_lmstudio import FakeLMStudio, default_models

from .conftest import config_path, provider_config, write_config

BAD_IDS = ["evil\nid", "nul\x00id", "bell\x07id", "x" * 513, "qwen//model", "qwen/model/"]


@pytest.mark.parametrize("model_id", [i for i in BAD_IDS if "\x00" not in i], ids=repr)
def test_models_set_refuses_bad_id(isolated_home: Path, lms: FakeLMStudio, model_id: str) -> None:
    path = write_config(isolated_home, provider_config(lms.base_url))
    before = path.read_bytes()
    result = run_cli("models", "set", f"lmstudio/{model_id}")
    assert result.returncode == 1
    assert "Invalid model ref" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before
    assert "\x07" not in result.output and "id\n" not in result.output
    assert len(result.stderr) < 1000  # a 513-character id is cut short in the message


def test_models_set_accepts_a_512_character_id(isolated_home: Path, lms: FakeLMStudio) -> None:
    write_config(isolated_home, provider_config(lms.base_url))
    result = run_cli("models", "set", "lmstudio/" + "x" * 512)
    assert result.returncode == 0, result.stderr
    primary = json.loads(config_path(isolated_home).read_text())["agents"]["defaults"]["model"]
    assert primary["primary"] == "lmstudio/" + "x" * 512


def _catalog_with_bad_keys() -> list[dict]:
    models = default_models()
    template = models[1]
    for bad in BAD_IDS:
        models.append({**template, "key": bad, "display_name": "bad", "loaded_instances": []})
    return models


@pytest.mark.parametrize("provider", ["lmstudio", "vllm"])
def test_discovery_skips_bad_ids_with_one_warning(
    isolated_home: Path, lms: FakeLMStudio, provider: str
) -> None:
    # lmstudio reads the native catalog; vllm (the generic plugin) reads GET /v1/models.
    lms.set_models(_catalog_with_bad_keys())
    write_config(isolated_home, provider_config(lms.base_url, provider=provider))
    result = run_cli("models", "list", "--refresh", "--json")
    assert result.returncode == 0, result.stderr
    keys = [m["key"] for m in json.loads(result.stdout)["models"]]
    assert f"{provider}/qwen/qwen3-coder-30b" in keys
    for bad in BAD_IDS:
        assert f"{provider}/{bad}" not in keys
    assert result.stderr.count("skipped") == 1
    assert f"skipped {len(BAD_IDS)} model(s)" in result.stderr
    table = run_cli("models", "list", "--refresh")
    assert "evil" not in table.output and "\x07" not in table.output
