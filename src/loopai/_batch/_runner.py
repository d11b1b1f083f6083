"""Running a batch job on anyio: the thin shell around the plan and the ledger.

One task reads the items and cuts chunks (`ChunkPlanner`); each chunk gets
a task that waits for a place (`CapacityLimiter`, before anything is sent),
sends it through the `SendChunk` it was handed, and delivers its results
through the `ReorderWindow`.  Whatever fails, retries, stops or is
cancelled, every item gets exactly one result.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Iterable,
    Iterator,
    Mapping,
    Sized,
)
from contextlib import aclosing
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

import anyio

from .._exceptions import BatchException, InvalidArgumentException, LoopaiException
from .._models import BatchExecuteResponse, BatchExecuteResult
from ._ledger import TOO_LARGE, ReorderWindow, StopRule, Totals, chunk_failed, failed, match
from ._options import BatchProgress, JobSettings
from ._pacing import Pacer
from ._plan import (
    Chunk,
    ChunkPlanner,
    IdPolicy,
    ItemEncoder,
    encode_all,
    encode_chunk_request,
    plan_chunks,
    positional_chunks,
)

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from types import TracebackType

    from anyio.abc import TaskGroup
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
    from typing_extensions import Self

__all__ = ["BatchStream", "SendChunk", "run_batch", "stream_batch"]

_Results = list[BatchExecuteResult]


class SendChunk(Protocol):
    """Sends one chunk request and returns its decoded answer.

    ``body`` is the encoded ``POST /batch/execute`` request and
    ``item_count`` the number of items in it (for pacing).  Retries are the
    sender's business: when the chunk has failed for good it raises a
    `LoopaiException`, and the chunk's items fail with that reason.  Any
    other exception is a bug and ends the job with `BatchException`.
    """

    async def __call__(self, body: bytes, item_count: int) -> BatchExecuteResponse: ...


def _check_inputs(inputs: object, *, lazy: bool) -> None:
    kinds = (Iterable, AsyncIterable) if lazy else (Iterable,)
    if isinstance(inputs, (str, bytes, Mapping)) or not isinstance(inputs, kinds):
        what = "an iterable or async iterable" if lazy else "an iterable"
        raise InvalidArgumentException("inputs", f"must be {what} of items, got {type(inputs).__name__}")


class _NoLimit:
    """An async context manager that waits for nothing (a job of one request needs no limiter)."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


_NO_LIMIT = _NoLimit()


