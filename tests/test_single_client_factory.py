"""`openclaw.net` is the only module that builds HTTP clients, opens sockets or resolves names.

Everything else asks ``openclaw.net.client.async_client(policy)``.
The scan is an AST walk over ``src/openclaw`` (outside ``net/``), so comments and strings do
not count, and aliases (``import httpx2 as h``, ``from httpx2 import AsyncClient``) do.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "openclaw"
NET = SRC / "net"

HTTPX_BUILDERS = {
    "Client",
    "AsyncClient",
    "HTTPTransport",
    "AsyncHTTPTransport",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "request",
    "stream",
}
FORBIDDEN_MODULES = (
    "httpcore2",
    "httpcore",
    "httpx",
    "urllib.request",
    "http.client",
    "requests",
    "aiohttp",
    "urllib3",
)
SOCKET_CALLS = {"create_connection", "socket", "socketpair", "getaddrinfo"}
# Connection openers of asyncio / anyio / event loops, whatever the receiver is called
# (``asyncio.open_connection``, ``loop.create_connection``, ``anyio.connect_tcp``...).
CONNECT_CALLS = {
    "open_connection",
    "open_unix_connection",
    "create_connection",
    "create_unix_connection",
    "create_datagram_endpoint",
    "connect_tcp",
    "connect_unix",
    "getaddrinfo",
}


def violations(source: str) -> list[str]:
    tree = ast.parse(source)
    httpx_aliases: set[str] = set()
    socket_aliases: set[str] = set()
    names: dict[str, str] = {}  # local name -> "httpx2.Client" etc.
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "httpx2":
                    httpx_aliases.add(alias.asname or "httpx2")
                elif alias.name == "socket":
                    socket_aliases.add(alias.asname or "socket")
                elif alias.name.startswith(FORBIDDEN_MODULES):
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(FORBIDDEN_MODULES):
                found.append(f"line {node.lineno}: from {node.module} import ...")
            if node.module.startswith("httpx2"):
                for alias in node.names:
                    if alias.name in HTTPX_BUILDERS or "Transport" in alias.name:
                        names[alias.asname or alias.name] = f"httpx2.{alias.name}"
            if node.module == "socket":
                for alias in node.names:
                    if alias.name in SOCKET_CALLS:
                        names[alias.asname or alias.name] = f"socket.{alias.name}"
            if node.module in ("asyncio", "anyio"):
                for alias in node.names:
                    if alias.name in CONNECT_CALLS:
                        names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = func.value.id if isinstance(func.value, ast.Name) else None
            if receiver in httpx_aliases and (
                func.attr in HTTPX_BUILDERS or "Transport" in func.attr
            ):
                found.append(f"line {node.lineno}: httpx2.{func.attr}(...)")
            elif receiver in socket_aliases and func.attr in SOCKET_CALLS:
                found.append(f"line {node.lineno}: socket.{func.attr}(...)")
            elif func.attr in CONNECT_CALLS:
                found.append(f"line {node.lineno}: .{func.attr}(...)")
        elif isinstance(func, ast.Name) and func.id in names:
            found.append(f"line {node.lineno}: {names[func.id]}(...)")
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if NET not in p.parents)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_outside_net_builds_an_http_client(path: Path) -> None:
    found = violations(path.read_text(encoding="utf-8"))
    assert not found, (
        f"{path.relative_to(SRC.parent)} builds its own HTTP client or socket: {found}. "
        "Use openclaw.net.client.async_client(policy)."
    )


@pytest.mark.parametrize(
    "snippet",
    [
        "import httpx2\nc = httpx2.AsyncClient()",
        "import httpx2 as h\nc = h.Client(timeout=1)",
        "from httpx2 import AsyncClient\nc = AsyncClient()",
        "from httpx2 import AsyncClient as AC\nc = AC()",
        "import httpx2\nt = httpx2.AsyncHTTPTransport(retries=1)",
        "import httpx2\nr = httpx2.get('http://x')",
        "import httpcore2\n",
        "from httpcore2 import AsyncConnectionPool\n",
        "import urllib.request\n",
        "import socket\ns = socket.create_connection(('x', 1))",
        "from socket import create_connection\ncreate_connection(('x', 1))",
        "import asyncio\nasync def f():\n    await asyncio.open_connection('x', 1)",
        "from asyncio import open_connection as oc\noc('x', 1)",
        "async def f(loop):\n    await loop.create_connection(P, 'x', 1)",
        "import anyio\nasync def f():\n    await anyio.connect_tcp('x', 1)",
        "async def f(loop):\n    await loop.getaddrinfo('x', 1)",
    ],
)
def test_the_scan_catches_each_way_of_building_a_client(snippet: str) -> None:
    assert violations(snippet)


def test_the_scan_allows_type_use_and_the_factory() -> None:
    ok = (
        "import httpx2\n"
        "from openclaw.net.client import async_client\n"
        "def f(r: httpx2.Response, t: httpx2.Timeout) -> None:\n"
        "    httpx2.Timeout(5)\n"
        "    async_client(None)\n"
    )
    assert violations(ok) == []


def test_the_net_package_is_where_clients_are_built() -> None:
    assert violations((NET / "client.py").read_text(encoding="utf-8"))
