"""`LoopThread`: an anyio event loop in a background thread, for blocking callers.

The same idea as anyio's blocking portal (``anyio.from_thread``), cut to
what the sync client needs, and with two differences that matter to it:

- a call is handed to the loop without waiting (one thread switch there,
  one back with the result) and run by a resident worker task, where the
  portal waits for a new task to be spawned first: 26-32 µs of CPU per
  call against 64-84 µs (see benchmarks/README.md);
- callers may themselves be inside a running trio loop (trio refuses its
  own ``from_thread`` functions there; the loop's native token does not).

An exception in the waiting thread (Ctrl-C) cancels the call on the loop.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from typing import Any, Generic, TypeVar, cast

try:
    import sniffio
except ImportError:  # pragma: no cover - anyio then tells asyncio by its running loop
    sniffio = None  # type: ignore[assignment]

import anyio
import anyio.abc
import anyio.lowlevel

from ._exceptions import ClientClosedException

__all__ = ["Call", "LoopThread", "wait"]

R = TypeVar("R")

THREAD_NAME = "loopai-sync-client"


class Call(Generic[R]):
    """One call: its outcome, the lock its caller waits on, and its cancel scope once running.

    Lighter than a `concurrent.futures.Future` (one lock, no condition or
    callbacks): the hand-over is most of what the sync client adds to a call.
    """

    __slots__ = ("_done", "_exception", "_result", "cancelled", "scope", "settled")

    def __init__(self) -> None:
        self._done = threading.Lock()
        self._done.acquire()
        self._result: R | None = None
        self._exception: BaseException | None = None
        self.settled = False  # written on the loop's thread only
        self.scope: anyio.CancelScope | None = None
        self.cancelled = False

    def settle(self, exc: BaseException | None, result: R | None = None) -> None:
        """Record the outcome and wake the caller; the first outcome wins (on the loop's thread)."""
        if not self.settled:
            self.settled = True
            self._exception, self._result = exc, result
            self._done.release()

    def result(self) -> R:
        """Wait for the outcome: the result, or the exception raised (interruptible by Ctrl-C)."""
        self._done.acquire()
        self._done.release()
        if self._exception is not None:
            raise self._exception
        return cast("R", self._result)

    def cancel(self) -> None:  # on the loop's thread
        self.cancelled = True
        if self.scope is not None:
            self.scope.cancel()


class _Worker:
    """A worker task's mailbox while it waits for its next call."""

    __slots__ = ("job", "wake")

    def __init__(self) -> None:
        self.job: tuple[Callable[[], Awaitable[object]], Call[Any]] | None = None
        self.wake: anyio.Event | None = None


class LoopThread:
    """An event loop of the given anyio backend, running in a daemon thread until `stop`.

    Calls are run by worker tasks that stay for the next call (spawning a
    task per call would cost more than the rest): an idle worker takes the
    call, or a new worker starts with it.
    """

    def __init__(self, backend: str = "asyncio", backend_options: Mapping[str, Any] | None = None) -> None:
        ready: Future[Callable[..., object]] = Future()
        self._idle: list[_Worker] = []  # workers waiting for a call (on the loop's thread only)
        self._pending: set[Call[Any]] = set()  # calls submitted and not ended

        async def hold_task_group() -> None:
            async with anyio.create_task_group() as group:
                self._group = group
                ready.set_result(_scheduler(backend))
                await anyio.sleep_forever()

        def main() -> None:
            try:
                anyio.run(hold_task_group, backend=backend, backend_options=dict(backend_options or {}))
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)

        self._thread = threading.Thread(target=main, name=THREAD_NAME, daemon=True)
        self._thread.start()
        self._schedule = ready.result()
        self.closed = False

    def check_open(self) -> None:
        """Raise `ClientClosedException` once the loop has stopped."""
        if self.closed:
            raise ClientClosedException("this SyncLoopaiClient is closed; create a new one")

    def submit(self, function: Callable[[], Awaitable[R]]) -> Call[R]:
        """Start ``function`` on the loop; `wait` for its result, or `cancel` it."""
        self.check_open()
        call: Call[R] = Call()
        self._pending.add(call)
        try:
            self._schedule(self._dispatch, function, call)
        except RuntimeError:  # the loop ended meanwhile (closed from another thread)
            self._pending.discard(call)
            raise ClientClosedException("this SyncLoopaiClient is closed; create a new one") from None
        return call

    def wait(self, call: Call[R]) -> R:
        """The call's result; if the wait is interrupted (Ctrl-C), the call is cancelled first."""
        try:
            return call.result()
        except BaseException:
            self.cancel(call)
            raise

    def cancel(self, call: Call[Any]) -> None:
        """Cancel a call, unless it has ended."""
        if not call.settled and not self.closed:
            self._schedule(call.cancel)

    def run(self, function: Callable[[], Awaitable[R]]) -> R:
        """Run ``function`` on the loop and wait; an interrupt (Ctrl-C) while waiting cancels it."""
        return self.wait(self.submit(function))

    def run_sync(self, function: Callable[[], R]) -> R:
        """Call ``function`` on the loop's thread (objects bound to the loop are made there)."""

        async def call() -> R:
            return function()

        return self.run(call)

    def call_soon(self, function: Callable[[], object]) -> None:
        """Call ``function`` on the loop's thread soon, without waiting."""
        self.check_open()
        self._schedule(function)

    def _dispatch(self, function: Callable[[], Awaitable[object]], call: Call[Any]) -> None:
        # On the loop's thread.
        if self._idle:
            worker = self._idle.pop()
            worker.job = (function, call)
            assert worker.wake is not None
            worker.wake.set()
        else:
            self._group.start_soon(self._work, function, call)

    async def _work(self, function: Callable[[], Awaitable[object]], call: Call[Any]) -> None:
        """Run calls one after the other; a cancelled call ends its worker (its scope is spent)."""
        worker = _Worker()
        with anyio.CancelScope() as scope:
            while True:
                call.scope = scope
                try:
                    if call.cancelled:  # before it started
                        scope.cancel()
                    result = await function()
                except anyio.get_cancelled_exc_class():
                    raise
                except BaseException as exc:  # KeyboardInterrupt too: it belongs to the caller, not the loop
                    call.settle(exc)
                else:
                    call.settle(None, result)
                finally:
                    call.scope = None
                    self._pending.discard(call)
                    # Cancelled (by its interrupted caller, who no longer waits, or by `stop` or
                    # `cancel_all`); a no-op for a call that has its outcome.
                    call.settle(_closed_during_call())
                worker.wake = anyio.Event()
                self._idle.append(worker)
                await worker.wake.wait()
                assert worker.job is not None
                (function, call), worker.job = worker.job, None

    def cancel_all(self) -> None:
        """Cancel every call in progress, soon; their callers get `ClientClosedException`."""
        self.call_soon(self._cancel_active)

    def _cancel_active(self) -> None:
        for call in list(self._pending):
            call.cancel()

    def stop(self) -> None:
        """Cancel whatever still runs, stop the loop and wait for its thread to end."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(RuntimeError):  # the loop has already ended
            self._schedule(self._group.cancel_scope.cancel)
        if threading.current_thread() is not self._thread:
            self._thread.join()
        # Calls handed over but never run to the end: their callers are told, not left waiting.
        for call in list(self._pending):
            call.settle(_closed_during_call())


def _closed_during_call() -> ClientClosedException:
    return ClientClosedException("the SyncLoopaiClient was closed during the call")


def wait(future: Future[R]) -> R:
    """The future's result; if the wait is interrupted (Ctrl-C), the future is cancelled first."""
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise


def _scheduler(backend: str) -> Callable[..., object]:
    """The thread-safe "call soon" of the running loop (called on it), without importing asyncio.

    Callbacks run in a copy of the loop task's context, marked with the
    backend's name for sniffio: outside a task, anyio could not tell the
    library apart otherwise.
    """
    context = contextvars.copy_context()
    if sniffio is not None:
        context.run(sniffio.current_async_library_cvar.set, backend)
    native: Any = anyio.lowlevel.current_token().native_token
    # An asyncio event loop, or a trio.lowlevel.TrioToken.
    call_soon = (
        native.call_soon_threadsafe if hasattr(native, "call_soon_threadsafe") else native.run_sync_soon
    )
    return functools.partial(call_soon, context.run)