class _Job:
    """One running job: what it was asked, how it sends, its ledger, and the gates of the shell."""

    def __init__(
        self, settings: JobSettings, send_chunk: SendChunk, *, total: int | None, ordered: bool
    ) -> None:
        options = settings.options
        bound = options.window if ordered else options.concurrency
        self.settings = settings
        self.send_chunk = send_chunk
        self.window = ReorderWindow(bound, ordered=ordered)
        self.room = anyio.Semaphore(bound)  # waits for `window.has_room`
        self.stop = StopRule(enabled=settings.stop_on_first_error)
        self.totals = Totals(total)
        self.limiter = anyio.CapacityLimiter(options.concurrency)
        self.pacer = Pacer(options.requests_per_second, options.items_per_second)
        self.in_flight: dict[int, anyio.CancelScope] = {}
        self.delivery = anyio.Lock()
        self.started = 0.0

    async def produce(
        self,
        group: TaskGroup,
        send: MemoryObjectSendStream[_Results],
        chunks: Iterable[Chunk] | AsyncGenerator[Chunk, None],
    ) -> None:
        """Start a task for each chunk, as the window makes room."""
        async with send:
            if isinstance(chunks, AsyncGenerator):
                async with aclosing(chunks):
                    async for chunk in chunks:
                        await self._start(group, send, chunk)
            else:
                for chunk in chunks:
                    await self._start(group, send, chunk)

    async def run_alone(self, chunk: Chunk) -> _Results:
        """A job of one chunk: its request, with no tasks, window or stream around it."""
        self.started = anyio.current_time()
        results = await self._request(0, chunk, limited=False)
        self.totals.count(results)
        if self.settings.progress is not None:
            totals = self.totals
            elapsed = anyio.current_time() - self.started
            try:
                self.settings.progress(BatchProgress(totals.done, totals.failed, totals.total, elapsed))
            except Exception as exc:
                raise BatchException(f"the batch job failed: {type(exc).__name__}: {exc}") from exc
        return results

    async def _start(self, group: TaskGroup, send: MemoryObjectSendStream[_Results], chunk: Chunk) -> None:
        await self.room.acquire()
        seq = self.window.open()
        group.start_soon(self._run_chunk, seq, chunk, send.clone(), name=f"loopai._batch chunk {seq}")

    async def _run_chunk(self, seq: int, chunk: Chunk, send: MemoryObjectSendStream[_Results]) -> None:
        async with send:
            await self._deliver(seq, await self._request(seq, chunk), send)

    async def _request(self, seq: int, chunk: Chunk, *, limited: bool = True) -> _Results:
        if self.stop.stopped_by is not None:
            return self.stop.not_run(chunk.ids)
        if chunk.too_large:
            return failed(chunk.ids, TOO_LARGE)
        body = encode_chunk_request(self.settings, chunk)
        chunk.items.clear()  # the body holds them now
        async with self.limiter if limited else _NO_LIMIT:
            if self.stop.stopped_by is not None:
                return self.stop.not_run(chunk.ids)
            sent = False
            with anyio.CancelScope() as scope:  # cancelled by a stop, see `_deliver`
                self.in_flight[seq] = scope
                try:
                    await self.pacer.wait(len(chunk.ids))
                    sent = True
                    response = await self.send_chunk(body, len(chunk.ids))
                except LoopaiException as exc:
                    return chunk_failed(chunk.ids, exc)
                finally:
                    del self.in_flight[seq]
            if scope.cancelled_caught:
                return self.stop.cancelled(chunk.ids) if sent else self.stop.not_run(chunk.ids)
        self.totals.record(seq, response)
        return match(chunk.ids, response.results)

    async def _deliver(self, seq: int, results: _Results, send: MemoryObjectSendStream[_Results]) -> None:
        if self.stop.check(results):
            for scope in self.in_flight.values():
                scope.cancel()
        async with self.delivery:
            for ready in self.window.close(seq, results):
                self.totals.count(ready)
                try:
                    await send.send(ready)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass  # the consumer left; the job is being torn down
                finally:
                    self.room.release()
                if self.settings.progress is not None:
                    totals = self.totals
                    elapsed = anyio.current_time() - self.started
                    self.settings.progress(BatchProgress(totals.done, totals.failed, totals.total, elapsed))


