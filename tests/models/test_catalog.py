from __future__ import annotations

import json
from pathlib import Path

from openclaw.config.loader import load_config
from openclaw.models.catalog import (
    configured_catalog,
    default_model_ref,
    fallback_refs,
    find_entry,
    resolved_default_ref,
)
from openclaw.models.listing import build_rows, format_ctx, render_table

FIXTURE = Path(__file__).parent.parent / "cli" / "fixtures" / "reference_openclaw.json"


def install(home: Path, data: dict) -> None:
    path = home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_rows_get_defaults_from_provider(isolated_home: Path) -> None:
    install(isolated_home, {"models": {"providers": {"lmstudio": {
        "baseUrl": "http://localhost:1234/v1", "contextWindow": 65536, "maxTokens": 2048,
        "models": [{"id": "qwen/qwen3.5-9b"}, {"id": "big", "contextWindow": 131072}]}}}})  # fmt: skip
    cfg = load_config()
    first, second = configured_catalog(cfg)
    assert first.key == "lmstudio/qwen/qwen3.5-9b"
    assert first.row["name"] == "qwen/qwen3.5-9b" and first.row["input"] == ["text"]
    assert first.row["reasoning"] is False and first.row["contextWindow"] == 65536
    assert second.row["contextWindow"] == 131072 and second.row["maxTokens"] == 2048
    assert find_entry(cfg, "lmstudio/big") == second
    assert find_entry(cfg, "lmstudio/none") is None
    assert resolved_default_ref(cfg) == "lmstudio/qwen/qwen3.5-9b"  # first configured model


def test_selection_string_or_object(isolated_home: Path) -> None:
    install(isolated_home, {"agents": {"defaults": {"model": "lmstudio/a"}}})
    assert default_model_ref(load_config()) == "lmstudio/a"
    install(
        isolated_home,
        {"agents": {"defaults": {"model": {"primary": "lmstudio/a", "fallbacks": ["lmstudio/b"]}}}},
    )
    cfg = load_config()
    assert default_model_ref(cfg) == "lmstudio/a" and fallback_refs(cfg) == ["lmstudio/b"]


def test_ctx_format() -> None:
    assert format_ctx(32768, 262144) == "33k/262k"
    assert format_ctx(4096, 32768) == "4k/33k"
    assert format_ctx(None, 128000) == "128k"
    assert format_ctx(None, None) == "-"


def test_reference_table_matches_observed(isolated_home: Path) -> None:
    data = json.loads(FIXTURE.read_text())
    install(isolated_home, data)
    rows = build_rows(load_config())
    assert render_table(rows).splitlines() == [
        "Model                                      Input      Ctx         Local Auth  Tags",
        "lmstudio/google/gemma-3-1b                 text       4k/33k      yes   yes",
        "lmstudio/qwen/qwen3-coder-30b              text       64k/262k    yes   yes",
        "lmstudio/qwen/qwen3.5-9b                   text+image 33k/262k    yes   yes   default",
    ]


def test_tags_and_missing_rows(isolated_home: Path) -> None:
    install(isolated_home, {
        "models": {"providers": {"lmstudio": {"baseUrl": "http://127.0.0.1:1234/v1", "apiKey": "lmstudio-local",
                                              "models": [{"id": "a", "input": ["text", "image"]}, {"id": "b"}]}}},
        "agents": {"defaults": {"model": {"primary": "lmstudio/a", "fallbacks": ["lmstudio/b", "lmstudio/gone"]},
                                "imageModel": "lmstudio/a",
                                "models": {"lmstudio/a": {"alias": "fast"}}}},
    })  # fmt: skip
    rows = {r.key: r for r in build_rows(load_config())}
    assert rows["lmstudio/a"].tags == ["default", "image", "configured", "alias:fast"]
    assert rows["lmstudio/a"].local and rows["lmstudio/a"].available
    assert rows["lmstudio/b"].tags == ["fallback#1"]
    gone = rows["lmstudio/gone"]
    assert gone.missing and gone.tags == ["fallback#2", "missing"]
    assert gone.to_json()["missing"] is True
    assert "missing" not in rows["lmstudio/b"].to_json()
