"""`LoopThread`: an anyio event loop in a background thread, for blocking callers.

The same idea as anyio's blocking portal (``anyio.from_thread``), cut to
what the sync client needs, and with two differences that matter to it:

- a call is handed to the loop without waiting (one thread switch there,
  one back with the result), where the portal waits for the task to be
  spawned first: about a quarter less CPU per call;
- callers may themselves be inside a running trio loop (trio refuses its
  own ``from_thread`` functions there; the loop's native token does not).

Calls run as tasks of one task group that lives as long as the thread.
An exception in the waiting thread (Ctrl-C) cancels the call's task.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future, InvalidStateError
from typing import Any, Generic, TypeAlias, TypeVar

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
    """One call: the future its caller waits on, and its cancel scope once running."""

    __slots__ = ("cancelled", "future", "scope")

    def __init__(self) -> None:
        self.future: Future[R] = Future()
        self.scope: anyio.CancelScope | None = None
        self.cancelled = False

    def cancel(self) -> None:  # on the loop's thread
        self.cancelled = True
        if self.scope is not None:
            self.scope.cancel()


_Job: TypeAlias = "tuple[Callable[[], Awaitable[object]], Call[Any]]"


class LoopThread:
    """An event loop of the given anyio backend, running in a daemon thread until `stop`.

    Calls are run by worker tasks that stay for the next call (spawning a
    task per call would cost more than the rest): an idle worker takes the
    call, or a new worker starts with it.
    """

    def __init__(self, backend: str = "asyncio", backend_options: Mapping[str, Any] | None = None) -> None:
        ready: Future[Callable[..., object]] = Future()
        self._send, self._receive = anyio.create_memory_object_stream[_Job](math.inf)
        # Read and written on the loop's thread only:
        self._idle = 0  # workers waiting for a call
        self._active: set[Call[Any]] = set()

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
        self._schedule(self._dispatch, function, call)
        return call

    def wait(self, call: Call[R]) -> R:
        """The call's result; if the wait is interrupted (Ctrl-C), the call is cancelled first."""
        try:
            return call.future.result()
        except BaseException:
            self.cancel(call)
            raise

    def cancel(self, call: Call[Any]) -> None:
        """Cancel a call, unless it has ended."""
        if call.future.cancel() and not self.closed:
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
            self._idle -= 1
            self._send.send_nowait((function, call))
        else:
            self._group.start_soon(self._work, function, call)

    async def _work(self, function: Callable[[], Awaitable[object]], call: Call[Any]) -> None:
        while True:
            await self._run_call(function, call)
            self._idle += 1
            function, call = await self._receive.receive()

    async def _run_call(self, function: Callable[[], Awaitable[object]], call: Call[Any]) -> None:
        self._active.add(call)
        try:
            with anyio.CancelScope() as scope:
                call.scope = scope
                if call.cancelled:
                    scope.cancel()
                try:
                    result = await function()
                except anyio.get_cancelled_exc_class():
                    raise
                except BaseException as exc:  # KeyboardInterrupt too: it belongs to the caller, not the loop
                    _settle(call.future, exc)
                else:
                    _settle(call.future, None, result)
        finally:
            self._active.discard(call)
            # Cancelled, and not by its caller (that future is cancelled already): by `stop`
            # or `cancel_all`; a no-op for a settled call.
            _settle(call.future, ClientClosedException("the SyncLoopaiClient was closed during the call"))

    def cancel_all(self) -> None:
        """Cancel every call in progress, soon; their callers get `ClientClosedException`."""
        self.call_soon(self._cancel_active)

    def _cancel_active(self) -> None:
        for call in list(self._active):
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
        # Calls handed over but never started: their callers are told, not left waiting.
        with contextlib.suppress(anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
            while True:
                _, call = self._receive.receive_nowait()
                _settle(call.future, ClientClosedException("the SyncLoopaiClient was closed during the call"))
        self._send.close()
        self._receive.close()


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


def _settle(future: Future[Any], exc: BaseException | None, result: object = None) -> None:
    """Hand a call's outcome to its waiting thread, unless the caller gave up on it."""
    with contextlib.suppress(InvalidStateError):  # cancelled by its caller meanwhile
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
