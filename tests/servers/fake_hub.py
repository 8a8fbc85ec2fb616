"""A faithful fake Hugging Face hub and its CDN: two real HTTP servers on 127.0.0.1.

What it reproduces (spec/local-engine-and-download.md, "Faithful loopback fake"):

* hub: ``GET /api/models/{repo}/refs``, ``/api/models/{repo}[/revision/{rev}]`` (``sha``,
  ``siblings``), ``/api/models/{repo}/tree/{rev}?recursive=true`` (``type``, ``path``, ``oid``,
  ``size``, ``lfs.{oid,size}``); ``HEAD``/``GET /{repo}/resolve/{rev}/{path}``: LFS files
  answer **302 to the CDN origin** with ``X-Repo-Commit``, ``X-Linked-Etag: "<sha256>"``,
  ``X-Linked-Size`` and ``ETag: "<git sha1>"``; non-LFS files 200 inline; a missing repo is
  404 ``X-Error-Code: RepoNotFound``, a missing file 404 ``EntryNotFound``, a gated repo 401
  ``X-Error-Code: GatedRepo`` unless the request carries the repo's token.
* CDN (another port, so another origin): ``HEAD`` with ``Content-Length``,
  ``Accept-Ranges: bytes`` and ``ETag``; ``GET`` with ``Range`` answers 206 with
  ``Content-Range``; a range past the end answers 416. No ``X-Xet-Hash``.
* fault knobs (``hub.faults``), applied to CDN GETs: cut the body after N bytes, stall after N
  bytes, answer a list of statuses first (5xx, 429 with ``Retry-After``), serve wrong bytes,
  ignore ``Range`` (200).
* ``hub.log``: every request on both servers with lower-cased headers, status and time, so a
  test can assert that the token never reached the CDN.

Usage::

    with FakeHub() as hub:
        repo = hub.add_repo("acme/Tiny-GGUF", {"Tiny-Q4_K_M.gguf": data})
        hub.add_tiny_model()                       # tiny/tiny-GGUF, tiny-Q4_K_M.gguf
        env = hub.env(cache_dir)                   # HF_ENDPOINT, HF_HUB_CACHE, private opt-in
        hub.faults.cut_after = 100_000

Standalone: ``python -m tests.servers.fake_hub`` serves the tiny model and prints the env.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

TINY_REPO = "tiny/tiny-GGUF"
TINY_FILE = "tiny-Q4_K_M.gguf"
_CHUNK = 64 * 1024


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class FakeRepo:
    name: str
    files: dict[str, bytes]
    gated_token: str | None = None  # gated: requests need "Authorization: Bearer <token>"
    lfs: bool = True  # store files as LFS (with sha256) or inline in git
    commit: str = ""

    def __post_init__(self) -> None:
        if not self.commit:
            digest = hashlib.sha1(self.name.encode())
            for path in sorted(self.files):
                digest.update(path.encode() + hashlib.sha256(self.files[path]).digest())
            self.commit = digest.hexdigest()

    def sha256(self, path: str) -> str:
        return hashlib.sha256(self.files[path]).hexdigest()

    def tree(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        dirs = sorted({p.rsplit("/", 1)[0] for p in self.files if "/" in p})
        for directory in dirs:
            entries.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": directory})
        for path in sorted(self.files):
            data = self.files[path]
            entry: dict[str, Any] = {
                "type": "file",
                "oid": git_blob_oid(data),
                "size": len(data),
                "path": path,
            }
            if self.lfs:
                entry["lfs"] = {"oid": self.sha256(path), "size": len(data), "pointerSize": 134}
            entries.append(entry)
        return entries


@dataclass
class Faults:
    """Misbehaviour of the CDN's GETs. Counters count down as they are used."""

    statuses: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # answered first
    cut_after: int | None = None  # close the connection after this many body bytes
    cut_times: int = 1
    stall_after: int | None = None  # send this many body bytes, then go silent
    stall_seconds: float = 3600.0  # until released (hub.release_stall()) or this long
    stall_times: int = 1
    corrupt: bool = False  # flip the bytes served (a sha256 mismatch for the client)
    ignore_range: bool = False  # answer 200 with the whole file to a Range request


