"""`SyncBatchStream`: a streamed batch for blocking code, a context manager and an iterator.

The async stream lives on the client's loop: one task enters it, stays in
it and leaves it (as async context managers require), and a pump task reads
its results ahead into a bounded buffer.  The calling thread takes whatever
the buffer holds in one hand-over, so a result costs a fraction of a
thread switch, and memory stays flat (``read_ahead`` results at most).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import anyio

from ._loop_thread import Call, LoopThread, wait
from ._models import BatchExecuteResult

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

__all__ = ["SyncBatchStream"]

READ_AHEAD = 256


class SyncBatchStream:
    """Results of a streamed batch, for blocking code: a context manager and an iterator.

    Use it as::

        with client.stream_batch(task_id, inputs) as results:
            for result in results:
                ...

    Leaving the block early cancels whatever is still running.
    """

    def __init__(
        self,
        loop: LoopThread,
        stream: AbstractAsyncContextManager[AsyncIterator[BatchExecuteResult]],
        *,
        read_ahead: int = READ_AHEAD,
    ) -> None:
        self._loop = loop
        self._stream = stream
        self._read_ahead = read_ahead
        # The calling thread's side.
        self._held: Call[bool | None] | None = None
        self._pump_call: Call[None] | None = None
        self._open = False
        self._ready: list[BatchExecuteResult] = []
        self._position = 0
        # The loop's side (touched on the loop's thread only).
        self._leave: anyio.Event | None = None
        self._exit_info: tuple[type[BaseException] | None, BaseException | None, TracebackType | None] = (
            None,
            None,
            None,
        )
        self._buffer: list[BatchExecuteResult] = []
        self._finished = False
        self._error: Exception | None = None
        self._changed: anyio.Event | None = None
        self._room: anyio.Event | None = None

    # --- the calling thread --------------------------------------------------------------

    def __enter__(self) -> Self:
        if self._held is not None:
            raise RuntimeError("a SyncBatchStream can be entered only once")
        entered: Future[AsyncIterator[BatchExecuteResult]] = Future()
        self._held = self._loop.submit(functools.partial(self._hold, entered))
        try:
            results = wait(entered)
            self._pump_call = self._loop.submit(functools.partial(self._pump, results))
            self._open = True
        except BaseException:
            # Ctrl-C before the block starts: no `__exit__` will come, so the job ends here.
            if self._pump_call is not None:
                self._loop.cancel(self._pump_call)
            self._loop.cancel(self._held)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._held is not None, "SyncBatchStream used without `with`"
        assert self._pump_call is not None
        assert self._leave is not None
        self._open = False
        if exc is None or isinstance(exc, Exception):
            self._exit_info = (exc_type, exc, tb)
        # else Ctrl-C (or SystemExit) in this thread: it is this thread's to raise, not the loop's;
        # the stream is told only that the block ended, which cancels what still runs.
        self._loop.cancel(self._pump_call)
        self._loop.call_soon(self._leave.set)
        suppress = self._loop.wait(self._held)
        # Only an exception the async stream was shown can be suppressed by it.
        return bool(suppress) and self._exit_info[1] is not None

    def __iter__(self) -> Iterator[BatchExecuteResult]:
        return self

    def __next__(self) -> BatchExecuteResult:
        if self._position >= len(self._ready):
            if not self._open:
                raise RuntimeError("iterate a SyncBatchStream inside `with`")
            self._ready, self._position = self._loop.run(self._take), 0
            if not self._ready:
                raise StopIteration
        item = self._ready[self._position]
        self._position += 1
        return item

    # --- the loop ------------------------------------------------------------------------------

    async def _hold(self, entered: Future[AsyncIterator[BatchExecuteResult]]) -> bool | None:
        """Enter the async stream and stay in it, in one task, until `__exit__` says to leave."""
        self._leave = anyio.Event()
        try:
            results = await self._stream.__aenter__()
        except BaseException as exc:
            entered.set_exception(exc)
            raise
        entered.set_result(results)
        try:
            await self._leave.wait()
        except BaseException:
            # Cancelled before `__exit__` (Ctrl-C while entering): the job must still end here.
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await self._stream.__aexit__(None, None, None)
            raise
        return await self._stream.__aexit__(*self._exit_info)

    async def _pump(self, results: AsyncIterator[BatchExecuteResult]) -> None:
        """Read results ahead into the buffer, at most ``read_ahead`` of them."""
        try:
            async for result in results:
                self._buffer.append(result)
                self._notify()
                while len(self._buffer) >= self._read_ahead:
                    self._room = anyio.Event()
                    await self._room.wait()
        except Exception as exc:
            self._error = exc
        finally:
            self._finished = True
            self._notify()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _take(self) -> list[BatchExecuteResult]:
        """Everything buffered, once there is something; [] at the end; the job's error if it failed."""
        while not self._buffer and not self._finished:
            self._changed = anyio.Event()
            await self._changed.wait()
        taken, self._buffer = self._buffer, []
        if self._room is not None:
            self._room.set()
            self._room = None
        if not taken and self._error is not None:
            raise self._error
        return taken
