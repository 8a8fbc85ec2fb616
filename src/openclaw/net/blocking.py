"""The guarded client for synchronous callers (the engine's lifetime code, spec resolution).

There is one client implementation, the asynchronous one in :mod:`openclaw.net.client`; this
drives it on an event loop of its own in a worker thread (an anyio blocking portal), so the
same policy checks, DNS pinning, deadlines and body caps apply. It works from plain code and
from inside a running event loop alike.
"""

from __future__ import annotations

from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    import httpx2

    from openclaw.net.policy import NetPolicy


class BlockingClient:
    """``request()`` and ``close()`` of a :class:`GuardedAsyncClient`, called synchronously."""

    def __init__(self, policy: NetPolicy, **options: Any) -> None:
        from anyio.from_thread import start_blocking_portal

        from openclaw.net.client import async_client

        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        try:
            self._client = self._portal.call(partial(_make, async_client, policy, options))
        except BaseException:
            self._portal_cm.__exit__(None, None, None)
            raise

    def request(self, method: str, url: str, **kwargs: Any) -> httpx2.Response:
        """As :meth:`GuardedAsyncClient.request` (raises the same errors)."""
        return self._portal.call(partial(self._client.request, method, url, **kwargs))

    def close(self) -> None:
        try:
            self._portal.call(self._client.aclose)
        finally:
            self._portal_cm.__exit__(None, None, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def _make(factory: Any, policy: NetPolicy, options: dict[str, Any]) -> Any:
    # Created on the portal's loop, where its connections will live.
    return factory(policy, **options)


def blocking_client(policy: NetPolicy, **options: Any) -> BlockingClient:
    """A synchronous guarded client (same keywords as ``net.client.async_client``)."""
    return BlockingClient(policy, **options)


__all__ = ["BlockingClient", "blocking_client"]
