"""The fake hub + CDN answers as the real ones do (the shapes the spec recorded from llama.cpp
and huggingface_hub against the real hub), so the downloader tests test something real."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

from tests.local.download_helpers import payload, sha256
from tests.servers.fake_hub import FakeHub, git_blob_oid


def _ask(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn.request(method, path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def test_hub_api_and_resolve_shapes(fake_hub: FakeHub) -> None:
    data = payload(5000, "shape")
    repo = fake_hub.add_repo("acme/Shape-GGUF", {"S-Q4_K_M.gguf": data})
    api = f"{fake_hub.hub_url}/api/models/acme/Shape-GGUF"

    status, _, body = _ask(f"{api}/refs")
    assert status == 200
    assert json.loads(body)["branches"][0] == {
        "name": "main",
        "ref": "refs/heads/main",
        "targetCommit": repo.commit,
    }
    info = json.loads(_ask(f"{api}/revision/main")[2])
    assert info["sha"] == repo.commit and info["siblings"] == [{"rfilename": "S-Q4_K_M.gguf"}]
    tree = json.loads(_ask(f"{api}/tree/{repo.commit}?recursive=true")[2])
    assert tree == [
        {
            "type": "file",
            "oid": git_blob_oid(data),
            "size": 5000,
            "path": "S-Q4_K_M.gguf",
            "lfs": {"oid": sha256(data), "size": 5000, "pointerSize": 134},
        }
    ]

    for method in ("HEAD", "GET"):
        url = f"{fake_hub.hub_url}/acme/Shape-GGUF/resolve/main/S-Q4_K_M.gguf"
        status, headers, _ = _ask(url, method)
        assert status == 302
        assert headers["x-repo-commit"] == repo.commit
        assert headers["x-linked-etag"] == f'"{sha256(data)}"'
        assert headers["x-linked-size"] == "5000"
        assert headers["etag"] == f'"{git_blob_oid(data)}"'
        assert headers["location"].startswith(fake_hub.cdn_url + "/")
        assert "x-xet-hash" not in headers


def test_cdn_ranges(fake_hub: FakeHub) -> None:
    data = payload(5000, "cdn")
    fake_hub.add_repo("acme/Shape-GGUF", {"S-Q4_K_M.gguf": data})
    cdn = _ask(f"{fake_hub.hub_url}/acme/Shape-GGUF/resolve/main/S-Q4_K_M.gguf")[1]["location"]

    status, headers, body = _ask(cdn, "HEAD")
    assert (status, headers["content-length"], headers["accept-ranges"]) == (200, "5000", "bytes")
    assert body == b""
    status, headers, body = _ask(cdn, headers={"Range": "bytes=1000-"})
    assert (status, headers["content-range"], body) == (206, "bytes 1000-4999/5000", data[1000:])
    status, headers, body = _ask(cdn, headers={"Range": "bytes=10-19"})
    assert (status, body) == (206, data[10:20])
    status, headers, _ = _ask(cdn, headers={"Range": "bytes=5000-"})
    assert (status, headers["content-range"]) == (416, "bytes */5000")


def test_error_codes(fake_hub: FakeHub) -> None:
    fake_hub.add_repo("acme/Gated-GGUF", {"G.gguf": b"g"}, gated_token="tok")
    fake_hub.add_repo("acme/Open-GGUF", {"O.gguf": b"o"})

    status, headers, _ = _ask(f"{fake_hub.hub_url}/api/models/acme/Missing/revision/main")
    assert (status, headers["x-error-code"]) == (404, "RepoNotFound")
    status, headers, _ = _ask(f"{fake_hub.hub_url}/acme/Open-GGUF/resolve/main/nope.gguf")
    assert (status, headers["x-error-code"]) == (404, "EntryNotFound")
    status, headers, _ = _ask(f"{fake_hub.hub_url}/api/models/acme/Gated-GGUF/revision/main")
    assert (status, headers["x-error-code"]) == (401, "GatedRepo")
    with_token = {"Authorization": "Bearer tok"}
    url = f"{fake_hub.hub_url}/api/models/acme/Gated-GGUF/revision/main"
    assert _ask(url, headers=with_token)[0] == 200
