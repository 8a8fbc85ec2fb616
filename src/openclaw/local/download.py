"""Pull GGUF models from a Hugging Face hub into the shared HF cache: resumable, verified.

One blob at a time: ``blobs/<sha256>.part`` grows with ``Range: bytes=N-`` requests across
retries *and* across runs (Ctrl-C, a crash, SIGKILL); its sha256 is computed while streaming
(an existing part is re-read once on resume) and must equal the tree's ``lfs.oid`` and the
catalog's pinned hash before the part becomes ``blobs/<sha256>`` and is linked under
``snapshots/``. A mismatch deletes the part. Nothing unverified is ever linked.

Retries: a cut connection, a stall (no bytes for ``OPENCLAW_DOWNLOAD_STALL_SECONDS``, default
30), 408/5xx and 429 (``Retry-After`` honoured) are retried with doubling back-off; the count
starts again whenever bytes arrived. Knobs are environment variables, not config keys.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from openclaw.errors import DownloadError, NetworkError, SsrfBlockedError
from openclaw.local.hf_cache import CachedFile, RepoCache, cached_repos, hub_cache_dir
from openclaw.local.hub import Hub, HubFile, HubSettings, check_status, explain_block, hub_settings
from openclaw.local.progress import Progress, human_bytes, make_progress
from openclaw.local.spec import ModelSpec, parse_spec, safe_text, select_files, split_parts

if TYPE_CHECKING:
    import httpx2

_CHUNK_HINT = "Run the same command again: the download resumes where it stopped."


@dataclass
class PulledModel:
    repo: str
    file: str  # path inside the repo of the first (or only) file
    commit: str
    path: Path  # snapshot path of the first (or only) file: what an engine loads
    size: int  # total bytes over all files
    sha256: str  # of the first file ("" when the cache holds it under a non-sha name)
    files: list[Path] = field(default_factory=list)  # every snapshot path (split parts in order)


@dataclass(frozen=True)
class DownloadSettings:
    stall_seconds: float = 30.0
    retries: int = 6
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    max_retry_after_seconds: float = 300.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DownloadSettings:
        def number(name: str, default: float) -> float:
            try:
                value = float(env.get(name, ""))
            except ValueError:
                return default
            return value if value >= 0 else default

        return cls(
            stall_seconds=max(number("OPENCLAW_DOWNLOAD_STALL_SECONDS", 30.0), 0.1),
            retries=int(number("OPENCLAW_DOWNLOAD_RETRIES", 6)),
            backoff_seconds=number("OPENCLAW_DOWNLOAD_BACKOFF_SECONDS", 1.0),
        )

    def backoff(self, failures: int) -> float:
        return float(
            min(self.backoff_seconds * 2 ** max(failures - 1, 0), self.max_backoff_seconds)
        )


class _Retry(Exception):
    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class _StartOver(Exception):
    """The server's idea of the file does not match the part: begin again from byte 0."""


# --- public API ----------------------------------------------------------------------------


async def pull_model(
    spec: str,
    *,
    file: str | None = None,
    progress: bool = True,
    env: Mapping[str, str] | None = None,
) -> PulledModel:
    """Download ``spec`` (``ORG/REPO[:QUANT]`` or a catalog id) into the HF cache.

    Already-verified blobs are not fetched again. Offline (``HF_HUB_OFFLINE=1``) only the
    cache is used and no request is sent. Raises DownloadError with one clear line.
    """
    environ = dict(os.environ if env is None else env)
    parsed = parse_spec(spec, file=file)
    settings = hub_settings(environ)
    if settings.offline:
        found = _find_cached(parsed, environ)
        if found is None:
            raise DownloadError(
                f"{parsed.display} is not in the local model cache, and HF_HUB_OFFLINE=1 "
                "(offline mode) forbids downloading it",
                hint="Unset HF_HUB_OFFLINE to download it.",
            )
        return found
    return await _pull_online(parsed, settings, environ, progress)


def find_cached(
    spec: str, *, file: str | None = None, env: Mapping[str, str] | None = None
) -> PulledModel | None:
    """The cached files ``spec`` means, or None. No network."""
    environ = os.environ if env is None else env
    return _find_cached(parse_spec(spec, file=file), environ)