class BatchStream:
    """Results of a batch job as they come: an async context manager and async iterator.

    Entering starts the job; leaving, early or not, cancels whatever still
    runs, so no task outlives the block.  An exception raised by the code
    in the block propagates unchanged; a failure of the job itself raises
    `BatchException` (its ``__cause__`` is the exception group).
    """

    def __init__(self, job: _Job, chunks: Iterable[Chunk] | AsyncGenerator[Chunk, None]) -> None:
        self._job = job
        self._chunks = chunks
        self._group: TaskGroup | None = None
        self._results: MemoryObjectReceiveStream[_Results] | None = None
        self._batch: Iterator[BatchExecuteResult] = iter(())

    async def __aenter__(self) -> Self:
        if self._group is not None:
            raise RuntimeError("a BatchStream can be entered only once")
        send, self._results = anyio.create_memory_object_stream[_Results](
            self._job.settings.options.concurrency
        )
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._job.started = anyio.current_time()
        self._group.start_soon(
            self._job.produce, self._group, send, self._chunks, name="loopai._batch producer"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        group, results = self._group, self._results
        if group is None or results is None:
            raise RuntimeError("a BatchStream is used with `async with`")
        group.cancel_scope.cancel()  # whatever still runs is no longer wanted
        try:
            if exc is not None and not isinstance(exc, anyio.get_cancelled_exc_class()):
                # The block's own error: the job ends under it, and the error goes on as it was.
                try:
                    await group.__aexit__(None, None, None)
                except BaseExceptionGroup:
                    raise exc  # noqa: B904 - the job's failures stay on as its __context__
                return False
            try:
                return await group.__aexit__(exc_type, exc, tb)
            except BaseExceptionGroup as failures:
                if failures.split(Exception)[1] is not None:
                    raise  # KeyboardInterrupt and the like are not the job's to rename
                raise BatchException(f"the batch job failed: {_describe(failures)}") from failures
        finally:
            results.close()

    def __aiter__(self) -> AsyncIterator[BatchExecuteResult]:
        return self

    async def __anext__(self) -> BatchExecuteResult:
        result = next(self._batch, None)
        while result is None:
            batch = await self._next_batch()
            if batch is None:
                raise StopAsyncIteration
            self._batch = iter(batch)
            result = next(self._batch, None)
        return result

    async def _next_batch(self) -> _Results | None:
        """The next delivered chunk's results, or None at the end of the job."""
        if self._results is None:
            raise RuntimeError("iterate a BatchStream inside `async with`")
        try:
            return await self._results.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return None


def _describe(group: BaseExceptionGroup[Exception]) -> str:
    """The group's errors in a line (the group itself stays the `BatchException`'s cause)."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            pending[:0] = exc.exceptions
        else:
            leaves.append(exc)
    text = "; ".join(f"{type(exc).__name__}: {exc}" for exc in leaves[:3])
    return text + (f" (and {len(leaves) - 3} more)" if len(leaves) > 3 else "")


async def _plan_each(
    inputs: AsyncIterable[object], encoder: ItemEncoder, planner: ChunkPlanner
) -> AsyncGenerator[Chunk, None]:
    async for value in inputs:
        chunk = planner.add(*encoder.encode(value))
        if chunk is not None:
            yield chunk
    last = planner.flush()
    if last is not None:
        yield last


def stream_batch(
    settings: JobSettings,
    inputs: Iterable[object] | AsyncIterable[object],
    send_chunk: SendChunk,
    *,
    ordered: bool,
) -> BatchStream:
    """A stream of the job's results; the items are read lazily, as the job needs them.

    The first item decides the id rule (`IdPolicy.of_first`): input dicts
    get their positions, `BatchExecuteItem` keep their ids (a repeat ends
    the job with `BatchException`).

    Raises:
        InvalidArgumentException: ``inputs`` is not an iterable of items.
    """
    _check_inputs(inputs, lazy=True)
    encoder = ItemEncoder()
    options = settings.options
    chunks: Iterable[Chunk] | AsyncGenerator[Chunk, None]
    if isinstance(inputs, AsyncIterable):
        chunks = _plan_each(inputs, encoder, ChunkPlanner(options.chunk_size, options.max_chunk_bytes))
    else:
        chunks = plan_chunks(map(encoder.encode, inputs), options.chunk_size, options.max_chunk_bytes)
    total = len(inputs) if isinstance(inputs, Sized) else None
    return BatchStream(_Job(settings, send_chunk, total=total, ordered=ordered), chunks)


async def run_batch(
    settings: JobSettings,
    inputs: Iterable[object],
    send_chunk: SendChunk,
    *,
    policy: IdPolicy,
) -> BatchExecuteResponse:
    """Run a whole job; one response with a result per item, in input order.

    Every item is checked and encoded before the first chunk is sent.

    Raises:
        InvalidArgumentException: an item is malformed, or (with
            `IdPolicy.CALLER`) repeats an id.
        BatchException: the job failed for a reason other than its chunk requests.
    """
    _check_inputs(inputs, lazy=False)
    options = settings.options
    chunks: list[Chunk] | None = None
    if policy is IdPolicy.POSITIONS and isinstance(inputs, (list, tuple)):
        chunks = positional_chunks(inputs, options.chunk_size, options.max_chunk_bytes)
    if chunks is None:
        items = encode_all(inputs, policy)
        chunks = list(plan_chunks(items, options.chunk_size, options.max_chunk_bytes))
    started_at = datetime.now(timezone.utc)
    started = anyio.current_time()
    job = _Job(settings, send_chunk, total=sum(len(chunk.ids) for chunk in chunks), ordered=True)
    results: _Results = []
    if len(chunks) == 1:
        results = await job.run_alone(chunks[0])
    else:
        async with BatchStream(job, chunks) as stream:
            while (batch := await stream._next_batch()) is not None:
                results += batch
    return job.totals.merge(
        results,
        task_id=settings.task_id,
        version=settings.version,
        new_batch_id=uuid.uuid4(),
        started_at=started_at,
        completed_at=datetime.now(timezone.utc),
        duration_ms=(anyio.current_time() - started) * 1000,
    )
