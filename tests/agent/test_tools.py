"""Tools: workspace confinement (read/ls) and web_fetch through the network guard.

web_fetch runs against a real HTTP server on 127.0.0.1; refusals are checked by asserting that
the server saw no request at all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import anyio
import pytest

from openclaw.agent.tools import (
    ToolContext,
    ToolRegistry,
    default_registry,
    html_to_text,
    make_web_fetch_tool,
)
from openclaw.llm.types import ToolCall, ToolResultMessage
from openclaw.net.policy import provider_policy

PAGE = b"""<!doctype html><html><head><title>Test Page</title>
<style>body{color:red}</style><script>var secret = 1;</script></head>
<body><h1>Weather</h1><p>It is <b>sunny</b> in Paris.</p><ul><li>one</li><li>two</li></ul></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        if self.path == "/slow":
            import time

            time.sleep(3)
            body = PAGE
        elif self.path == "/big":
            body = b"<p>" + b"word " * 20000 + b"</p>"
        elif self.path == "/bin":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"\x00\x01\x02\x03")
            return
        else:
            body = PAGE
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_server() -> Iterator[tuple[str, list[str]]]:
    _Handler.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Handler.hits
    finally:
        server.shutdown()
        server.server_close()


def _run(reg: ToolRegistry, name: str, args: dict, ws: Path, cap: int = 8000) -> ToolResultMessage:
    ctx = ToolContext(workspace=ws, max_result_chars=cap)
    return anyio.run(reg.execute, ToolCall(id="t1", name=name, arguments=args), ctx)


def _text(r: ToolResultMessage) -> str:
    return "".join(getattr(p, "text", "") for p in r.content)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "sub").mkdir(parents=True)
    (ws / "notes.md").write_text("line1\nline2\nline3\n")
    (ws / "sub" / "deep.txt").write_text("deep")
    (tmp_path / "outside.txt").write_text("TOP SECRET")
    return ws


def test_read_and_ls_inside_workspace(workspace: Path) -> None:
    reg = default_registry()
    r = _run(reg, "read", {"path": "notes.md"}, workspace)
    assert not r.is_error and _text(r) == "line1\nline2\nline3\n"
    r = _run(reg, "read", {"path": "notes.md", "offset": 2, "limit": 1}, workspace)
    assert _text(r).startswith("line2\n") and "offset=3" in _text(r)
    r = _run(reg, "ls", {}, workspace)
    assert _text(r).splitlines() == ["notes.md", "sub/"]
    r = _run(reg, "read", {"path": "sub/deep.txt"}, workspace)
    assert _text(r) == "deep"


@pytest.mark.parametrize(
    "path", ["../../etc/passwd", "../outside.txt", "/etc/passwd", "sub/../../outside.txt"]
)
def test_read_outside_workspace_is_refused(workspace: Path, path: str) -> None:
    r = _run(default_registry(), "read", {"path": path}, workspace)
    assert r.is_error
    assert "outside the workspace" in _text(r)
    assert "TOP SECRET" not in _text(r) and "root:" not in _text(r)


def test_symlink_escaping_the_workspace_is_refused(workspace: Path) -> None:
    (workspace / "link.txt").symlink_to(workspace.parent / "outside.txt")
    (workspace / "linkdir").symlink_to(workspace.parent)
    reg = default_registry()
    for args in ({"path": "link.txt"}, {"path": "linkdir/outside.txt"}):
        r = _run(reg, "read", args, workspace)
        assert r.is_error and "outside the workspace" in _text(r)
    r = _run(reg, "ls", {"path": "linkdir"}, workspace)
    assert r.is_error and "outside the workspace" in _text(r)


def test_results_are_capped_and_bad_calls_explained(workspace: Path) -> None:
    (workspace / "big.txt").write_text("a" * 50000)
    reg = default_registry()
    r = _run(reg, "read", {"path": "big.txt"}, workspace, cap=1000)
    assert len(_text(r)) < 1200 and "truncated" in _text(r)
    r = _run(reg, "read", {}, workspace)
    assert r.is_error and "path" in _text(r)
    r = _run(reg, "nope", {}, workspace)
    assert r.is_error and "Unknown tool" in _text(r)


def test_web_fetch_loopback_through_a_test_policy(
    page_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    origin, hits = page_server
    policy = provider_policy("test-fetch", origin, None)  # exact-origin trust of the test server
    reg = ToolRegistry.of([make_web_fetch_tool(policy)])
    r = _run(reg, "web_fetch", {"url": origin + "/page"}, tmp_path)
    assert not r.is_error, _text(r)
    text = _text(r)
    assert "Title: Test Page" in text
    assert "It is sunny in Paris." in text
    assert "var secret" not in text and "color:red" not in text
    assert hits == ["/page"]
    r = _run(reg, "web_fetch", {"url": origin + "/big"}, tmp_path, cap=2000)
    assert "truncated" in _text(r)
    r = _run(reg, "web_fetch", {"url": origin + "/bin"}, tmp_path)
    assert r.is_error and "not text" in _text(r)


def test_web_fetch_default_policy_refuses_loopback_without_connecting(
    page_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    origin, hits = page_server
    reg = default_registry()
    r = _run(reg, "web_fetch", {"url": origin + "/page"}, tmp_path)
    assert r.is_error
    assert "refused by the network guard" in _text(r)
    assert hits == []  # no connection attempted


def test_web_fetch_refuses_metadata_and_odd_schemes(tmp_path: Path) -> None:
    reg = default_registry()
    r = _run(reg, "web_fetch", {"url": "http://169.254.169.254/latest/meta-data/"}, tmp_path)
    assert r.is_error and "refused by the network guard" in _text(r)
    r = _run(reg, "web_fetch", {"url": "file:///etc/passwd"}, tmp_path)
    assert r.is_error and "http(s)" in _text(r)


def test_html_to_text_drops_markup() -> None:
    title, text = html_to_text(PAGE.decode())
    assert title == "Test Page"
    assert "- one" in text and "Weather" in text


def test_read_refuses_a_fifo_instead_of_blocking(workspace: Path) -> None:
    import os

    os.mkfifo(workspace / "pipe")
    r = _run(default_registry(), "read", {"path": "pipe"}, workspace)
    assert r.is_error and "not a regular file" in _text(r)


def test_web_fetch_size_and_time_caps(page_server: tuple[str, list[str]], tmp_path: Path) -> None:
    import time

    origin, _hits = page_server
    policy = provider_policy("test-fetch", origin, None)
    small = ToolRegistry.of([make_web_fetch_tool(policy, max_bytes=10_000)])
    r = _run(small, "web_fetch", {"url": origin + "/big"}, tmp_path)  # ~100 KB body
    assert r.is_error and "larger than the 10000-byte limit" in _text(r)
    quick = ToolRegistry.of([make_web_fetch_tool(policy, timeout=0.3)])
    t0 = time.monotonic()
    r = _run(quick, "web_fetch", {"url": origin + "/slow"}, tmp_path)
    assert time.monotonic() - t0 < 2.5
    assert r.is_error and "did not complete within 0.3 s" in _text(r)
