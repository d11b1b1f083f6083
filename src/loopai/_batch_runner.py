"""The batch runner: any number of items, in chunks, on anyio task groups.

One ``POST /batch/execute`` must fit the server's body limit and the
client's timeout, so a job is split into chunks (by item count and encoded
size) and up to ``concurrency`` chunk requests run at once.  The invariant
is exactly one result per input item, whatever mix of retries, failures,
stops and cancellation happens.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Mapping,
    Sized,
)
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeAlias

import anyio
import anyio.lowlevel
import msgspec

from . import _arguments as check
from ._batch_options import SERVER_BODY_LIMIT, BatchOptions, BatchProgress
from ._codec import encode
from ._exceptions import BatchException, InvalidArgumentException, LoopaiException
from ._models import BatchExecuteItem, BatchExecuteResponse, BatchExecuteResult
from ._pacing import Pacer

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

from uuid import UUID

if TYPE_CHECKING:
    from types import TracebackType

    from anyio.abc import TaskGroup
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
    from typing_extensions import Self

    from ._client import LoopaiClient
    from ._not_given import NotGiven
    from ._transport import HttpTransport, TimeoutTypes

__all__ = ["BatchRunner", "BatchStream", "ItemLike", "JobSettings"]

#: What a batch accepts per item: an input dict, or a `BatchExecuteItem` with its own id.
ItemLike: TypeAlias = "BatchExecuteItem | Mapping[str, Any]"

_BODY_HEADROOM = 1024  # the request's own fields around the items


class _ChunkRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A BatchExecuteRequest whose items are already encoded."""

    task_id: uuid.UUID
    items: list[msgspec.Raw]
    version: int | None = None
    max_concurrency: int = 10
    stop_on_first_error: bool = False
    timeout_ms: int | None = None


class _Chunk:
    __slots__ = ("encoded", "ids", "seq", "size")

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.ids: list[str] = []
        self.encoded: list[msgspec.Raw] = []
        self.size = 0


def _failed(item_id: str, message: str) -> BatchExecuteResult:
    return BatchExecuteResult(id=item_id, success=False, error_message=message)


def _coerce(value: object, index: int, *, inputs_are_dicts: bool) -> BatchExecuteItem:
    """One input as a `BatchExecuteItem`; dicts are inputs or item specs by mode."""
    if isinstance(value, BatchExecuteItem):
        item = value
    elif isinstance(value, Mapping):
        if inputs_are_dicts:
            return BatchExecuteItem(id=str(index), input=dict(value))
        try:
            item = BatchExecuteItem(**value)
        except TypeError as exc:
            raise InvalidArgumentException(
                f"items[{index}]", f"needs keys id, input[, force_validation]: {exc}"
            ) from None
    else:
        raise InvalidArgumentException(
            f"items[{index}]", f"must be a dict or BatchExecuteItem, got {type(value).__name__}"
        )
    if not isinstance(item.id, str) or not item.id:
        raise InvalidArgumentException(f"items[{index}].id", "must be a non-empty string")
    if not isinstance(item.input, dict):
        raise InvalidArgumentException(f"items[{index}].input", "must be a dict")
    return item


@dataclass(frozen=True)
class JobSettings:
    """What the caller asked of one batch job (checked once, by `checked`)."""

    task_id: UUID
    max_concurrency: int = 10
    stop_on_first_error: bool = False
    timeout_ms: int | None = None
    version: int | None = None
    progress: Callable[[BatchProgress], object] | None = None

    @classmethod
    def checked(
        cls,
        task_id: object,
        *,
        max_concurrency: object = 10,
        stop_on_first_error: object = False,
        timeout_ms: object = None,
        version: object = None,
        progress: Callable[[BatchProgress], object] | None = None,
    ) -> JobSettings:
        """Settings from call arguments; raises `InvalidArgumentException` naming a bad one."""
        return cls(
            task_id=check.task_id(task_id),
            max_concurrency=check.whole_number(max_concurrency, "max_concurrency", 1, 100),
            stop_on_first_error=bool(stop_on_first_error),
            timeout_ms=check.optional_whole_number(timeout_ms, "timeout_ms", 1, 60_000),
            version=check.optional_whole_number(version, "version", 1),
            progress=progress,
        )


