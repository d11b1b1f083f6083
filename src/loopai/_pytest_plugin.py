"""pytest fixtures for code that uses loopai; registered through the ``pytest11`` entry point.

Fixtures, for every test runner: async tests run by anyio's pytest plugin
(asyncio or trio), async tests run by pytest-asyncio (strict or auto mode),
and plain test functions:

- ``loopai_server``: a fresh `LocalServer` (not yet listening).
- ``loopai_url``: that server listening on loopback TCP; its base URL.  In
  anyio tests it serves from the test's own event loop (so
  ``await loopai_server.wait_for_requests(...)`` works); elsewhere, and
  whenever ``loopai_sync_client`` is used, from a background thread.
- ``loopai_client``: a `LoopaiClient` pointed at it, closed after the test
  (async tests only).
- ``loopai_sync_client``: a `SyncLoopaiClient` pointed at it, closed after
  the test (any test).

This module lives outside `loopai.testing` and imports nothing of it until a
fixture is used, so installing loopai without the ``server`` extra (which
`loopai.testing` needs) never breaks pytest.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from loopai import LoopaiClient, SyncLoopaiClient
    from loopai.testing import LocalServer


def _runner(request: pytest.FixtureRequest) -> str:
    """Which plugin runs this test: "anyio", "pytest-asyncio", or "" (a plain test)."""
    if "anyio_backend" in request.fixturenames:
        return "anyio"
    pytest_asyncio: Any = sys.modules.get("pytest_asyncio")
    if pytest_asyncio is not None and pytest_asyncio.is_async_test(request.node):
        return "pytest-asyncio"
    return ""


@pytest.fixture
def loopai_server() -> LocalServer:
    """A fresh local Loopai server with a fixed seed."""
    from loopai.testing import LocalServer

    return LocalServer(seed=0)


@pytest.fixture
def loopai_url(request: pytest.FixtureRequest) -> str:
    """The base URL of ``loopai_server`` serving on 127.0.0.1."""
    if _runner(request) == "anyio" and "loopai_sync_client" not in request.fixturenames:
        return cast("str", request.getfixturevalue("_loopai_url_in_test_loop"))
    # A server on the test's loop would stall while blocking code waits on it,
    # and pytest-asyncio runs a fixture's setup and teardown in different tasks.
    return cast("str", request.getfixturevalue("_loopai_url_in_thread"))


@pytest.fixture
async def _loopai_url_in_test_loop(loopai_server: LocalServer) -> AsyncIterator[str]:
    async with loopai_server.serve() as url:
        yield url


@pytest.fixture
def _loopai_url_in_thread(loopai_server: LocalServer) -> Iterator[str]:
    with loopai_server.serve_in_thread() as url:
        yield url


@pytest.fixture
def loopai_client(request: pytest.FixtureRequest) -> LoopaiClient:
    """A `LoopaiClient` of ``loopai_url`` with short retry waits (async tests)."""
    runner = _runner(request)
    if runner == "anyio":
        return cast("LoopaiClient", request.getfixturevalue("_loopai_client_anyio"))
    if runner == "pytest-asyncio":
        return cast("LoopaiClient", request.getfixturevalue("_loopai_client_pytest_asyncio"))
    raise pytest.UsageError(
        "loopai_client is an async client: use it in an async test run by anyio's pytest plugin"
        " (@pytest.mark.anyio) or by pytest-asyncio (@pytest.mark.asyncio), or use"
        " loopai_sync_client in a plain test"
    )


def new_test_client(url: str) -> LoopaiClient:
    """The async client of the fixtures: short retry waits."""
    from loopai import LoopaiClient
    from loopai.testing import FAST_RETRIES

    return LoopaiClient(url, retry_policy=FAST_RETRIES)


@pytest.fixture
async def _loopai_client_anyio(loopai_url: str) -> AsyncIterator[LoopaiClient]:
    async with new_test_client(loopai_url) as client:
        yield client


@pytest.fixture
def loopai_sync_client(loopai_url: str) -> Iterator[SyncLoopaiClient]:
    """A `SyncLoopaiClient` of ``loopai_url`` with short retry waits (any test)."""
    from loopai import SyncLoopaiClient
    from loopai.testing import FAST_RETRIES

    with SyncLoopaiClient(loopai_url, retry_policy=FAST_RETRIES) as client:
        yield client


def pytest_configure(config: pytest.Config) -> None:
    """Add the pytest-asyncio fixtures when that plugin is active."""
    plugin = sys.modules.get("pytest_asyncio.plugin")
    if plugin is not None and config.pluginmanager.is_registered(plugin):
        config.pluginmanager.import_plugin("loopai._pytest_asyncio_fixtures")
