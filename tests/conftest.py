"""Shared fixtures: both anyio backends, stamina's testing mode, a spam task."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import stamina

from loopai import LoopaiClient, Task
from loopai.testing import LocalServer

HAS_TRIO = importlib.util.find_spec("trio") is not None

SPAM_TASK: dict[str, Any] = {
    "name": "spam-classifier",
    "description": "Classify emails as spam or not spam",
    "input_schema": {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    },
    "output_schema": {"type": "string", "enum": ["spam", "not_spam"]},
    "accuracy_target": 0.95,
    "latency_target_ms": 50,
}


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param(
            "trio",
            id="trio",
            marks=pytest.mark.skipif(not HAS_TRIO, reason="trio is not installed"),
        ),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs under asyncio and under trio."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _retries_without_waits() -> Iterator[None]:
    """Stamina's testing mode: no backoff waits, the client's own attempt counts kept."""
    with stamina.set_testing(True, attempts=1000, cap=True):
        yield


@pytest.fixture
async def spam_task(loopai_client: LoopaiClient) -> Task:
    """The spec's spam classifier, created on the test's server."""
    return await loopai_client.create_task(**SPAM_TASK)


@pytest.fixture
async def quiet_server_url() -> AsyncIterator[tuple[LocalServer, str]]:
    """A server with no quirks (compact JSON, exact numbers) over TCP."""
    from loopai.testing import ServerQuirks

    server = LocalServer(seed=0, quirks=ServerQuirks.none())
    async with server.serve() as url:
        yield server, url
