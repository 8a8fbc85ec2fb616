"""Resolve-check-pin: httpcore2 network backends that dial only validated addresses.

The guard validates a hop and stores its pinned addresses in a context variable for the
duration of that request. httpcore2 opens connections in the task that sends the
request, so ``connect_tcp(host, port)`` sees exactly the pins of its own request. It ignores
DNS entirely: it dials the pinned IP literals in order (IPv4 first) and refuses a host/port it
has no pins for. TLS still gets the host name (httpcore2 passes the origin host as
``server_hostname``), and the ``Host`` header is untouched.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore2

from openclaw.errors import SsrfBlockedError
from openclaw.net.addresses import MALFORMED, classify
from openclaw.net.hosts import parse_host


@dataclass(frozen=True)
class Pins:
    host: str  # normalised host (hosts.parse_host(...).value)
    port: int
    addresses: tuple[str, ...]


CURRENT_PINS: contextvars.ContextVar[Pins | None] = contextvars.ContextVar(
    "openclaw_net_pins", default=None
)


def _pinned_addresses(host: str, port: int) -> tuple[str, ...]:
    pins = CURRENT_PINS.get()
    name = parse_host(host).value
    if pins is None or pins.host != name or pins.port != port or not pins.addresses:
        raise SsrfBlockedError(
            "Blocked: connection target was not validated by the network guard",
            hint="Every request must go through openclaw.net's client.",
        )
    for address in pins.addresses:
        # Re-assert at connect time that what we dial is an IP literal, not a name.
        if parse_host(address).value != address or classify(address) & MALFORMED:
            raise SsrfBlockedError("Blocked: pinned address is not an IP literal")
    return pins.addresses


class PinnedAsyncBackend(httpcore2.AsyncNetworkBackend):
    def __init__(self, inner: httpcore2.AsyncNetworkBackend | None = None) -> None:
        if inner is None:
            from httpcore2._backends.auto import AutoBackend

            inner = AutoBackend()
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        last: Exception | None = None
        for address in _pinned_addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore2.ConnectTimeout:
                raise
            except httpcore2.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise SsrfBlockedError("Blocked: unix sockets are not reachable through the network guard")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