@dataclass
class Seen:
    server: str  # "hub" | "cdn"
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0
    at: float = 0.0  # time.monotonic() when the request arrived


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.faults = Faults()
        self.log: list[Seen] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("hub"))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("cdn"))
        for server in (self._hub, self._cdn):
            server.daemon_threads = True
        self._threads: list[threading.Thread] = []

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeHub:
        for server in (self._hub, self._cdn):
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._release.set()
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def hub_url(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def env(self, cache_dir: str | Path | None = None) -> dict[str, str]:
        env = {"HF_ENDPOINT": self.hub_url, "OPENCLAW_HUB_ALLOW_PRIVATE_NETWORK": "1"}
        if cache_dir is not None:
            env["HF_HUB_CACHE"] = str(cache_dir)
        return env

    # --- content ---------------------------------------------------------------------------

    def add_repo(
        self,
        name: str,
        files: dict[str, bytes],
        *,
        gated_token: str | None = None,
        lfs: bool = True,
    ) -> FakeRepo:
        repo = FakeRepo(name, dict(files), gated_token=gated_token, lfs=lfs)
        self.repos[name.lower()] = repo
        return repo

    def add_tiny_model(self, name: str = TINY_REPO, file: str = TINY_FILE) -> FakeRepo:
        """Serve the project's scripted tiny GGUF (tests/fixtures/tiny_model.py)."""
        import tempfile

        from tests.fixtures.tiny_model import write_tiny_model

        with tempfile.TemporaryDirectory() as tmp:
            data = write_tiny_model(Path(tmp) / file).read_bytes()
        return self.add_repo(name, {file: data})

    def release_stall(self) -> None:
        self._release.set()

    def requests(self, server: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.log if seen.server == server]

    # --- HTTP ------------------------------------------------------------------------------

    def _handler(self, role: str) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _record(self) -> Seen:
                seen = Seen(
                    role,
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    at=time.monotonic(),
                )
                with fake._lock:
                    fake.log.append(seen)
                return seen

            def do_GET(self) -> None:
                self._dispatch()

            def do_HEAD(self) -> None:
                self._dispatch()

            def _dispatch(self) -> None:
                seen = self._record()
                try:
                    if role == "hub":
                        fake._serve_hub(self, seen)
                    else:
                        fake._serve_cdn(self, seen)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        return Handler

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        seen: Seen,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        seen.status = status
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def _json(self, handler: BaseHTTPRequestHandler, seen: Seen, data: Any) -> None:
        body = json.dumps(data).encode()
        self._send(handler, seen, 200, body, {"Content-Type": "application/json"})

    def _error(
        self, handler: BaseHTTPRequestHandler, seen: Seen, status: int, code: str, message: str
    ) -> None:
        body = json.dumps({"error": message}).encode()
        headers = {"Content-Type": "application/json", "X-Error-Code": code}
        headers["X-Error-Message"] = message
        self._send(handler, seen, status, body, headers)

    def _repo_for(self, handler: BaseHTTPRequestHandler, seen: Seen, name: str) -> FakeRepo | None:
        repo = self.repos.get(name.lower())
        if repo is None:
            self._error(handler, seen, 404, "RepoNotFound", "Repository not found")
            return None
        if repo.gated_token and seen.headers.get("authorization") != (f"Bearer {repo.gated_token}"):
            self._error(
                handler, seen, 401, "GatedRepo", f"Access to model {repo.name} is restricted."
            )
            return None
        return repo

    def _revision_ok(self, repo: FakeRepo, revision: str) -> bool:
        return revision in ("main", repo.commit)

    def _serve_hub(self, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        url = urlsplit(handler.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            repo = self._repo_for(handler, seen, f"{parts[2]}/{parts[3]}")
            if repo is not None:
                self._serve_api(handler, seen, repo, parts[4:])
            return
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = self._repo_for(handler, seen, f"{parts[0]}/{parts[1]}")
            if repo is not None:
                self._serve_resolve(handler, seen, repo, parts[3], "/".join(parts[4:]))
            return
        self._error(handler, seen, 404, "NotFound", "Not found")

    def _serve_api(
        self, handler: BaseHTTPRequestHandler, seen: Seen, repo: FakeRepo, rest: list[str]
    ) -> None:
        info = {
            "id": repo.name,
            "sha": repo.commit,
            "siblings": [{"rfilename": p} for p in sorted(repo.files)],
            "gated": "manual" if repo.gated_token else False,
            "private": False,
        }
        if not rest:
            self._json(handler, seen, info)
        elif rest == ["refs"]:
            branch = {"name": "main", "ref": "refs/heads/main", "targetCommit": repo.commit}
            self._json(handler, seen, {"branches": [branch], "converts": [], "tags": []})
        elif len(rest) == 2 and rest[0] == "revision":
            if not self._revision_ok(repo, rest[1]):
                self._error(handler, seen, 404, "RevisionNotFound", "Invalid rev id")
            else:
                self._json(handler, seen, info)
        elif len(rest) >= 2 and rest[0] == "tree":
            if not self._revision_ok(repo, rest[1]):
                self._error(handler, seen, 404, "RevisionNotFound", "Invalid rev id")
            else:
                self._json(handler, seen, repo.tree())
        else:
            self._error(handler, seen, 404, "NotFound", "Not found")

    def _serve_resolve(
        self, handler: BaseHTTPRequestHandler, seen: Seen, repo: FakeRepo, rev: str, path: str
    ) -> None:
        if not self._revision_ok(repo, rev):
            self._error(handler, seen, 404, "RevisionNotFound", "Invalid rev id")
            return
        data = repo.files.get(path)
        if data is None:
            self._error(handler, seen, 404, "EntryNotFound", f"{path} does not exist")
            return
        headers = {"X-Repo-Commit": repo.commit, "ETag": f'"{git_blob_oid(data)}"'}
        if not repo.lfs:
            self._send(handler, seen, 200, data, headers)
            return
        sha = repo.sha256(path)
        location = f"{self.cdn_url}/repos/{quote(repo.name)}/{sha}?expires=1&sig=fake"
        headers.update(
            {
                "Location": location,
                "X-Linked-Etag": f'"{sha}"',
                "X-Linked-Size": str(len(data)),
            }
        )
        self._send(handler, seen, 302, b"", headers)

    def _blob(self, sha: str) -> bytes | None:
        for repo in self.repos.values():
            for path in repo.files:
                if repo.sha256(path) == sha:
                    return repo.files[path]
        return None

    def _take_fault(self, handler: BaseHTTPRequestHandler) -> dict[str, Any]:
        """The faults this GET suffers (counters decremented under the lock)."""
        with self._lock:
            f = self.faults
            out: dict[str, Any] = {"corrupt": f.corrupt, "ignore_range": f.ignore_range}
            if handler.command != "GET":
                return out
            if f.statuses:
                out["status"] = f.statuses.pop(0)
                return out
            if f.cut_after is not None and f.cut_times > 0:
                f.cut_times -= 1
                out["cut"] = f.cut_after
            if f.stall_after is not None and f.stall_times > 0:
                f.stall_times -= 1
                out["stall"] = f.stall_after
            return out

    def _serve_cdn(self, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        parts = urlsplit(handler.path).path.strip("/").split("/")
        data = self._blob(parts[-1]) if parts and parts[0] == "repos" else None
        if data is None:
            self._send(handler, seen, 404, b"NoSuchKey")
            return
        fault = self._take_fault(handler)
        if "status" in fault:
            status, headers = fault["status"]
            self._send(handler, seen, status, b"busy", headers)
            return
        if fault["corrupt"]:
            data = bytes(b ^ 0xFF for b in data)
        total = len(data)
        headers = {
            "Accept-Ranges": "bytes",
            "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
            "Content-Type": "application/octet-stream",
        }
        start, end = 0, total - 1
        status = 200
        wanted = seen.headers.get("range")
        if wanted and not fault["ignore_range"]:
            parsed = _parse_range(wanted)
            if parsed is None or parsed[0] >= total:
                headers["Content-Range"] = f"bytes */{total}"
                self._send(handler, seen, 416, b"", headers)
                return
            start = parsed[0]
            end = min(parsed[1] if parsed[1] is not None else total - 1, total - 1)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        body = data[start : end + 1]
        seen.status = status
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command == "HEAD":
            return
        self._write_body(handler, body, fault.get("cut"), fault.get("stall"))

    def _write_body(
        self,
        handler: BaseHTTPRequestHandler,
        body: bytes,
        cut: int | None,
        stall: int | None,
    ) -> None:
        limit = len(body)
        for knob in (cut, stall):
            if knob is not None:
                limit = min(limit, knob)
        sent = 0
        while sent < limit:
            piece = body[sent : min(sent + _CHUNK, limit)]
            handler.wfile.write(piece)
            sent += len(piece)
        handler.wfile.flush()
        if stall is not None and stall < len(body):
            self._release.wait(self.faults.stall_seconds)
        if limit < len(body):
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _parse_range(value: str) -> tuple[int, int | None] | None:
    unit, _, spec = value.partition("=")
    first, _, last = spec.strip().partition("-")
    if unit.strip().lower() != "bytes" or not first.isdigit() or (last and not last.isdigit()):
        return None
    return int(first), int(last) if last else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake HF hub + CDN with the tiny GGUF.")
    parser.parse_args(argv)
    with FakeHub() as hub:
        hub.add_tiny_model()
        print(json.dumps({**hub.env(), "repo": TINY_REPO, "file": TINY_FILE}), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
