"""Issue 14 point 11: impossible context sizes.

From a server (LM Studio's ``max_context_length`` and loaded ``context_length``): negative,
NaN, 1e30, strings and booleans are ignored with a warning and shown as unknown, never
turned into the 128k default. In the config: a ``contextWindow`` above 2^31 is refused by
``config set`` and warned about (with its path) when read, as the TypeScript CLI accepts it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.servers.fake_lmstudio import FakeLMStudio, default_models

from .conftest import config_path, provider_config, write_config

IMPOSSIBLE = {"negative": -5, "nan": float("nan"), "huge": 1e30, "string": "32768", "bool": True}


def _catalog() -> list[dict]:
    models = default_models()
    template = models[1]  # an unloaded LLM
    for name, value in IMPOSSIBLE.items():
        models.append({**template, "key": f"bad/{name}", "max_context_length": value})
    models.append(
        {
            **template,
            "key": "bad/loaded",
            "max_context_length": 32768,
            "loaded_instances": [{"id": "bad/loaded", "config": {"context_length": -1}}],
        }
    )
    return models


def test_impossible_server_contexts_are_unknown_with_a_warning(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    lms.set_models(_catalog())
    write_config(isolated_home, provider_config(lms.base_url))
    result = run_cli("models", "list", "--refresh", "--json")
    assert result.returncode == 0, result.stderr
    rows = {m["key"]: m for m in json.loads(result.stdout)["models"]}
    for name, value in IMPOSSIBLE.items():
        row = rows[f"lmstudio/bad/{name}"]
        assert row["contextWindow"] is None, (name, row)
        assert "contextTokens" not in row
        assert f"bad/{name} reported an impossible max_context_length {value!r}" in result.stderr
    # an impossible loaded context is ignored: the model counts as not loaded
    loaded = rows["lmstudio/bad/loaded"]
    assert loaded["contextWindow"] == 32768 and "loaded" not in loaded["tags"]
    assert "bad/loaded reported an impossible loaded context_length -1" in result.stderr
    assert rows["lmstudio/qwen/qwen3-coder-30b"]["contextWindow"] == 262144
    table = run_cli("models", "list", "--refresh")
    line = next(x for x in table.stdout.splitlines() if x.startswith("lmstudio/bad/huge"))
    assert " - " in line and "128k" not in line


ROW_PATH = "models.providers.lmstudio.models.0.contextWindow"


@pytest.mark.parametrize(("value", "accepted"), [("2147483648", True), ("2147483649", False)])
def test_config_set_refuses_context_above_2_31(
    isolated_home: Path, lms: FakeLMStudio, value: str, accepted: bool
) -> None:
    path = write_config(isolated_home, provider_config(lms.base_url))
    before = path.read_bytes()
    result = run_cli("config", "set", ROW_PATH, value)
    assert (result.returncode == 0) is accepted, result.stderr
    if not accepted:
        assert ROW_PATH in result.stderr and "Traceback" not in result.stderr
        assert path.read_bytes() == before


def test_context_above_2_31_in_the_file_is_warned_about(
    isolated_home: Path, lms: FakeLMStudio
) -> None:
    data = provider_config(lms.base_url)
    data["models"]["providers"]["lmstudio"]["models"][0]["contextWindow"] = 2**32
    write_config(isolated_home, data)
    for args in (("models", "list"), ("config", "validate")):
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr
        assert f"Warning: {ROW_PATH} is {2**32}" in result.stderr
    # unrelated writes still work; the value is kept as the user (or the TS CLI) wrote it
    assert run_cli("config", "set", "models.providers.lmstudio.models.0.name", "Q").returncode == 0
    row = json.loads(config_path(isolated_home).read_text())["models"]["providers"]["lmstudio"]
    assert row["models"][0]["contextWindow"] == 2**32