def cached_models(env: Mapping[str, str] | None = None) -> list[PulledModel]:
    """Every complete GGUF model in the cache (a split model once, by its first part)."""
    from openclaw.local.spec import is_side_file

    out: list[PulledModel] = []
    for repo_cache in cached_repos(env):
        files = repo_cache.cached_files()
        for commit in _commit_order(repo_cache, files):
            in_commit = [c for c in files if c.commit == commit]
            paths = [c.file for c in in_commit]
            for cached in in_commit:
                if not cached.file.lower().endswith(".gguf") or is_side_file(cached.file):
                    continue
                group = split_parts(cached.file, paths)
                if group[0] != cached.file:
                    continue
                model = _model_from(repo_cache.repo, commit, group, in_commit)
                if model is not None:
                    out.append(model)
    return out


def remove_model(
    spec: str, *, file: str | None = None, env: Mapping[str, str] | None = None
) -> tuple[list[str], int]:
    """Delete a download from the cache: the whole repo for a bare ``ORG/REPO``, else the
    files the tag or ``--file`` selects. Returns (files removed, bytes freed)."""
    environ = os.environ if env is None else env
    parsed = parse_spec(spec, file=file)
    repo_cache = RepoCache(hub_cache_dir(environ), parsed.repo)
    if not repo_cache.root.is_dir():
        raise DownloadError(f"{parsed.display} is not in the local model cache")
    if parsed.quant is None and parsed.file is None:
        names = sorted({c.file for c in repo_cache.cached_files()})
        return names, repo_cache.remove_all()
    chosen = _find_cached(parsed, environ)
    if chosen is None:
        raise DownloadError(f"{parsed.display} is not in the local model cache")
    wanted = {Path(p) for p in chosen.files}
    victims = [c for c in repo_cache.cached_files() if c.path in wanted]
    return sorted({c.file for c in victims}), repo_cache.remove_files(victims)


# --- cache look-ups ------------------------------------------------------------------------


def _commit_order(repo_cache: RepoCache, files: list[CachedFile]) -> list[str]:
    """refs/main first, then other snapshots, newest first."""
    commits = sorted(
        {c.commit for c in files},
        key=lambda commit: -repo_cache.snapshot_dir(commit).stat().st_mtime,
    )
    main = repo_cache.read_ref()
    if main in commits:
        commits.remove(main)
        commits.insert(0, main)
    return commits


def _model_from(
    repo: str, commit: str, group: list[str], in_commit: list[CachedFile]
) -> PulledModel | None:
    by_file = {c.file: c for c in in_commit}
    first = group[0]
    if not _complete_split(group) or any(name not in by_file for name in group):
        return None
    head = by_file[first]
    return PulledModel(
        repo=repo,
        file=first,
        commit=commit,
        path=head.path,
        size=sum(by_file[name].size for name in group),
        sha256=head.sha256 or "",
        files=[by_file[name].path for name in group],
    )


def _complete_split(group: list[str]) -> bool:
    import re

    match = re.search(r"-(\d{5})-of-(\d{5})\.gguf$", group[0], re.IGNORECASE)
    return match is None or len(group) == int(match.group(2))


def _find_cached(parsed: ModelSpec, env: Mapping[str, str]) -> PulledModel | None:
    repo_cache = RepoCache(hub_cache_dir(env), parsed.repo)
    files = repo_cache.cached_files()
    for commit in _commit_order(repo_cache, files):
        in_commit = [c for c in files if c.commit == commit]
        try:
            group = select_files(parsed, [c.file for c in in_commit])
        except DownloadError:
            continue
        model = _model_from(repo_cache.repo, commit, group, in_commit)
        if model is not None:
            return model
    return None


# --- online pull ---------------------------------------------------------------------------


