"""The map_batches callable: one client per actor, the batch runner per block, the budget per request."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.from_thread
import pyarrow as pa

from loopai import (
    BatchExecuteItem,
    BatchExecuteResult,
    BatchOptions,
    LoopaiClient,
    RateLimitException,
    RetryPolicy,
)

from ._budget_actor import BudgetClient
from ._columns import InputSpec, inputs_of, with_results
from ._secret import SecretRef

__all__ = ["BlockExecutor", "WorkerConfig"]


@dataclass
class _RateLimitSeen:
    """Filled in when a request made in this context was answered 429; ``report`` tells the budget at once."""

    report: Callable[[float | None], object]
    hit: bool = False
    retry_after: float | None = None


_seen: contextvars.ContextVar[_RateLimitSeen | None] = contextvars.ContextVar("loopai_ray_429", default=None)


@dataclass(frozen=True)
class _ClusterRetryPolicy(RetryPolicy):
    """The client's policy, except that a 429 is handed to the cluster budget instead of retried here.

    Retrying a 429 inside one actor would resend on that actor's own clock;
    the budget instead pauses every actor until the server's window resets.
    """

    def wait_before_retry(self, exc: BaseException, retry: int, rng: Any = None) -> float | None:
        """None (do not retry here) for a 429, which the cluster budget handles; else the policy's wait."""
        if _hand_over(exc):
            return None
        return super().wait_before_retry(exc, retry, rng)


def _hand_over(exc: BaseException) -> bool:
    """Whether ``exc`` is a 429, noted for the chunk that got it (then the budget handles it)."""
    if not isinstance(exc, RateLimitException):
        return False
    seen = _seen.get()
    if seen is not None:
        seen.hit = True
        seen.retry_after = exc.retry_after
        # Now, not when the chunk's call returns: every permit granted meanwhile may be another 429.
        seen.report(exc.retry_after)
    return True


@dataclass(frozen=True)
class WorkerConfig:
    """Everything an actor needs, picklable and free of the key itself (it travels as a `SecretRef`)."""

    task_id: str
    input: InputSpec
    budget: Any
    base_url: str | None = None
    api_key: SecretRef | None = None
    timeout: float = 30.0
    max_retries: int = 3
    chunk_size: int = 1000
    requests_in_flight: int = 2
    max_concurrency: int = 10
    version: int | None = None
    timeout_ms: int | None = None
    rate_limit_retries: int = 10
    headers: dict[str, str] = field(default_factory=dict)


def _never_ran(result: BatchExecuteResult) -> bool:
    return not result.success and result.execution_id is None


class BlockExecutor:
    """Called by Ray Data with each batch of rows (an Arrow table); returns it with result columns.

    The actor keeps one event loop (an anyio blocking portal in a thread) and
    one `LoopaiClient` for its lifetime.  A batch is split into requests of
    ``chunk_size`` rows whose item ids are the rows' positions in the batch;
    up to ``requests_in_flight`` run at once, each a `batch_execute_advanced`
    call of one chunk after a permit from the cluster budget.  (Which pool a
    batch call uses is the client's business: this release's batch runner
    opens one per call.)
    """

    def __init__(self, config: WorkerConfig) -> None:
        self._config = config
        self._budget = BudgetClient(config.budget)
        self._stack = ExitStack()
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        api_key = config.api_key.resolve().reveal() if config.api_key is not None else None
        self._client = LoopaiClient(
            config.base_url,
            api_key,
            timeout=config.timeout,
            headers=config.headers or None,
            max_connections=config.requests_in_flight,
            retry_policy=_ClusterRetryPolicy(max_retries=config.max_retries),
            batch_options=BatchOptions(chunk_size=config.chunk_size, concurrency=1),
        )

    def __repr__(self) -> str:
        return f"BlockExecutor(task_id={self._config.task_id!r}, client={self._client!r})"

    def __call__(self, table: pa.Table) -> pa.Table:
        inputs = inputs_of(table, self._config.input)
        results = self._portal.call(self._run_block, inputs)
        return with_results(table, results)

    def __del__(self) -> None:
        # Ray may tear the actor down half-built or after its loop is gone: close what is there.
        with suppress(Exception):
            self._portal.call(self._client.aclose)
        with suppress(Exception):
            self._stack.close()

    async def _run_block(self, inputs: list[dict[str, Any]]) -> list[BatchExecuteResult]:
        results: list[BatchExecuteResult | None] = [None] * len(inputs)
        slots = anyio.Semaphore(self._config.requests_in_flight)
        size = self._config.chunk_size
        async with anyio.create_task_group() as group:
            for start in range(0, len(inputs), size):
                await slots.acquire()
                items = [
                    BatchExecuteItem(id=str(start + offset), input=value)
                    for offset, value in enumerate(inputs[start : start + size])
                ]
                group.start_soon(self._run_chunk, items, start, results, slots)
        assert all(result is not None for result in results)
        return results  # type: ignore[return-value]

    async def _run_chunk(
        self,
        items: list[BatchExecuteItem],
        start: int,
        results: list[BatchExecuteResult | None],
        slots: anyio.Semaphore,
    ) -> None:
        try:
            pending = items
            for attempt in range(self._config.rate_limit_retries + 1):
                await self._budget.acquire(len(pending))
                seen = _RateLimitSeen(self._budget.report_rate_limited)
                token = _seen.set(seen)
                try:
                    response = await self._client.batch_execute_advanced(
                        task_id=self._config.task_id,
                        items=pending,
                        max_concurrency=self._config.max_concurrency,
                        version=self._config.version,
                        timeout_ms=self._config.timeout_ms,
                    )
                finally:
                    _seen.reset(token)
                for result in response.results:
                    results[int(result.id)] = result
                if not seen.hit or attempt == self._config.rate_limit_retries:
                    return
                # Only what never reached a program is sent again: no item runs twice.
                retry = {result.id for result in response.results if _never_ran(result)}
                pending = [item for item in pending if item.id in retry]
                if not pending:
                    return
        finally:
            slots.release()
