"""The ledger of a batch job, without I/O: which result each item gets, and what the job adds up to.

- `match` gives every id of a chunk exactly one result, whatever the
  server's answer holds (any order, repeated or unknown ids, ids missing).
- `StopRule` is the stop-on-first-error state: the first failed item, and
  the reason given to the items that never ran.
- `ReorderWindow` releases chunk results in input order and never holds
  more than its bound.
- `Totals` counts results and merges the chunk responses into one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from .._models import BatchExecuteResponse, BatchExecuteResult
from ._options import SERVER_BODY_LIMIT

__all__ = [
    "MISSING",
    "TOO_LARGE",
    "ReorderWindow",
    "StopRule",
    "Totals",
    "chunk_failed",
    "failed",
    "match",
]

MISSING = "the server returned no result for this item"
TOO_LARGE = f"not sent: the item exceeds the server's {SERVER_BODY_LIMIT:,}-byte body limit"


def failed(ids: Iterable[str], message: str) -> list[BatchExecuteResult]:
    """A failed result for each id, all with ``message``."""
    return [BatchExecuteResult(id=item_id, success=False, error_message=message) for item_id in ids]


def chunk_failed(ids: Iterable[str], exc: BaseException) -> list[BatchExecuteResult]:
    """The results of a chunk whose request failed for good with ``exc``."""
    return failed(ids, f"the chunk request failed: {type(exc).__name__}: {exc}")


def match(ids: list[str], results: list[BatchExecuteResult]) -> list[BatchExecuteResult]:
    """One result per id, in the order of ``ids``.

    The server's result for an id if it sent one (the first, if it sent
    several), else a failed result saying none came; results for ids not
    asked about are dropped.
    """
    if len(results) == len(ids) and all(r.id == i for r, i in zip(results, ids, strict=True)):
        return results
    by_id: dict[str, BatchExecuteResult] = {}
    for result in results:
        by_id.setdefault(result.id, result)
    return [
        by_id.pop(item_id)
        if item_id in by_id
        else BatchExecuteResult(id=item_id, success=False, error_message=MISSING)
        for item_id in ids
    ]


class StopRule:
    """Stop-on-first-error: once an item fails, no further chunk is sent.

    Args:
        enabled: Whether the job stops at its first failed item at all.
    """

    __slots__ = ("enabled", "stopped_by")

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        #: The id of the failed item that stopped the job, once it has stopped.
        self.stopped_by: str | None = None

    def check(self, results: list[BatchExecuteResult]) -> bool:
        """Note a chunk's results; True if they stop the job now (chunks in flight should be cancelled)."""
        if not self.enabled or self.stopped_by is not None:
            return False
        for result in results:
            if not result.success:
                self.stopped_by = result.id
                return True
        return False

    def _why(self) -> str:
        return f"the batch stopped at the first error (item {self.stopped_by!r})"

    def not_run(self, ids: Iterable[str]) -> list[BatchExecuteResult]:
        """Results of a chunk not sent because the job had stopped."""
        return failed(ids, f"not run: {self._why()}")

    def cancelled(self, ids: Iterable[str]) -> list[BatchExecuteResult]:
        """Results of a chunk whose request was cancelled by the stop."""
        return failed(ids, f"cancelled in flight: {self._why()}; the server may have run it")