class _Job:
    """One running job: its settings, its runner, and what its chunks report back."""

    def __init__(self, runner: BatchRunner, settings: JobSettings, total: int | None) -> None:
        self.runner = runner
        self.settings = settings
        self.total = total
        self.chunk_batch_ids: dict[int, UUID] = {}
        self.latency_weighted = 0.0
        self.latency_items = 0
        self.server_version: int | None = None


class BatchStream:
    """Results of a streamed batch; an async context manager and async iterator.

    Entering starts the job's task group; leaving (early or not) cancels
    whatever is still running, so no task outlives the block.
    """

    def __init__(
        self,
        job: _Job,
        inputs: Iterable[Any] | AsyncIterable[Any],
        *,
        inputs_are_dicts: bool,
        ordered: bool,
        check_duplicates: bool,
    ) -> None:
        self._job = job
        self._inputs = inputs
        self._inputs_are_dicts = inputs_are_dicts
        self._ordered = ordered
        self._check_duplicates = check_duplicates
        options = job.runner.options
        self._window = anyio.Semaphore(options.window if ordered else options.concurrency)
        self._limiter = anyio.CapacityLimiter(options.concurrency)
        self._pacer = Pacer(options.requests_per_second, options.items_per_second)
        self._in_flight: dict[int, anyio.CancelScope] = {}
        self._stopped_by: str | None = None
        self._reorder: dict[int, list[BatchExecuteResult]] = {}
        self._next_seq = 0
        self._order_lock = anyio.Lock()
        self._done = 0
        self._failed = 0
        self._started = 0.0
        self._buffer: list[BatchExecuteResult] = []
        self._position = 0
        self._stack: AsyncExitStack | None = None
        self._receive: MemoryObjectReceiveStream[list[BatchExecuteResult]] | None = None
        self._transport: HttpTransport | None = None
        self._cancel_scope: anyio.CancelScope | None = None

    # --- context manager and iteration ---------------------------------------------

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("a BatchStream can be entered only once")
        self._started = anyio.current_time()
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            self._transport = None  # the client's shared pool (the per-job pool is gone)
            send, receive = anyio.create_memory_object_stream[list[BatchExecuteResult]](
                self._job.runner.options.concurrency
            )
            self._receive = receive
            stack.push_async_callback(receive.aclose)
            task_group = await stack.enter_async_context(anyio.create_task_group())
            self._cancel_scope = task_group.cancel_scope
            task_group.start_soon(self._produce, task_group, send)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._stack is not None, "BatchStream used without `async with`"
        # Whatever is still running is no longer wanted (an early exit, or an error in the block).
        if self._cancel_scope is not None:
            self._cancel_scope.cancel()
        try:
            return await self._stack.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            errors, others = group.split(Exception)
            if others is not None or errors is None:
                raise
            first = errors.exceptions[0]
            more = f" (and {len(errors.exceptions) - 1} more)" if len(errors.exceptions) > 1 else ""
            raise BatchException(f"the batch job failed: {type(first).__name__}: {first}{more}") from group

    def __aiter__(self) -> AsyncIterator[BatchExecuteResult]:
        return self

    async def __anext__(self) -> BatchExecuteResult:
        if self._position >= len(self._buffer):
            if self._receive is None:
                raise RuntimeError("iterate a BatchStream inside `async with`")
            try:
                self._buffer = await self._receive.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                raise StopAsyncIteration from None
            self._position = 0
        result = self._buffer[self._position]
        self._position += 1
        return result

    # --- production ------------------------------------------------------------------

    async def _items(self) -> AsyncGenerator[BatchExecuteItem, None]:
        seen: set[str] = set()
        index = 0
        if isinstance(self._inputs, AsyncIterable):
            async for value in self._inputs:
                yield self._item(value, index, seen)
                index += 1
        else:
            for value in self._inputs:
                yield self._item(value, index, seen)
                index += 1

    def _item(self, value: object, index: int, seen: set[str]) -> BatchExecuteItem:
        item = _coerce(value, index, inputs_are_dicts=self._inputs_are_dicts)
        if self._check_duplicates and not (self._inputs_are_dicts and isinstance(value, Mapping)):
            if item.id in seen:
                raise InvalidArgumentException(f"items[{index}].id", f"duplicate item id {item.id!r}")
            seen.add(item.id)
        return item

    async def _chunks(self) -> AsyncGenerator[_Chunk, None]:
        options = self._job.runner.options
        limit = options.max_chunk_bytes
        chunk = _Chunk(0)
        # aclosing: a cancelled job must not leave its generators for the event loop to finalize.
        async with aclosing(self._items()) as items:
            async for item in items:
                raw = msgspec.Raw(encode(item))
                if chunk.ids and (len(chunk.ids) >= options.chunk_size or chunk.size + len(raw) + 1 > limit):
                    yield chunk
                    chunk = _Chunk(chunk.seq + 1)
                    await anyio.lowlevel.checkpoint()
                chunk.ids.append(item.id)
                chunk.encoded.append(raw)
                chunk.size += len(raw) + 1
        if chunk.ids:
            yield chunk

    async def _produce(
        self, task_group: TaskGroup, send: MemoryObjectSendStream[list[BatchExecuteResult]]
    ) -> None:
        async with send, aclosing(self._chunks()) as chunks:
            async for chunk in chunks:
                await self._window.acquire()
                task_group.start_soon(self._run_chunk, chunk, send.clone())

    async def _run_chunk(self, chunk: _Chunk, send: MemoryObjectSendStream[list[BatchExecuteResult]]) -> None:
        async with send:
            results: list[BatchExecuteResult] | None = None
            with anyio.CancelScope() as scope:
                self._in_flight[chunk.seq] = scope
                try:
                    results = await self._request(chunk)
                finally:
                    del self._in_flight[chunk.seq]
            if results is None:  # cancelled by a stop, not by the caller
                results = self._not_run(chunk, cancelled=True)
            await self._deliver(chunk.seq, results, send)

    async def _request(self, chunk: _Chunk) -> list[BatchExecuteResult]:
        job = self._job
        if self._stopped_by is not None:
            return self._not_run(chunk)
        if chunk.size + _BODY_HEADROOM > SERVER_BODY_LIMIT:
            message = "not sent: the item exceeds the server's 30,000,000-byte body limit"
            return [_failed(item_id, message) for item_id in chunk.ids]
        body = encode(
            _ChunkRequest(
                task_id=job.settings.task_id,
                items=chunk.encoded,
                version=job.settings.version,
                max_concurrency=job.settings.max_concurrency,
                stop_on_first_error=job.settings.stop_on_first_error,
                timeout_ms=job.settings.timeout_ms,
            )
        )
        chunk.encoded = []
        async with self._limiter:
            if self._stopped_by is not None:
                return self._not_run(chunk)
            await self._pacer.wait(len(chunk.ids))
            try:
                response = await job.runner.client._post_batch(
                    self._transport, body, timeout=job.runner.timeout, headers=job.runner.headers
                )
            except LoopaiException as exc:
                message = f"the chunk request failed: {type(exc).__name__}: {exc}"
                return [_failed(item_id, message) for item_id in chunk.ids]
        job.chunk_batch_ids[chunk.seq] = response.batch_id
        job.server_version = response.version
        job.latency_weighted += response.avg_latency_ms * response.total_items
        job.latency_items += response.total_items
        return _match(chunk.ids, response.results)

    def _not_run(self, chunk: _Chunk, *, cancelled: bool = False) -> list[BatchExecuteResult]:
        why = f"the batch stopped at the first error (item {self._stopped_by!r})"
        message = (
            f"cancelled in flight: {why}; the server may have run it" if cancelled else f"not run: {why}"
        )
        return [_failed(item_id, message) for item_id in chunk.ids]

    def _stop(self, item_id: str) -> None:
        if self._stopped_by is not None:
            return
        self._stopped_by = item_id
        for scope in self._in_flight.values():
            scope.cancel()

    async def _deliver(
        self,
        seq: int,
        results: list[BatchExecuteResult],
        send: MemoryObjectSendStream[list[BatchExecuteResult]],
    ) -> None:
        failed = sum(1 for result in results if not result.success)
        if failed and self._job.settings.stop_on_first_error:
            self._stop(next(result.id for result in results if not result.success))
        if not self._ordered:
            await self._emit(results, failed, send)
            return
        async with self._order_lock:
            self._reorder[seq] = results
            while self._next_seq in self._reorder:
                ready = self._reorder.pop(self._next_seq)
                self._next_seq += 1
                await self._emit(ready, sum(1 for r in ready if not r.success), send)

    async def _emit(
        self,
        results: list[BatchExecuteResult],
        failed: int,
        send: MemoryObjectSendStream[list[BatchExecuteResult]],
    ) -> None:
        self._done += len(results)
        self._failed += failed
        try:
            await send.send(results)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the consumer left; the stream is being torn down
        finally:
            self._window.release()
        if self._job.settings.progress is not None:
            elapsed = anyio.current_time() - self._started
            self._job.settings.progress(BatchProgress(self._done, self._failed, self._job.total, elapsed))


