"""The Hugging Face hub cache layout, shared with llama.cpp ``-hf`` and huggingface_hub.

    <cache>/models--ORG--REPO/
        blobs/<sha256>                 verified content (LFS files are named by their sha256)
        blobs/<sha256>.part            a download in progress (ours; resumed with Range)
        snapshots/<commit>/<path>  ->  ../../blobs/<sha256>   (relative symlink)
        refs/main                      the commit ``main`` pointed at when we last asked

``<cache>`` is ``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``.
Only verified blobs are ever linked under ``snapshots/``. No network here.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from openclaw.local.spec import check_repo_path

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
PART_SUFFIX = ".part"


def is_commit(text: str) -> bool:
    return bool(_COMMIT.match(text))


def is_sha256(text: str) -> bool:
    return bool(_SHA256.match(text))


def _expand(text: str, env: Mapping[str, str]) -> Path:
    if text == "~" or text.startswith("~/"):
        home = env.get("HOME") or str(Path.home())
        return Path(home) / text[2:]
    return Path(text)


def hub_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if env is None else env
    if environ.get("HF_HUB_CACHE"):
        return _expand(environ["HF_HUB_CACHE"], environ)
    if environ.get("HF_HOME"):
        return _expand(environ["HF_HOME"], environ) / "hub"
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".cache" / "huggingface" / "hub"


def repo_folder_name(repo: str) -> str:
    return "models--" + repo.replace("/", "--")


def repo_from_folder(name: str) -> str | None:
    if not name.startswith("models--"):
        return None
    parts = name[len("models--") :].split("--")
    return f"{parts[0]}/{'--'.join(parts[1:])}" if len(parts) >= 2 else None


@dataclass(frozen=True)
class CachedFile:
    repo: str
    commit: str
    file: str  # path inside the repo
    path: Path  # snapshot path (a symlink to the blob)
    blob: Path
    size: int
    sha256: str | None  # the blob's name when it is a sha256 (LFS files)


class RepoCache:
    """One repo's folder in the cache. Hub names are case-insensitive; an existing folder
    that differs only in case is reused so two spellings never download twice."""

    def __init__(self, cache_dir: Path, repo: str) -> None:
        self.repo = repo
        wanted = repo_folder_name(repo)
        self.root = cache_dir / wanted
        if not self.root.exists() and cache_dir.is_dir():
            for entry in cache_dir.iterdir():
                if entry.name.lower() == wanted.lower():
                    self.root = entry
                    break

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    def blob_path(self, sha256: str) -> Path:
        return self.blobs / sha256

    def part_path(self, sha256: str) -> Path:
        return self.blobs / f"{sha256}{PART_SUFFIX}"

    def snapshot_dir(self, commit: str) -> Path:
        return self.root / "snapshots" / commit

    def snapshot_path(self, commit: str, file: str) -> Path:
        return self.snapshot_dir(commit) / check_repo_path(file)

    def read_ref(self, name: str = "main") -> str | None:
        try:
            text = (self.root / "refs" / name).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return text if is_commit(text) else None

    def write_ref(self, commit: str, name: str = "main") -> None:
        ref = self.root / "refs" / name
        ref.parent.mkdir(parents=True, exist_ok=True)
        tmp = ref.with_name(f".{ref.name}.{os.getpid()}.tmp")
        tmp.write_text(commit, encoding="utf-8")
        os.replace(tmp, ref)

    def link(self, commit: str, file: str, sha256: str) -> Path:
        """Point ``snapshots/<commit>/<file>`` at the (already verified) blob."""
        target = self.snapshot_path(commit, file)
        target.parent.mkdir(parents=True, exist_ok=True)
        blob = self.blob_path(sha256)
        relative = os.path.relpath(blob, target.parent)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            tmp.symlink_to(relative)
        except OSError:
            # No symlinks (Windows without developer mode): a hard link, else a copy.
            try:
                os.link(blob, tmp)
            except OSError:
                shutil.copyfile(blob, tmp)
        os.replace(tmp, target)
        return target

    def cached_files(self) -> list[CachedFile]:
        """Every file linked under ``snapshots/`` whose blob is present."""
        out: list[CachedFile] = []
        snapshots = self.root / "snapshots"
        if not snapshots.is_dir():
            return out
        for commit_dir in sorted(snapshots.iterdir()):
            if not commit_dir.is_dir() or not is_commit(commit_dir.name):
                continue
            for path in sorted(commit_dir.rglob("*")):
                if path.name.startswith(".") or not path.is_file():
                    continue
                blob = path.resolve()
                name = blob.name
                try:
                    size = blob.stat().st_size
                except OSError:
                    continue
                file = path.relative_to(commit_dir).as_posix()
                out.append(
                    CachedFile(
                        self.repo,
                        commit_dir.name,
                        file,
                        path,
                        blob,
                        size,
                        name if is_sha256(name) else None,
                    )
                )
        return out

    def partial_bytes(self) -> int:
        if not self.blobs.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.blobs.glob(f"*{PART_SUFFIX}") if p.is_file())

    def disk_usage(self) -> int:
        """Bytes under the repo folder (each blob counted once, symlinks not followed)."""
        total = 0
        for path in self.root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        return total

    def remove_files(self, files: list[CachedFile]) -> int:
        """Unlink these snapshot entries and every blob no remaining entry uses; returns
        the bytes freed. Removes the repo folder when nothing is left in it."""
        for cached in files:
            cached.path.unlink(missing_ok=True)
        still_used = {c.blob for c in self.cached_files()}
        freed = 0
        blobs_dir = self.blobs.resolve()
        for blob in {c.blob for c in files} - still_used:
            # Only blobs of this repo are deleted, whatever a snapshot link pointed at.
            if blob.is_file() and blob.parent == blobs_dir:
                freed += blob.stat().st_size
                blob.unlink()
        self._prune_empty()
        return freed

    def remove_all(self) -> int:
        freed = self.disk_usage()
        shutil.rmtree(self.root, ignore_errors=True)
        return freed

    def _prune_empty(self) -> None:
        snapshots = self.root / "snapshots"
        if snapshots.is_dir():
            for directory in sorted(snapshots.rglob("*"), key=lambda p: -len(p.parts)):
                if directory.is_dir() and not any(directory.iterdir()):
                    directory.rmdir()
        if not self.cached_files() and not self.partial_bytes():
            shutil.rmtree(self.root, ignore_errors=True)


def cached_repos(env: Mapping[str, str] | None = None) -> list[RepoCache]:
    cache = hub_cache_dir(env)
    if not cache.is_dir():
        return []
    out = []
    for entry in sorted(cache.iterdir()):
        repo = repo_from_folder(entry.name)
        if repo and entry.is_dir():
            out.append(RepoCache(cache, repo))
    return out


def cached_gguf_files(env: Mapping[str, str] | None = None) -> list[CachedFile]:
    """Every GGUF file in the cache (mmproj/imatrix side files left out)."""
    from openclaw.local.spec import is_side_file

    return [
        c
        for repo in cached_repos(env)
        for c in repo.cached_files()
        if c.file.lower().endswith(".gguf") and not is_side_file(c.file)
    ]
