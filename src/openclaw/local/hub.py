"""The Hugging Face hub protocol, as llama.cpp's ``-hf`` speaks it, over ``openclaw.net``.

    GET {endpoint}/api/models/{repo}/revision/{rev}        -> {"sha": commit}
        (for ``main``: GET {endpoint}/api/models/{repo}/refs also works; we use revision)
    GET {endpoint}/api/models/{repo}/tree/{commit}?recursive=true
                                                            -> [{type, path, size, lfs:{oid,size}}]
    GET {endpoint}/{repo}/resolve/{commit}/{path}           -> 302 to a CDN origin (LFS files)

Trust: the configured endpoint's origin is trusted exactly (it may be a private mirror or a
loopback fake); the CDN a resolve redirects to must be public unless
``OPENCLAW_HUB_ALLOW_PRIVATE_NETWORK=1``. ``HF_TOKEN`` is sent to the hub only: the client
drops ``Authorization`` on every cross-origin redirect hop (``net.guard.redirect_headers``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from openclaw.errors import DownloadError, NetworkError, SsrfBlockedError
from openclaw.local.hf_cache import is_commit, is_sha256
from openclaw.local.spec import check_repo_path, safe_text
from openclaw.net.policy import NetPolicy

if TYPE_CHECKING:
    import httpx2

    from openclaw.net.client import GuardedAsyncClient

DEFAULT_ENDPOINT = "https://huggingface.co"
ALLOW_PRIVATE_ENV = "OPENCLAW_HUB_ALLOW_PRIVATE_NETWORK"
_TRUE = {"1", "true", "yes", "on"}
_MAX_TREE_BYTES = 8 * 1024 * 1024
_MAX_TREE_ENTRIES = 20_000


class HubUnreachableError(DownloadError):
    """The hub could not be reached at all (a cached copy may still serve)."""


@dataclass(frozen=True)
class HubSettings:
    endpoint: str  # no trailing slash
    token: str | None
    offline: bool
    allow_private_network: bool

    @property
    def policy(self) -> NetPolicy:
        from openclaw.net.policy import split_origin

        origin = split_origin(self.endpoint)
        if origin is None:
            raise DownloadError(
                f"The hub endpoint is not a valid http(s) URL: {safe_text(self.endpoint)!r}",
                hint="Fix HF_ENDPOINT (or MODEL_ENDPOINT), e.g. https://huggingface.co.",
            )
        return NetPolicy(
            trusted_origin=origin,
            allow_private_network=self.allow_private_network,
            provider_id=None,
            same_host_redirects_only=False,
            base_host=origin[1],
        )


def hub_settings(env: Mapping[str, str] | None = None) -> HubSettings:
    environ = os.environ if env is None else env
    endpoint = (environ.get("MODEL_ENDPOINT") or environ.get("HF_ENDPOINT") or "").strip()
    token = (environ.get("HF_TOKEN") or environ.get("HUGGING_FACE_HUB_TOKEN") or "").strip()
    return HubSettings(
        endpoint=(endpoint or DEFAULT_ENDPOINT).rstrip("/"),
        token=token or None,
        offline=environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE,
        allow_private_network=environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in _TRUE,
    )


@dataclass(frozen=True)
class HubFile:
    path: str
    size: int
    sha256: str | None  # lfs.oid; None for small files kept in git


def _quote_path(path: str) -> str:
    return "/".join(quote(part, safe="") for part in path.split("/"))


class Hub:
    """A hub session: one guarded client, the token on hub requests only."""

    def __init__(self, settings: HubSettings, client: GuardedAsyncClient) -> None:
        self.settings = settings
        self.client = client

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.token}"} if self.settings.token else {}

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {"User-Agent": "openclaw-python", **self._auth(), **(extra or {})}

    def api_url(self, repo: str, *rest: str) -> str:
        return "/".join([self.settings.endpoint, "api", "models", repo, *rest])

    def resolve_url(self, repo: str, commit: str, path: str) -> str:
        return f"{self.settings.endpoint}/{repo}/resolve/{commit}/{_quote_path(path)}"

    async def _get_json(self, repo: str, url: str) -> Any:
        try:
            response = await self.client.request(
                "GET", url, headers=self.headers(), max_body_bytes=_MAX_TREE_BYTES
            )
        except SsrfBlockedError as exc:
            raise explain_block(exc) from None
        except NetworkError as exc:
            raise HubUnreachableError(
                f"Cannot reach the model hub for {repo}: {exc.message}",
                hint="Check your connection, or set HF_HUB_OFFLINE=1 to use the local cache.",
            ) from None
        check_status(response, repo)
        try:
            return json.loads(response.content)
        except ValueError:
            raise DownloadError(
                f"The hub sent a malformed answer for {repo} (not JSON)",
                hint=f"Is {self.settings.endpoint} a Hugging Face hub endpoint?",
            ) from None

    async def commit(self, repo: str, revision: str = "main") -> str:
        data = await self._get_json(repo, self.api_url(repo, "revision", quote(revision, "")))
        sha = data.get("sha") if isinstance(data, dict) else None
        if not isinstance(sha, str) or not is_commit(sha):
            raise DownloadError(
                f"The hub sent no commit for {repo}@{safe_text(revision)}",
                hint=f"Is {self.settings.endpoint} a Hugging Face hub endpoint?",
            )
        return sha

    async def files(self, repo: str, commit: str) -> list[HubFile]:
        url = self.api_url(repo, "tree", commit) + "?recursive=true"
        data = await self._get_json(repo, url)
        if not isinstance(data, list):
            raise DownloadError(f"The hub sent a malformed file list for {repo}")
        return parse_tree(data[:_MAX_TREE_ENTRIES], repo)


def parse_tree(entries: list[Any], repo: str) -> list[HubFile]:
    out: list[HubFile] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != "file":
            continue
        path, size, lfs = entry.get("path"), entry.get("size"), entry.get("lfs")
        if not isinstance(path, str) or not isinstance(size, int) or size < 0:
            raise DownloadError(f"The hub sent a malformed file entry for {repo}")
        check_repo_path(path)
        sha: str | None = None
        if isinstance(lfs, dict):
            oid, lfs_size = lfs.get("oid"), lfs.get("size", size)
            if not isinstance(oid, str) or not is_sha256(oid.lower()) or lfs_size != size:
                raise DownloadError(
                    f"The hub sent a malformed LFS entry for {repo}/{safe_text(path)}"
                )
            sha = oid.lower()
        out.append(HubFile(path, size, sha))
    return out


def _error_code(response: httpx2.Response) -> str:
    return safe_text(response.headers.get("x-error-code", ""), 40)


def check_status(response: httpx2.Response, repo: str, file: str | None = None) -> None:
    """Map a hub answer that is not a success to one clear line naming the repo."""
    status = response.status_code
    if status < 400:
        return
    code = _error_code(response)
    what = f"{repo}/{safe_text(file)}" if file else repo
    if code == "RepoNotFound" or (status == 404 and not file):
        raise DownloadError(
            f"Model repo {repo} was not found on the hub",
            hint="Check the ORG/REPO spelling; a private repo also needs HF_TOKEN.",
        )
    if code == "EntryNotFound" or status == 404:
        raise DownloadError(f"{what} was not found on the hub (HTTP 404)")
    if code == "GatedRepo" or status in (401, 403):
        raise DownloadError(
            f"Access to {repo} was refused (HTTP {status}): the repo is gated or private",
            hint="Accept its licence on the hub, then set HF_TOKEN to a token that may read it.",
        )
    raise DownloadError(f"The hub answered HTTP {status} for {what}")


def explain_block(exc: SsrfBlockedError) -> DownloadError:
    """The guard refused a hop (usually a CDN redirect to a private address): say which knob."""
    return DownloadError(
        f"Download blocked by the network guard: {exc.message}",
        hint=f"Only the hub endpoint itself is trusted. For a private mirror or CDN set "
        f"{ALLOW_PRIVATE_ENV}=1.",
    )
