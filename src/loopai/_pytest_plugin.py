"""pytest fixtures for code that uses loopai; registered through the ``pytest11`` entry point.

Fixtures (async ones need the anyio pytest plugin, which anyio provides):

- ``loopai_server``: a fresh `LocalServer` (not yet listening).
- ``loopai_url``: that server listening on loopback TCP; its base URL.
- ``loopai_client``: a `LoopaiClient` pointed at it, closed after the test.

This module lives outside `loopai.testing` and imports nothing of it until a
fixture is used, so installing loopai without the ``server`` extra (which
`loopai.testing` needs) never breaks pytest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from loopai import LoopaiClient
    from loopai.testing import LocalServer


@pytest.fixture
def loopai_server() -> LocalServer:
    """A fresh local Loopai server with a fixed seed."""
    from loopai.testing import LocalServer

    return LocalServer(seed=0)


@pytest.fixture
async def loopai_url(loopai_server: LocalServer) -> AsyncIterator[str]:
    """The base URL of ``loopai_server`` serving on 127.0.0.1."""
    async with loopai_server.serve() as url:
        yield url


@pytest.fixture
async def loopai_client(loopai_url: str) -> AsyncIterator[LoopaiClient]:
    """A client of ``loopai_url`` with short retry waits."""
    from loopai import LoopaiClient
    from loopai.testing import FAST_RETRIES

    async with LoopaiClient(loopai_url, retry_policy=FAST_RETRIES) as client:
        yield client
