"""The downloader's Python API (what onboarding and the engine call) and its file-choice rules."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from openclaw.errors import DownloadError, UsageError
from openclaw.local.catalog import CATALOG, DEFAULT_MODEL, catalog_by_id
from openclaw.local.download import (
    PulledModel,
    cached_models,
    find_cached,
    pull_model,
    remove_model,
)
from openclaw.local.hf_cache import hub_cache_dir
from openclaw.local.hub import hub_settings
from openclaw.local.spec import parse_spec, select_files
from tests.local.download_helpers import payload
from tests.servers.fake_hub import TINY_FILE, TINY_REPO, FakeHub


def _pull(spec: str, env: dict[str, str], **kwargs: object) -> PulledModel:
    async def run() -> PulledModel:
        return await pull_model(spec, progress=False, env=env, **kwargs)  # type: ignore[arg-type]

    return anyio.run(run)


def test_pull_then_find_cached_without_network(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    repo = fake_hub.add_tiny_model()
    assert find_cached(TINY_REPO, env=hub_env) is None

    pulled = _pull(TINY_REPO, hub_env)
    seen = len(fake_hub.log)
    found = find_cached(f"{TINY_REPO}:Q4_K_M", env=hub_env)

    assert found == pulled
    assert len(fake_hub.log) == seen
    assert pulled.repo == TINY_REPO and pulled.file == TINY_FILE
    assert pulled.commit == repo.commit and pulled.sha256 == repo.sha256(TINY_FILE)
    assert pulled.files == [pulled.path] and pulled.path.read_bytes()[:4] == b"GGUF"
    assert cached_models(hub_env) == [pulled]


def test_cached_models_lists_split_models_once(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    parts = {f"S-Q8_0-0000{i}-of-00002.gguf": payload(5000, f"s{i}") for i in (1, 2)}
    fake_hub.add_repo("acme/S-GGUF", {**parts, "mmproj-S-F16.gguf": payload(10, "mm")})
    pulled = _pull("acme/S-GGUF", hub_env)

    listed = cached_models(hub_env)

    assert [m.file for m in listed] == ["S-Q8_0-00001-of-00002.gguf"]
    assert listed[0].files == pulled.files and len(pulled.files) == 2
    # Half a split model is not a model.
    pulled.files[1].unlink()
    assert cached_models(hub_env) == []
    assert find_cached("acme/S-GGUF", env=hub_env) is None


def test_offline_api_raises_download_error(hub_env: dict[str, str], fake_hub: FakeHub) -> None:
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE=1"):
        _pull("acme/None-GGUF", {**hub_env, "HF_HUB_OFFLINE": "1"})
    assert fake_hub.log == []


def test_remove_model_by_file(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    data = payload(1000, "rm")
    fake_hub.add_repo("acme/R-GGUF", {"R-Q4_K_M.gguf": data})
    pulled = _pull("acme/R-GGUF", hub_env)

    names, freed = remove_model("acme/R-GGUF", file="R-Q4_K_M.gguf", env=hub_env)

    assert (names, freed) == (["R-Q4_K_M.gguf"], len(data))
    assert not pulled.path.exists()
    assert not (hub_cache_dir(hub_env) / "models--acme--R-GGUF").exists()


def test_cache_dir_follows_hf_variables(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert hub_cache_dir({"HOME": home}) == tmp_path / ".cache" / "huggingface" / "hub"
    assert hub_cache_dir({"HOME": home, "HF_HOME": "/x/hf"}) == Path("/x/hf/hub")
    assert hub_cache_dir({"HOME": home, "HF_HOME": "/x", "HF_HUB_CACHE": "~/c"}) == tmp_path / "c"


def test_endpoint_and_token_settings() -> None:
    assert hub_settings({}).endpoint == "https://huggingface.co"
    assert hub_settings({"HF_ENDPOINT": "http://m.local:8080/"}).endpoint == "http://m.local:8080"
    both = hub_settings({"HF_ENDPOINT": "http://a", "MODEL_ENDPOINT": "http://b"})
    assert both.endpoint == "http://b"
    settings = hub_settings({"HF_TOKEN": " t ", "HF_HUB_OFFLINE": "1"})
    assert settings.token == "t" and settings.offline and not settings.allow_private_network
    policy = hub_settings({"HF_ENDPOINT": "http://127.0.0.1:9"}).policy
    assert policy.trusted_origin == ("http", "127.0.0.1", 9)
    assert not policy.allow_private_network and not policy.same_host_redirects_only


FILES = [
    "README.md",
    "M-F16.gguf",
    "M-IQ4_XS.gguf",
    "M-Q4_K_S.gguf",
    "M-Q4_K_M.gguf",
    "M-Q8_0.gguf",
    "mmproj-M-Q4_K_M.gguf",
    "M.imatrix.gguf",
    "Q6_K/M-Q6_K-00001-of-00002.gguf",
    "Q6_K/M-Q6_K-00002-of-00002.gguf",
]


@pytest.mark.parametrize(
    ("spec", "files", "expected"),
    [
        ("a/M", FILES, ["M-Q4_K_M.gguf"]),
        ("a/M:q4_k_s", FILES, ["M-Q4_K_S.gguf"]),
        ("a/M:IQ4_XS", FILES, ["M-IQ4_XS.gguf"]),
        ("a/M:Q6_K", FILES, ["Q6_K/M-Q6_K-00001-of-00002.gguf", "Q6_K/M-Q6_K-00002-of-00002.gguf"]),
        ("a/M", ["M-F16.gguf", "M-Q8_0.gguf", "mmproj-Q4_K_M.gguf"], ["M-Q8_0.gguf"]),
        ("a/M", ["b-F16.gguf", "a-BF16.gguf", "x.imatrix"], ["a-BF16.gguf"]),
    ],
)
def test_file_choice_follows_llama_cpp(spec: str, files: list[str], expected: list[str]) -> None:
    assert select_files(parse_spec(spec), files) == expected


def test_a_tag_matches_whole_tokens_only() -> None:
    with pytest.raises(DownloadError, match="no GGUF file for quantisation Q4_K"):
        select_files(parse_spec("a/M:Q4_K"), ["M-Q4_K_M.gguf", "M-Q4_K_S.gguf"])


def test_file_option_takes_split_siblings() -> None:
    chosen = select_files(parse_spec("a/M", file="M-Q6_K-00002-of-00002.gguf"), FILES)
    assert chosen == ["Q6_K/M-Q6_K-00001-of-00002.gguf", "Q6_K/M-Q6_K-00002-of-00002.gguf"]


def test_catalog_ids_and_entries() -> None:
    spec = parse_spec("qwen2.5-1.5b")
    assert (spec.repo, spec.file) == (DEFAULT_MODEL.repo, DEFAULT_MODEL.file)
    assert DEFAULT_MODEL.sha256 == (
        "50961d9b7d3b89e46be230528fc66d38bbdda8ac3748323dd34f129a714124fc"
    )
    assert all(m.license and m.file.endswith(".gguf") for m in CATALOG)
    qwen3 = catalog_by_id("qwen3-1.7b")
    assert qwen3 is not None
    assert qwen3.row["params"]["chat_template_kwargs"] == {"enable_thinking": False}


@pytest.mark.parametrize("bad", ["", "x", "a/b/c", "../b", "a/..", "a/b:", "a/b:Q4 K", "a\x1b/b"])
def test_bad_specs_are_refused(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_spec(bad)
