from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.net.helpers import LoopbackServer, serving


@pytest.fixture
def server_a() -> Iterator[LoopbackServer]:
    yield from serving()


@pytest.fixture
def server_b() -> Iterator[LoopbackServer]:
    yield from serving()