def _match(ids: list[str], results: list[BatchExecuteResult]) -> list[BatchExecuteResult]:
    """The server's results in the chunk's order, one per id, none lost or doubled."""
    if len(results) == len(ids) and all(r.id == i for r, i in zip(results, ids, strict=True)):
        return results
    by_id: dict[str, BatchExecuteResult] = {}
    for result in results:
        by_id.setdefault(result.id, result)
    missing = "the server returned no result for this item"
    return [by_id.pop(item_id) if item_id in by_id else _failed(item_id, missing) for item_id in ids]


class BatchRunner:
    """Runs batch jobs for a client with the given options."""

    def __init__(
        self,
        client: LoopaiClient,
        options: BatchOptions,
        *,
        timeout: TimeoutTypes | NotGiven,
        headers: Mapping[str, str] | None,
    ) -> None:
        self.client = client
        self.options = options
        self.timeout = timeout
        self.headers = headers
        client._check_open()

    def stream(
        self, settings: JobSettings, inputs: Iterable[Any] | AsyncIterable[Any], *, ordered: bool
    ) -> BatchStream:
        """A stream of results for lazily read inputs (dicts get positional ids)."""
        total = len(inputs) if isinstance(inputs, Sized) else None
        job = _Job(self, settings, total)
        return BatchStream(job, inputs, inputs_are_dicts=True, ordered=ordered, check_duplicates=True)

    async def run(
        self, settings: JobSettings, inputs: Iterable[Any], *, generate_ids: bool
    ) -> BatchExecuteResponse:
        """Run a whole job and return one response with results in input order."""
        items = [_coerce(value, index, inputs_are_dicts=generate_ids) for index, value in enumerate(inputs)]
        if not generate_ids:
            _refuse_duplicates(items)
        job = _Job(self, settings, len(items))
        started_at = datetime.now(timezone.utc)
        started = anyio.current_time()
        results: list[BatchExecuteResult] = []
        stream = BatchStream(job, items, inputs_are_dicts=False, ordered=True, check_duplicates=False)
        async with stream:
            results.extend([result async for result in stream])
        succeeded = sum(1 for result in results if result.success)
        batch_ids = [job.chunk_batch_ids[seq] for seq in sorted(job.chunk_batch_ids)]
        return BatchExecuteResponse(
            batch_id=batch_ids[0] if len(batch_ids) == 1 else uuid.uuid4(),
            task_id=settings.task_id,
            version=job.server_version if job.server_version is not None else (settings.version or 0),
            total_items=len(results),
            success_count=succeeded,
            failure_count=len(results) - succeeded,
            total_duration_ms=(anyio.current_time() - started) * 1000,
            avg_latency_ms=job.latency_weighted / job.latency_items if job.latency_items else 0.0,
            results=results,
            started_at=started_at,
            completed_at=datetime.now(timezone.utc),
            chunk_batch_ids=batch_ids,
        )


def _refuse_duplicates(items: list[BatchExecuteItem]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            raise InvalidArgumentException(f"items[{index}].id", f"duplicate item id {item.id!r}")
        seen.add(item.id)