class ReorderWindow:
    """Chunks between being read and being delivered, at most ``bound`` of them.

    `open` admits the next chunk (numbered 0, 1, ...); `close` takes a
    chunk's results, in any order, and returns the results now ready:
    the chunk's own when unordered, else every chunk that completes the
    input order so far.  Opening past the bound is a bug of the caller,
    refused with `RuntimeError`, so memory stays bounded.
    """

    __slots__ = ("_held", "_in_flight", "_next_delivery", "_opened", "bound", "ordered")

    def __init__(self, bound: int, *, ordered: bool) -> None:
        if bound < 1:
            raise ValueError(f"a reorder window needs room for a chunk, got bound {bound}")
        self.bound = bound
        self.ordered = ordered
        self._opened = 0
        self._in_flight: set[int] = set()
        self._held: dict[int, list[BatchExecuteResult]] = {}
        self._next_delivery = 0

    @property
    def open_chunks(self) -> int:
        """Chunks opened and not yet delivered (in flight or held)."""
        return len(self._in_flight) + len(self._held)

    @property
    def held(self) -> int:
        """Chunks complete but waiting for an earlier one."""
        return len(self._held)

    @property
    def has_room(self) -> bool:
        """Whether another chunk may be opened."""
        return self.open_chunks < self.bound

    def open(self) -> int:
        """Admit the next chunk; returns its number."""
        if not self.has_room:
            raise RuntimeError(f"the reorder window is full ({self.bound} chunks)")
        seq = self._opened
        self._opened += 1
        self._in_flight.add(seq)
        return seq

    def close(self, seq: int, results: list[BatchExecuteResult]) -> list[list[BatchExecuteResult]]:
        """Take chunk ``seq``'s results; returns the chunks' results ready for delivery, in order."""
        if seq not in self._in_flight:
            raise RuntimeError(f"chunk {seq} is not open")
        self._in_flight.remove(seq)
        if not self.ordered:
            return [results]
        self._held[seq] = results
        ready = []
        while self._next_delivery in self._held:
            ready.append(self._held.pop(self._next_delivery))
            self._next_delivery += 1
        return ready


class Totals:
    """What the job's chunks add up to: counts for progress, and the merged response's figures."""

    __slots__ = (
        "_batch_ids",
        "_latency_items",
        "_latency_weighted",
        "done",
        "failed",
        "server_version",
        "total",
    )

    def __init__(self, total: int | None) -> None:
        #: All items, when the input's length is known.
        self.total = total
        #: Items with a result so far, and of those the failed ones.
        self.done = 0
        self.failed = 0
        #: The program version the server last reported.
        self.server_version: int | None = None
        self._batch_ids: dict[int, UUID] = {}
        self._latency_weighted = 0.0
        self._latency_items = 0

    def count(self, results: list[BatchExecuteResult]) -> None:
        """Add delivered results to ``done`` and ``failed``."""
        self.done += len(results)
        self.failed += sum(1 for result in results if not result.success)

    def record(self, seq: int, response: BatchExecuteResponse) -> None:
        """Note chunk ``seq``'s response: its batch id, version and latency."""
        self._batch_ids[seq] = response.batch_id
        self.server_version = response.version
        self._latency_weighted += response.avg_latency_ms * response.total_items
        self._latency_items += response.total_items

    @property
    def batch_ids(self) -> list[UUID]:
        """The server's batch ids, in chunk order (chunks that got no answer have none)."""
        return [self._batch_ids[seq] for seq in sorted(self._batch_ids)]

    @property
    def avg_latency_ms(self) -> float:
        """Mean latency over the items the server reported on."""
        return self._latency_weighted / self._latency_items if self._latency_items else 0.0

    def merge(
        self,
        results: list[BatchExecuteResult],
        *,
        task_id: UUID,
        version: int | None,
        new_batch_id: UUID,
        started_at: datetime,
        completed_at: datetime,
        duration_ms: float,
    ) -> BatchExecuteResponse:
        """One response for the whole job.

        Its ``batch_id`` is the server's when one chunk answered, else
        ``new_batch_id``; ``chunk_batch_ids`` lists the server's ids.
        """
        batch_ids = self.batch_ids
        succeeded = sum(1 for result in results if result.success)
        return BatchExecuteResponse(
            batch_id=batch_ids[0] if len(batch_ids) == 1 else new_batch_id,
            task_id=task_id,
            version=self.server_version if self.server_version is not None else (version or 0),
            total_items=len(results),
            success_count=succeeded,
            failure_count=len(results) - succeeded,
            total_duration_ms=duration_ms,
            avg_latency_ms=self.avg_latency_ms,
            results=results,
            started_at=started_at,
            completed_at=completed_at,
            chunk_batch_ids=batch_ids,
        )