async def _pull_online(
    parsed: ModelSpec, settings: HubSettings, env: Mapping[str, str], progress: bool
) -> PulledModel:
    import httpx2

    from openclaw.local.hub import HubUnreachableError
    from openclaw.net.client import async_client

    tuning = DownloadSettings.from_env(env)
    repo_cache = RepoCache(hub_cache_dir(env), parsed.repo)
    report = make_progress(progress)
    timeout = httpx2.Timeout(30.0, read=tuning.stall_seconds)
    async with async_client(settings.policy, timeout=timeout) as client:
        hub = Hub(settings, client)
        try:
            commit = await hub.commit(parsed.repo)
        except HubUnreachableError:
            cached = _find_cached(parsed, env)
            if cached is None:
                raise
            report.note(f"The hub is unreachable; using the cached {cached.file}")
            return cached
        listing = await hub.files(parsed.repo, commit)
        chosen = _chosen_files(parsed, listing)
        try:
            for hub_file in chosen:
                await _fetch_blob(hub, repo_cache, parsed.repo, commit, hub_file, tuning, report)
        finally:
            report.finish()
    paths = [repo_cache.link(commit, f.path, f.sha256 or "") for f in chosen]
    repo_cache.write_ref(commit)
    return PulledModel(
        repo=parsed.repo,
        file=chosen[0].path,
        commit=commit,
        path=paths[0],
        size=sum(f.size for f in chosen),
        sha256=chosen[0].sha256 or "",
        files=paths,
    )


def _chosen_files(parsed: ModelSpec, listing: list[HubFile]) -> list[HubFile]:
    from openclaw.local.catalog import catalog_for_file

    by_path = {f.path: f for f in listing}
    chosen = [by_path[p] for p in select_files(parsed, list(by_path))]
    for hub_file in chosen:
        name = safe_text(hub_file.path)
        if hub_file.sha256 is None:
            raise DownloadError(
                f"{parsed.repo}/{name} has no sha256 on the hub (not stored with LFS); "
                "refusing to store a file that cannot be verified"
            )
        entry = catalog_for_file(parsed.repo, hub_file.path)
        if entry is not None and entry.sha256 and entry.sha256 != hub_file.sha256:
            raise DownloadError(
                f"The hub lists sha256 {hub_file.sha256} for {name}, but the built-in "
                f"catalog pins {entry.sha256}; refusing to download it",
                hint="The file on the hub changed. Pick it explicitly with --file if you "
                "trust the new version.",
            )
    return chosen


