"""`openclaw models pull` / `rm` against a loopback fake of the hub and its CDN, as a user runs
them: real subprocesses, real files in the HF cache layout, the fake's request log as witness."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from openclaw.local.catalog import CATALOG, DEFAULT_MODEL
from tests.conftest import run_cli
from tests.local.download_helpers import payload, sha256, tree_files
from tests.servers.fake_hub import TINY_FILE, TINY_REPO, FakeHub

MB = 1_000_000


def _pull(env: dict[str, str], *args: str) -> tuple[int, dict | None, str]:
    result = run_cli("models", "pull", *args, "--json", env=env)
    data = json.loads(result.stdout) if result.returncode == 0 else None
    return result.returncode, data, result.stderr


def test_fresh_pull_writes_the_hf_cache_layout(
    fake_hub: FakeHub, hub_env: dict[str, str], cache_dir: Path
) -> None:
    data = payload(2 * MB, "fresh")
    repo = fake_hub.add_repo("acme/Tiny-GGUF", {"Tiny-Q4_K_M.gguf": data})

    code, out, err = _pull(hub_env, "acme/Tiny-GGUF")

    assert code == 0, err
    assert out is not None
    sha = sha256(data)
    root = cache_dir / "models--acme--Tiny-GGUF"
    snapshot = root / "snapshots" / repo.commit / "Tiny-Q4_K_M.gguf"
    assert out["path"] == str(snapshot)
    assert (out["size"], out["sha256"], out["commit"]) == (len(data), sha, repo.commit)
    assert snapshot.is_symlink() and os.readlink(snapshot) == f"../../blobs/{sha}"
    assert snapshot.read_bytes() == data
    assert (root / "refs" / "main").read_text() == repo.commit
    assert not [p for p in tree_files(root) if p.endswith(".part")]
    # The protocol llama.cpp speaks: commit, tree, resolve (302) on the hub, then the CDN.
    hub_paths = [s.path.split("?")[0] for s in fake_hub.requests("hub")]
    assert hub_paths == [
        "/api/models/acme/Tiny-GGUF/revision/main",
        f"/api/models/acme/Tiny-GGUF/tree/{repo.commit}",
        f"/acme/Tiny-GGUF/resolve/{repo.commit}/Tiny-Q4_K_M.gguf",
    ]
    assert [(s.method, s.status) for s in fake_hub.requests("cdn")] == [("GET", 200)]
    assert "sha256 verified" in err


def test_second_pull_uses_the_verified_blob(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    fake_hub.add_tiny_model()
    first = _pull(hub_env, TINY_REPO)
    second = _pull(hub_env, TINY_REPO)

    assert first[0] == second[0] == 0
    assert first[1] == second[1]
    assert len(fake_hub.requests("cdn")) == 1
    assert "already downloaded" in second[2]


def test_tiny_scripted_gguf_is_served_as_a_repo(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    repo = fake_hub.add_tiny_model()
    code, out, err = _pull(hub_env, f"{TINY_REPO}:Q4_K_M")

    assert code == 0, err
    assert out is not None and out["file"] == TINY_FILE
    assert Path(out["path"]).read_bytes()[:4] == b"GGUF"
    assert out["sha256"] == repo.sha256(TINY_FILE)


def test_token_goes_to_the_hub_and_never_to_the_cdn(
    fake_hub: FakeHub, hub_env: dict[str, str]
) -> None:
    token = "hf_secretTOKEN1234567890"
    fake_hub.add_repo(
        "acme/Gated-GGUF", {"G-Q4_K_M.gguf": payload(300_000, "g")}, gated_token=token
    )

    result = run_cli("models", "pull", "acme/Gated-GGUF", env={**hub_env, "HF_TOKEN": token})

    assert result.returncode == 0, result.stderr
    hub_auth = {s.headers.get("authorization") for s in fake_hub.requests("hub")}
    assert hub_auth == {f"Bearer {token}"}
    cdn = fake_hub.requests("cdn")
    assert cdn and all("authorization" not in s.headers for s in cdn)
    assert token not in result.output


def test_gated_repo_without_token_is_one_clear_line(
    fake_hub: FakeHub, hub_env: dict[str, str], cache_dir: Path
) -> None:
    fake_hub.add_repo("acme/Gated-GGUF", {"G-Q4_K_M.gguf": b"x" * 100}, gated_token="t0k")

    result = run_cli("models", "pull", "acme/Gated-GGUF", env=hub_env)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (
        "Error: Access to acme/Gated-GGUF was refused (HTTP 401): the repo is gated or private"
    )
    assert "HF_TOKEN" in lines[1] and len(lines) == 2
    assert "Traceback" not in result.output
    assert not fake_hub.requests("cdn")
    assert not snapshots_of(cache_dir)


def snapshots_of(cache: Path) -> list[str]:
    return [p for p in tree_files(cache) if "/snapshots/" in p]


def test_missing_repo_is_one_clear_line(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    result = run_cli("models", "pull", "nobody/Nothing-GGUF:Q8_0", env=hub_env)

    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "Error: Model repo nobody/Nothing-GGUF was not found on the hub"
    )
    assert "Traceback" not in result.output


def test_unknown_quant_names_the_files_there_are(
    fake_hub: FakeHub, hub_env: dict[str, str]
) -> None:
    fake_hub.add_repo("acme/M-GGUF", {"M-Q8_0.gguf": b"a" * 10, "M-F16.gguf": b"b" * 10})

    result = run_cli("models", "pull", "acme/M-GGUF:Q2_K", env=hub_env)

    assert result.returncode == 1
    assert "acme/M-GGUF has no GGUF file for quantisation Q2_K" in result.stderr
    assert "M-F16.gguf" in result.stderr and "M-Q8_0.gguf" in result.stderr


def test_quant_selection_on_the_wire(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    files = {
        "M-F16.gguf": payload(1000, "f16"),
        "M-Q8_0.gguf": payload(1000, "q8"),
        "M-Q4_K_M.gguf": payload(1000, "q4"),
        "mmproj-M-Q4_K_M.gguf": payload(1000, "mm"),
        "M.imatrix": payload(10, "im"),
    }
    fake_hub.add_repo("acme/M-GGUF", files)

    assert _pull(hub_env, "acme/M-GGUF")[1]["file"] == "M-Q4_K_M.gguf"  # type: ignore[index]
    assert _pull(hub_env, "acme/M-GGUF:q8_0")[1]["file"] == "M-Q8_0.gguf"  # type: ignore[index]
    exact = _pull(hub_env, "acme/M-GGUF", "--file", "M-F16.gguf")[1]
    assert exact is not None and Path(exact["path"]).read_bytes() == files["M-F16.gguf"]


def test_split_model_is_downloaded_whole(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    parts = {
        f"Q4_K_M/Big-Q4_K_M-0000{i}-of-00003.gguf": payload(200_000 + i, f"p{i}") for i in (1, 2, 3)
    }
    fake_hub.add_repo("acme/Big-GGUF", {**parts, "Big-Q8_0.gguf": payload(100, "q8")})

    code, out, err = _pull(hub_env, "acme/Big-GGUF")

    assert code == 0, err
    assert out is not None
    names = sorted(parts)
    assert out["file"] == names[0]
    assert [Path(p).read_bytes() for p in out["files"]] == [parts[n] for n in names]
    assert out["size"] == sum(len(v) for v in parts.values())
    assert len(fake_hub.requests("cdn")) == 3


def test_unsafe_path_in_the_tree_is_refused(
    fake_hub: FakeHub, hub_env: dict[str, str], isolated_home: Path
) -> None:
    fake_hub.add_repo("acme/Evil-GGUF", {"../../../evil-Q4_K_M.gguf": b"x" * 10})

    result = run_cli("models", "pull", "acme/Evil-GGUF", env=hub_env)

    assert result.returncode == 1
    assert "unsafe file path" in result.stderr
    assert not list(isolated_home.rglob("evil-Q4_K_M.gguf"))
    assert not fake_hub.requests("cdn")


def test_cdn_on_a_private_address_needs_the_opt_in(
    fake_hub: FakeHub, hub_env: dict[str, str]
) -> None:
    fake_hub.add_tiny_model()
    env = {k: v for k, v in hub_env.items() if k != "OPENCLAW_HUB_ALLOW_PRIVATE_NETWORK"}

    result = run_cli("models", "pull", TINY_REPO, env=env)

    # The configured hub origin (loopback) is trusted exactly; its redirect target is not.
    assert result.returncode == 1
    assert "blocked by the network guard" in result.stderr
    assert "OPENCLAW_HUB_ALLOW_PRIVATE_NETWORK=1" in result.stderr
    assert len(fake_hub.requests("hub")) == 3
    assert not fake_hub.requests("cdn")


def test_offline_without_cache_sends_nothing(fake_hub: FakeHub, hub_env: dict[str, str]) -> None:
    fake_hub.add_tiny_model()

    result = run_cli("models", "pull", TINY_REPO, env={**hub_env, "HF_HUB_OFFLINE": "1"})

    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert TINY_REPO in first and "HF_HUB_OFFLINE=1" in first and "offline" in first
    assert fake_hub.log == []


def test_offline_with_cache_uses_it_without_a_request(
    fake_hub: FakeHub, hub_env: dict[str, str]
) -> None:
    fake_hub.add_tiny_model()
    online = _pull(hub_env, TINY_REPO)
    seen = len(fake_hub.log)

    offline = _pull({**hub_env, "HF_HUB_OFFLINE": "1"}, TINY_REPO)

    assert offline[0] == 0 and offline[1] == online[1]
    assert len(fake_hub.log) == seen


def test_unreachable_hub_falls_back_to_the_cache(
    fake_hub: FakeHub, hub_env: dict[str, str]
) -> None:
    fake_hub.add_tiny_model()
    online = _pull(hub_env, TINY_REPO)
    fake_hub.stop()

    code, out, err = _pull(hub_env, TINY_REPO)

    assert code == 0 and out == online[1]
    assert "unreachable" in err


def test_list_shows_the_catalog_and_what_is_downloaded(
    fake_hub: FakeHub, hub_env: dict[str, str]
) -> None:
    small = next(m for m in CATALOG if m.id == "qwen2.5-0.5b")
    assert not small.pinned  # a real pinned hash could not match the fake's bytes
    fake_hub.add_repo(small.repo, {small.file: payload(50_000, "small")})
    assert _pull(hub_env, small.id)[0] == 0

    listed = run_cli("models", "pull", "--list", env=hub_env)
    as_json = json.loads(run_cli("models", "pull", "--list", "--json", env=hub_env).stdout)

    assert listed.returncode == 0
    rows = {
        line.lstrip(" *").split()[0]: line
        for line in listed.stdout.splitlines()
        if line.startswith(" ")
    }
    assert "downloaded" in rows[small.id] and "not downloaded" not in rows[small.id]
    assert "not downloaded" in rows[DEFAULT_MODEL.id]
    assert "sha256 pinned" in rows[DEFAULT_MODEL.id] and "Apache-2.0" in rows[DEFAULT_MODEL.id]
    by_id = {row["id"]: row for row in as_json["catalog"]}
    assert by_id[small.id]["downloaded"] is True
    assert by_id[DEFAULT_MODEL.id]["default"] is True
    assert by_id[DEFAULT_MODEL.id]["sha256"] == DEFAULT_MODEL.sha256
    assert as_json["diskUsage"] >= 50_000


def test_pinned_catalog_hash_guards_the_default_model(
    fake_hub: FakeHub, hub_env: dict[str, str], cache_dir: Path
) -> None:
    # A hub serving other bytes under the default model's name is refused before downloading.
    fake_hub.add_repo(DEFAULT_MODEL.repo, {DEFAULT_MODEL.file: payload(1000, "impostor")})

    result = run_cli("models", "pull", DEFAULT_MODEL.spec, env=hub_env)

    assert result.returncode == 1
    assert f"catalog pins {DEFAULT_MODEL.sha256}" in result.stderr
    assert not fake_hub.requests("cdn")
    assert not snapshots_of(cache_dir)


def test_rm_deletes_the_download(
    fake_hub: FakeHub, hub_env: dict[str, str], cache_dir: Path
) -> None:
    files = {"M-Q4_K_M.gguf": payload(40_000, "a"), "M-Q8_0.gguf": payload(40_000, "b")}
    fake_hub.add_repo("acme/M-GGUF", files)
    assert _pull(hub_env, "acme/M-GGUF:Q4_K_M")[0] == 0
    assert _pull(hub_env, "acme/M-GGUF:Q8_0")[0] == 0

    one = run_cli("models", "rm", "acme/M-GGUF:Q8_0", "--json", env=hub_env)

    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout) == {"removed": ["M-Q8_0.gguf"], "freed": 40_000}
    left = tree_files(cache_dir / "models--acme--M-GGUF" / "blobs")
    assert left == [sha256(files["M-Q4_K_M.gguf"])]

    whole = run_cli("models", "rm", "acme/M-GGUF", env=hub_env)
    assert whole.returncode == 0
    assert not (cache_dir / "models--acme--M-GGUF").exists()

    again = run_cli("models", "rm", "acme/M-GGUF", env=hub_env)
    assert again.returncode == 1
    assert again.stderr.splitlines()[0] == "Error: acme/M-GGUF is not in the local model cache"


@pytest.mark.parametrize("bad", ["acme", "acme/../x", "a/b/c", "acme/x:Q4 K"])
def test_bad_spec_is_a_usage_error(bad: str, hub_env: dict[str, str], fake_hub: FakeHub) -> None:
    result = run_cli("models", "pull", bad, env=hub_env)

    assert result.returncode == 1
    assert result.stderr.startswith("Error: Not a ")
    assert fake_hub.log == []
