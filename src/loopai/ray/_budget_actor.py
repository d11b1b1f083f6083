"""The named Ray actor that holds a job's `RateBudget`, and the handle actors talk to."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
import ray

from ._budget import BudgetStats, RateBudget

__all__ = ["BudgetClient", "budget_actor"]


class _BudgetActor:
    """One `RateBudget` for the whole cluster; every call is short and never blocks."""

    def __init__(self, requests_per_second: float | None, items_per_second: float | None) -> None:
        self._budget = RateBudget(requests_per_second, items_per_second)

    def acquire(self, items: int) -> float:
        return self._budget.acquire(items)

    def rate_limited(self, retry_after: float | None) -> None:
        self._budget.rate_limited(retry_after)

    def stats(self) -> BudgetStats:
        return self._budget.stats()


def budget_actor(
    name: str, requests_per_second: float | None, items_per_second: float | None, namespace: str | None = None
) -> Any:
    """The named budget actor, created if it does not exist yet (then the rates apply).

    It takes no CPU (so it never waits for one) and restarts if its process
    dies, with a fresh budget.
    """
    actor_class: Any = ray.remote(_BudgetActor)
    return actor_class.options(
        name=name,
        namespace=namespace,
        get_if_exists=True,
        num_cpus=0,
        max_restarts=-1,
        max_task_retries=-1,
    ).remote(requests_per_second, items_per_second)


def _get(ref: Any) -> Any:
    return ray.get(ref)


class BudgetClient:
    """An actor's side of the budget: waits for permits and reports 429s, from async code.

    Ray's blocking calls run in a worker thread, so this works on any anyio backend.
    """

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    async def acquire(self, items: int) -> None:
        """Wait until the budget grants one request of ``items`` items."""
        while True:
            wait: float = await anyio.to_thread.run_sync(_get, self._handle.acquire.remote(items))
            if wait <= 0:
                return
            await anyio.sleep(wait)

    def report_rate_limited(self, retry_after: float | None) -> None:
        """Tell the budget that a request was answered 429 (sent without waiting for an answer)."""
        self._handle.rate_limited.remote(retry_after)
