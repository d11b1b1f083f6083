"""The loopai fixtures that pytest-asyncio runs; loaded by `loopai._pytest_plugin` only when it is active.

In strict mode pytest-asyncio runs only the async fixtures it marked itself,
so the async client for its tests is declared with `pytest_asyncio.fixture`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, TypeVar, cast

import pytest_asyncio  # type: ignore[import-not-found,unused-ignore]

from ._pytest_plugin import new_test_client

if TYPE_CHECKING:
    from loopai import LoopaiClient

F = TypeVar("F", bound=Callable[..., object])


def fixture(function: F) -> F:
    """`pytest_asyncio.fixture`, typed the same with or without pytest-asyncio's annotations."""
    return cast("F", pytest_asyncio.fixture(function))


@fixture
async def _loopai_client_pytest_asyncio(loopai_url: str) -> AsyncIterator[LoopaiClient]:
    async with new_test_client(loopai_url) as client:
        yield client