@contextlib.contextmanager
def _blob_lock(repo_cache: RepoCache, name: str) -> Iterator[None]:
    """Exclusive per-blob lock, at the path huggingface_hub locks too, so two pulls (ours or
    theirs) never write one part. Where flock does not exist the lock is skipped."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    lock_dir = repo_cache.root.parent / ".locks" / repo_cache.root.name
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{name}.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


async def _fetch_blob(
    hub: Hub,
    repo_cache: RepoCache,
    repo: str,
    commit: str,
    hub_file: HubFile,
    tuning: DownloadSettings,
    report: Progress,
) -> None:
    import anyio.to_thread

    sha = hub_file.sha256 or ""
    blob = repo_cache.blob_path(sha)
    if blob.is_file() and blob.stat().st_size == hub_file.size:
        report.note(f"{safe_text(hub_file.path)} is already downloaded")
        return
    repo_cache.blobs.mkdir(parents=True, exist_ok=True)
    lock = _blob_lock(repo_cache, sha)
    # Waiting for another pull of the same blob must not block the event loop.
    await anyio.to_thread.run_sync(lock.__enter__)
    try:
        if blob.is_file() and blob.stat().st_size == hub_file.size:
            return
        url = hub.resolve_url(repo, commit, hub_file.path)
        part = repo_cache.part_path(sha)
        await _download_part(hub, url, part, repo, hub_file, tuning, report)
        os.replace(part, blob)
    finally:
        lock.__exit__(None, None, None)


class _Hasher:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def feed_file(self, path: Path, length: int) -> None:
        with open(path, "rb") as handle:
            remaining = length
            while remaining:
                chunk = handle.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                self.digest.update(chunk)
                remaining -= len(chunk)


@dataclass
class _Job:
    """One file being fetched into its part file."""

    hub: Hub
    url: str
    repo: str
    hub_file: HubFile
    tuning: DownloadSettings
    report: Progress
    handle: IO[bytes]
    hasher: _Hasher = field(default_factory=_Hasher)

    @property
    def name(self) -> str:
        return safe_text(self.hub_file.path)

    def start_over(self) -> None:
        self.handle.truncate(0)
        self.handle.seek(0)
        self.hasher = _Hasher()
        self.report.restart(0)


async def _download_part(
    hub: Hub,
    url: str,
    part: Path,
    repo: str,
    hub_file: HubFile,
    tuning: DownloadSettings,
    report: Progress,
) -> None:
    size = hub_file.size
    with open(part, "ab", buffering=0) as handle:
        job = _Job(hub, url, repo, hub_file, tuning, report, handle)
        offset = handle.tell()
        if offset > size:
            handle.truncate(0)
            offset = 0
        job.hasher.feed_file(part, offset)
        report.start(job.name, size, offset)
        failures = 0
        while offset < size:
            before = offset
            try:
                offset = await _fetch_range(job, offset)
                continue
            except _StartOver:
                job.start_over()
                offset = 0
                reason, wait = "the server's copy did not match the partial file", None
            except _Retry as retry:
                reason, wait = retry.reason, retry.wait
            except SsrfBlockedError as exc:
                raise explain_block(exc) from None
            except NetworkError as exc:
                offset = handle.tell()
                reason, wait = exc.message, None
            failures = 1 if offset > before else failures + 1
            if failures > tuning.retries:
                raise DownloadError(
                    f"Downloading {job.name} failed after {tuning.retries} retries: {reason}",
                    hint=_CHUNK_HINT,
                )
            delay = wait if wait is not None else tuning.backoff(failures)
            report.note(f"{reason}; retrying in {delay:.0f}s ({failures}/{tuning.retries})")
            await _sleep(delay)
        os.fsync(handle.fileno())
    got = job.hasher.digest.hexdigest()
    if got != hub_file.sha256:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"sha256 mismatch for {job.name}: expected {hub_file.sha256}, got {got}; "
            "the partial download was deleted",
            hint="Run the command again to download it afresh. If it repeats, something "
            "between you and the hub is altering the file.",
        )
    report.note(f"{job.name}: {human_bytes(size)}, sha256 verified")


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


def _retry_after(response: httpx2.Response, cap: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), capped."""
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return min(float(value), cap)
    if not value:
        return None
    import time
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(when.timestamp() - time.time(), 0.0), cap)


def _content_range(response: httpx2.Response) -> tuple[int, int] | None:
    """(first byte, total) of a ``Content-Range: bytes a-b/N`` header."""
    text = response.headers.get("content-range", "")
    unit, _, rest = text.partition(" ")
    span, _, total = rest.partition("/")
    first, _, _last = span.partition("-")
    if unit.lower() != "bytes" or not first.isdigit() or not total.isdigit():
        return None
    return int(first), int(total)


async def _fetch_range(job: _Job, offset: int) -> int:
    """One GET from ``offset``; returns the new offset (raises to retry or start over)."""
    extra = {"Accept-Encoding": "identity"}
    if offset:
        extra["Range"] = f"bytes={offset}-"
    size = job.hub_file.size
    async with job.hub.client.stream(
        "GET", job.url, headers=job.hub.headers(extra), max_body_bytes=size + 1
    ) as response:
        status = response.status_code
        if status == 206:
            if _content_range(response) != (offset, size):
                raise _StartOver()
        elif status == 200:
            if offset:
                # A 200 to a Range request is the whole file: start the part again.
                job.report.note("the server ignored the resume request; starting over")
                job.start_over()
                offset = 0
        elif status == 416:
            raise _StartOver()
        elif status in (408, 429) or status >= 500:
            wait = _retry_after(response, job.tuning.max_retry_after_seconds)
            raise _Retry(f"the server answered HTTP {status}", wait)
        else:
            check_status(response, job.repo, job.hub_file.path)
            raise DownloadError(f"Unexpected HTTP {status} downloading {job.name}")
        async for chunk in response.aiter_bytes():
            if offset + len(chunk) > size:
                raise _StartOver()
            job.handle.write(chunk)
            job.hasher.digest.update(chunk)
            offset += len(chunk)
            job.report.advance(len(chunk))
    return offset
