"""The guarded client against real servers on 127.0.0.1 and against a recording backend."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator

import anyio
import httpx2
import pytest

from openclaw.errors import (
    NetworkError,
    RequestTimeoutError,
    ResponseTooLargeError,
    SsrfBlockedError,
    UnreachableError,
)
from openclaw.net.backend import PinnedAsyncBackend
from openclaw.net.client import async_client
from openclaw.net.policy import STRICT_POLICY, provider_policy
from tests.conftest import run_cli
from tests.net.helpers import (
    LoopbackServer,
    RecordingAsyncBackend,
    http_response,
    serving,
    table_resolver,
)

KEY = "models.providers.lms.request.allowPrivateNetwork"


def policy_for(server: LoopbackServer, allow: bool | None = None):  # type: ignore[no-untyped-def]
    return provider_policy("lms", server.url("/v1"), allow)


def fetch(policy, url: str, **kwargs):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with async_client(policy, timeout=5) as client:
            return await client.request("GET", url, **kwargs)

    return anyio.run(go)


# --- exact-origin trust on two loopback ports ----------------------------------------------


def test_provider_reaches_its_origin_and_is_refused_on_another_port(
    server_a: LoopbackServer, server_b: LoopbackServer
) -> None:
    policy = policy_for(server_a)
    response = fetch(policy, server_a.url("/v1/models"))
    assert response.status_code == 200
    assert response.text == "hello from /v1/models"
    with pytest.raises(SsrfBlockedError) as info:
        fetch(policy, server_b.url("/v1/models"))
    assert info.value.message.startswith("Blocked hostname or private/internal/special-use IP")
    assert KEY in (info.value.hint or "")
    assert server_b.requests == []


def test_allow_private_network_true_opens_the_other_port(
    server_a: LoopbackServer, server_b: LoopbackServer
) -> None:
    policy = policy_for(server_a, True)
    assert fetch(policy, server_a.url("/v1/models")).status_code == 200
    assert fetch(policy, server_b.url("/v1/models")).status_code == 200
    assert len(server_b.requests) == 1


def test_allow_private_network_false_reaches_neither(
    server_a: LoopbackServer, server_b: LoopbackServer
) -> None:
    policy = policy_for(server_a, False)
    for server in (server_a, server_b):
        with pytest.raises(SsrfBlockedError) as info:
            fetch(policy, server.url("/v1/models"))
        assert KEY in (info.value.hint or "")
        assert "false" in (info.value.hint or "")
    assert server_a.requests == [] and server_b.requests == []


def test_strict_policy_refuses_loopback(server_a: LoopbackServer) -> None:
    with pytest.raises(SsrfBlockedError) as info:
        fetch(STRICT_POLICY, server_a.url("/"))
    assert "public addresses only" in (info.value.hint or "")
    assert server_a.requests == []


def test_redirect_to_other_port_is_refused_and_target_gets_nothing(
    server_a: LoopbackServer, server_b: LoopbackServer
) -> None:
    server_a.routes["/v1/models"] = (302, {"Location": server_b.url("/v1/models")}, b"")
    with pytest.raises(SsrfBlockedError) as info:
        fetch(policy_for(server_a), server_a.url("/v1/models"))
    assert f"127.0.0.1:{server_b.port}" in info.value.message
    assert len(server_a.requests) == 1
    assert server_b.requests == []


def test_redirect_to_another_host_refused_for_providers_even_with_opt_in(
    server_a: LoopbackServer,
) -> None:
    server_a.routes["/v1/x"] = (302, {"Location": "http://localhost:1/"}, b"")
    with pytest.raises(SsrfBlockedError) as info:
        fetch(policy_for(server_a, True), server_a.url("/v1/x"))
    assert "within the configured host" in info.value.message


def test_same_origin_redirect_is_followed_and_keeps_authorization(server_a: LoopbackServer) -> None:
    server_a.routes["/v1/old"] = (301, {"Location": "/v1/new"}, b"")
    response = fetch(
        policy_for(server_a), server_a.url("/v1/old"), headers={"Authorization": "Bearer sk-test"}
    )
    assert response.status_code == 200
    assert response.text == "hello from /v1/new"
    assert [r.path for r in server_a.requests] == ["/v1/old", "/v1/new"]
    assert server_a.requests[1].headers.get("authorization") == "Bearer sk-test"


def test_cross_origin_redirect_strips_sensitive_headers(
    server_a: LoopbackServer, server_b: LoopbackServer
) -> None:
    server_a.routes["/v1/x"] = (307, {"Location": server_b.url("/landing")}, b"")
    headers = {
        "Authorization": "Bearer sk-test",
        "X-Api-Key": "k",
        "Cookie": "c=1",
        "Accept": "application/json",
        "User-Agent": "openclaw-test",
        "X-Custom": "1",
    }
    response = fetch(policy_for(server_a, True), server_a.url("/v1/x"), headers=headers)
    assert response.status_code == 200
    seen = server_b.requests[0].headers
    for name in ("authorization", "x-api-key", "cookie", "x-custom"):
        assert name not in seen
    assert seen["accept"] == "application/json"
    assert seen["user-agent"] == "openclaw-test"


def test_303_turns_post_into_get_without_body(server_a: LoopbackServer) -> None:
    server_a.routes["/v1/post"] = (303, {"Location": "/v1/result"}, b"")

    async def go():  # type: ignore[no-untyped-def]
        async with async_client(policy_for(server_a)) as client:
            return await client.request("POST", server_a.url("/v1/post"), json={"a": 1})

    assert anyio.run(go).status_code == 200
    first, second = server_a.requests
    assert (first.method, first.body) == ("POST", b'{"a":1}')
    assert (second.method, second.body) == ("GET", b"")
    assert "content-type" not in second.headers


def test_307_same_origin_keeps_method_and_body(server_a: LoopbackServer) -> None:
    server_a.routes["/v1/post"] = (307, {"Location": "/v1/again"}, b"")

    async def go():  # type: ignore[no-untyped-def]
        async with async_client(policy_for(server_a)) as client:
            return await client.request("POST", server_a.url("/v1/post"), content=b"xyz")

    assert anyio.run(go).status_code == 200
    assert [(r.method, r.body) for r in server_a.requests] == [("POST", b"xyz"), ("POST", b"xyz")]


def test_redirect_loop_and_too_many_redirects_fail(server_a: LoopbackServer) -> None:
    server_a.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    with pytest.raises(NetworkError, match="Redirect loop"):
        fetch(policy_for(server_a), server_a.url("/loop"))
    for i in range(5):
        server_a.routes[f"/r{i}"] = (302, {"Location": f"/r{i + 1}"}, b"")
    with pytest.raises(NetworkError, match="Too many redirects"):
        fetch(policy_for(server_a), server_a.url("/r0"))
    assert server_a.requests[-1].path == "/r3"  # start + 3 redirects, then stop


# --- DNS: resolve once, check all, pin -----------------------------------------------------


def test_one_bad_answer_refuses_and_no_connection_is_opened() -> None:
    backend = RecordingAsyncBackend()
    resolver = table_resolver({"mixed.example": ["93.184.216.34", "169.254.169.254"]})

    async def go() -> None:
        async with async_client(STRICT_POLICY, resolver=resolver, network_backend=backend) as c:
            await c.request("GET", "https://mixed.example/")

    with pytest.raises(SsrfBlockedError) as info:
        anyio.run(go)
    assert info.value.message.startswith("Blocked: resolves to private/internal/special-use IP")
    assert "never reachable" in (info.value.hint or "")
    assert backend.dials == []


def test_pinned_dial_keeps_hostname_for_tls_and_host_and_resolves_once() -> None:
    backend = RecordingAsyncBackend()
    resolver = table_resolver({"api.example.com": ["2606:4700:4700::1111", "93.184.216.34"]})

    async def go():  # type: ignore[no-untyped-def]
        async with async_client(STRICT_POLICY, resolver=resolver, network_backend=backend) as c:
            return await c.request("GET", "https://api.example.com/v1?q=1")

    assert anyio.run(go).status_code == 200
    assert resolver.calls == ["api.example.com"]  # type: ignore[attr-defined]
    assert backend.dials == [("93.184.216.34", 443)]  # IPv4 first, the IP literal only
    assert backend.recorder.tls_names == ["api.example.com"]
    assert b"\r\nHost: api.example.com\r\n" in backend.recorder.requests[0]


def test_backend_refuses_a_connection_the_guard_did_not_validate() -> None:
    async def go() -> None:
        await PinnedAsyncBackend(RecordingAsyncBackend()).connect_tcp("example.com", 80)

    with pytest.raises(SsrfBlockedError):
        anyio.run(go)


def test_redirect_hop_is_resolved_and_checked_again() -> None:
    backend = RecordingAsyncBackend(
        lambda a, p, r: (
            http_response(302, b"", {"Location": "http://rebind.example/"})
            if b"Host: start.example" in r
            else http_response(200, b"ok")
        )
    )
    resolver = table_resolver({"start.example": ["93.184.216.34"], "rebind.example": ["10.0.0.1"]})

    async def go() -> None:
        async with async_client(STRICT_POLICY, resolver=resolver, network_backend=backend) as c:
            await c.request("GET", "http://start.example/")

    with pytest.raises(SsrfBlockedError):
        anyio.run(go)
    assert backend.dials == [("93.184.216.34", 80)]


# --- failures: fast, typed, origin only ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dead_server_fails_fast_as_unreachable() -> None:
    port = _free_port()
    policy = provider_policy("lms", f"http://127.0.0.1:{port}/v1", None)
    started = time.monotonic()
    with pytest.raises(UnreachableError) as info:
        fetch(policy, f"http://127.0.0.1:{port}/v1/models")
    assert (
        time.monotonic() - started < 10
    )  # a hang guard, not a figure: bench/failfast.py measures it
    assert f"http://127.0.0.1:{port}" in info.value.message


def test_unresolvable_name_is_unreachable() -> None:
    backend = RecordingAsyncBackend()

    async def go() -> None:
        async with async_client(
            STRICT_POLICY, resolver=table_resolver({}), network_backend=backend
        ) as c:
            await c.request("GET", "http://nxdomain.example/")

    with pytest.raises(UnreachableError, match=r"Unable to resolve hostname: nxdomain\.example"):
        anyio.run(go)
    assert backend.dials == []


@pytest.fixture
def silent_server() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)  # accepts into the backlog, never answers
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def test_timeout_is_request_timeout_error(silent_server: int) -> None:
    policy = provider_policy("lms", f"http://127.0.0.1:{silent_server}", None)

    async def go() -> None:
        async with async_client(policy, timeout=0.3) as c:
            await c.request("GET", f"http://127.0.0.1:{silent_server}/")

    started = time.monotonic()
    with pytest.raises(RequestTimeoutError):
        anyio.run(go)
    assert (
        time.monotonic() - started < 10
    )  # a hang guard, not a figure: bench/failfast.py measures it


def test_body_over_cap_raises_for_request_and_stream(server_a: LoopbackServer) -> None:
    server_a.routes["/big"] = (200, {}, b"x" * 5000)
    policy = policy_for(server_a)
    with pytest.raises(ResponseTooLargeError):
        fetch(policy, server_a.url("/big"), max_body_bytes=1000)
    assert fetch(policy, server_a.url("/big"), max_body_bytes=5000).content == b"x" * 5000

    async def streamed() -> None:
        async with (
            async_client(policy, max_body_bytes=1000) as c,
            c.stream("GET", server_a.url("/big")) as response,
        ):
            async for _ in response.aiter_bytes():
                pass

    with pytest.raises(ResponseTooLargeError):
        anyio.run(streamed)


def test_errors_and_logs_carry_the_origin_only(
    server_a: LoopbackServer, server_b: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://user:hunter2@127.0.0.1:{server_b.port}/secret/path?token=abc#frag"
    with (
        caplog.at_level(logging.WARNING, logger="openclaw.net"),
        pytest.raises(SsrfBlockedError) as info,
    ):
        fetch(policy_for(server_a), url)
    text = f"{info.value.message} {info.value.hint} {caplog.text}"
    assert f"http://127.0.0.1:{server_b.port}" in caplog.text
    for secret in ("hunter2", "user:", "secret/path", "token", "abc", "frag"):
        assert secret not in text


# --- proxies never bypass the guard --------------------------------------------------------


PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def test_proxy_environment_changes_nothing(
    server_a: LoopbackServer, server_b: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_proxy = next(serving_gen := serving())
    try:
        for name in PROXY_VARS:
            monkeypatch.setenv(name, with_proxy.origin)
        monkeypatch.setenv("NO_PROXY", "")
        policy = policy_for(server_a)
        assert fetch(policy, server_a.url("/v1/models")).status_code == 200
        with pytest.raises(SsrfBlockedError):
            fetch(policy, server_b.url("/v1/models"))
        assert fetch(policy, server_a.url("/v1/models")).status_code == 200
        assert len(server_a.requests) == 2
        assert with_proxy.requests == []  # the proxy saw nothing
    finally:
        serving_gen.close()


def test_proxy_environment_does_not_change_net_check_decisions() -> None:
    cases = [
        ["http://127.0.0.1:9/"],
        ["http://10.0.0.5:1234/v1", "--base-url", "http://10.0.0.5:1234/v1"],
        ["http://public.example/", "--resolve", "public.example=93.184.216.34"],
    ]
    proxy_env = {name: "http://127.0.0.1:9" for name in PROXY_VARS}
    for args in cases:
        plain = run_cli("net", "check", *args, "--json", "--no-dns")
        proxied = run_cli("net", "check", *args, "--json", "--no-dns", env=proxy_env)
        assert plain.returncode == proxied.returncode
        assert json.loads(plain.stdout) == json.loads(proxied.stdout)


def test_callers_cannot_override_the_host_header(server_a: LoopbackServer) -> None:
    response = fetch(policy_for(server_a), server_a.url("/v1/x"), headers={"Host": "evil.example"})
    assert response.status_code == 200
    assert server_a.requests[0].headers["host"] == f"127.0.0.1:{server_a.port}"


def test_stream_follows_same_origin_redirect(server_a: LoopbackServer) -> None:
    server_a.routes["/a"] = (302, {"Location": "/b"}, b"")

    async def go() -> tuple[int, bytes]:
        async with (
            async_client(policy_for(server_a)) as client,
            client.stream("GET", server_a.url("/a")) as r,
        ):
            return r.status_code, b"".join([chunk async for chunk in r.aiter_bytes()])

    assert anyio.run(go) == (200, b"hello from /b")


def test_configured_localhost_origin_through_the_system_resolver(server_a: LoopbackServer) -> None:
    # getaddrinfo("localhost") is answered from the hosts file; IPv4 is dialled first.
    policy = provider_policy("lms", f"http://localhost:{server_a.port}/v1", None)
    response = fetch(policy, f"http://localhost:{server_a.port}/v1/models")
    assert response.status_code == 200
    assert server_a.requests[0].headers["host"] == f"localhost:{server_a.port}"


def test_slow_dns_is_a_timeout_and_nothing_is_dialled() -> None:
    backend = RecordingAsyncBackend()

    def slow(host: str, port: int) -> list[str]:
        time.sleep(1.0)
        return ["93.184.216.34"]

    async def go() -> None:
        # (the connect timeout bounds DNS; the whole-request deadline is the longer 5 s)
        timeout = httpx2.Timeout(5.0, connect=0.2)
        async with async_client(
            STRICT_POLICY, resolver=slow, network_backend=backend, timeout=timeout
        ) as c:
            await c.request("GET", "http://slow.example/")

    started = time.monotonic()
    with pytest.raises(RequestTimeoutError, match="DNS lookup"):
        anyio.run(go)
    assert time.monotonic() - started < 4.5  # the 0.2 s connect timeout fired, not the 5 s deadline
    assert backend.dials == []


@pytest.fixture
def truncating_server() -> Iterator[int]:
    import threading

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)

    def serve() -> None:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def test_connection_dropped_mid_body_is_a_network_error(truncating_server: int) -> None:
    policy = provider_policy("lms", f"http://127.0.0.1:{truncating_server}", None)
    with pytest.raises(NetworkError) as info:
        fetch(policy, f"http://127.0.0.1:{truncating_server}/v1/models")
    assert f"http://127.0.0.1:{truncating_server}" in info.value.message
