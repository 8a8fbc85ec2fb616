"""Model specs (``ORG/REPO[:QUANT]``, a catalog id, or ``--file NAME``) and which files they mean.

The rules follow llama.cpp's ``-hf`` option so the same spec picks the same file in both:
without a tag prefer Q4_K_M, then Q8_0, then the first GGUF; never pick mmproj/imatrix/mtp
side files; a split model (``-00001-of-00003.gguf``) is always taken as a whole.
Names and paths come from the hub, so they are validated before they touch the filesystem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from openclaw.errors import DownloadError, UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_QUANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
_SIDE_FILES = ("mmproj", "imatrix", "mtp")
PREFERRED_QUANTS = ("Q4_K_M", "Q8_0")


@dataclass(frozen=True)
class ModelSpec:
    repo: str  # ORG/REPO as typed (hub names are case-insensitive; we keep the user's case)
    quant: str | None
    file: str | None  # --file NAME, or the file a catalog id names
    catalog_id: str | None = None

    @property
    def display(self) -> str:
        if self.file:
            return f"{self.repo} ({self.file})"
        return f"{self.repo}:{self.quant}" if self.quant else self.repo


def check_repo(repo: str) -> str:
    parts = repo.split("/")
    if len(parts) != 2 or not all(_NAME.match(p) for p in parts) or ".." in repo:
        raise UsageError(
            f"Not a model repo name: {safe_text(repo)!r}",
            hint="Use ORG/REPO[:QUANT], e.g. bartowski/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M, "
            "or a catalog id from `openclaw models pull --list`.",
        )
    return repo


def safe_text(text: str, limit: int = 120) -> str:
    """Untrusted text fit for one terminal line: no control characters, bounded."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def check_repo_path(path: str) -> str:
    """A file path from the hub's tree, safe to join under a snapshot directory."""
    parts = path.split("/")
    if (
        not path
        or len(path) > 400
        or path.startswith("/")
        or "\\" in path
        or any(p in ("", ".", "..") for p in parts)
        or any(not ch.isprintable() for ch in path)
        or ":" in path
    ):
        raise DownloadError(f"The hub listed an unsafe file path: {safe_text(path)!r}")
    return path


def parse_spec(text: str, *, file: str | None = None) -> ModelSpec:
    """``ORG/REPO[:QUANT]`` or a catalog id; ``file`` is ``--file NAME``."""
    from openclaw.local.catalog import catalog_by_id

    raw = text.strip()
    entry = catalog_by_id(raw)
    if entry is not None:
        return ModelSpec(entry.repo, entry.quant, file or entry.file, catalog_id=entry.id)
    repo, sep, quant = raw.partition(":")
    check_repo(repo)
    if sep and not _QUANT.match(quant):
        raise UsageError(
            f"Not a quantisation tag: {safe_text(quant)!r}",
            hint="Tags look like Q4_K_M, Q8_0 or IQ4_XS.",
        )
    if file is not None:
        check_repo_path(file)
    return ModelSpec(repo, quant or None, file)


def is_side_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return any(marker in name for marker in _SIDE_FILES)


def split_parts(path: str, all_paths: Iterable[str]) -> list[str]:
    """All parts of the split model ``path`` belongs to, in order (just ``[path]`` if none)."""
    match = _SPLIT.match(path)
    if not match:
        return [path]
    stem, count = match["stem"], match["count"]
    wanted = {f"{stem}-{i:05d}-of-{count}.gguf".lower() for i in range(1, int(count) + 1)}
    parts = sorted(p for p in all_paths if p.lower() in wanted)
    return parts


def _tag_pattern(tag: str) -> re.Pattern[str]:
    # A tag matches as a whole token: "Q4_K" must not pick "Q4_K_M".
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(tag)}(?![A-Za-z0-9_])", re.IGNORECASE)


def _first_with_tag(candidates: list[str], tag: str) -> str | None:
    pattern = _tag_pattern(tag)
    matches = [p for p in candidates if pattern.search(p)]
    if not matches:
        return None
    # Prefer a single file, then part one of a split model.
    return sorted(matches, key=lambda p: (_SPLIT.match(p) is not None, p))[0]


def select_files(spec: ModelSpec, paths: Iterable[str]) -> list[str]:
    """The repo paths ``spec`` means among ``paths``; DownloadError names what exists."""
    all_paths = list(paths)
    ggufs = sorted(p for p in all_paths if p.lower().endswith(".gguf") and not is_side_file(p))
    if spec.file is not None:
        exact = [p for p in all_paths if p == spec.file]
        if not exact:
            exact = [p for p in all_paths if p.rsplit("/", 1)[-1] == spec.file]
        if len(exact) != 1:
            raise DownloadError(
                f"{spec.repo} has no file named {safe_text(spec.file)!r}",
                hint=_available_hint(ggufs),
            )
        return split_parts(exact[0], all_paths)
    if not ggufs:
        raise DownloadError(f"{spec.repo} has no GGUF model file", hint=_available_hint(all_paths))
    # A split model counts once, by its first part.
    firsts = [p for p in ggufs if (m := _SPLIT.match(p)) is None or int(m["index"]) == 1]
    if spec.quant:
        chosen = _first_with_tag(firsts, spec.quant)
        if chosen is None:
            raise DownloadError(
                f"{spec.repo} has no GGUF file for quantisation {spec.quant}",
                hint=_available_hint(firsts),
            )
    else:
        chosen = next(
            (c for tag in PREFERRED_QUANTS if (c := _first_with_tag(firsts, tag)) is not None),
            firsts[0] if firsts else ggufs[0],
        )
    return split_parts(chosen, all_paths)


def _available_hint(paths: list[str]) -> str:
    if not paths:
        return "The repo lists no files."
    shown = ", ".join(safe_text(p, 80) for p in paths[:8])
    more = f" and {len(paths) - 8} more" if len(paths) > 8 else ""
    return f"Available: {shown}{more}. Pick one with :QUANT or --file NAME."
