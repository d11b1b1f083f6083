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
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future, InvalidStateError
from typing import Any, TypeVar

try:
    import sniffio
except ImportError:  # pragma: no cover - anyio then tells asyncio by its running loop
    sniffio = None  # type: ignore[assignment]

import anyio
import anyio.abc
import anyio.lowlevel

from ._exceptions import ClientClosedException

__all__ = ["LoopThread"]

R = TypeVar("R")

THREAD_NAME = "loopai-sync-client"


class _Call:
    """One call: the future its caller waits on, and its cancel scope once running."""

    __slots__ = ("cancelled", "future", "scope")

    def __init__(self) -> None:
        self.future: Future[Any] = Future()
        self.scope: anyio.CancelScope | None = None
        self.cancelled = False

    def cancel(self) -> None:  # on the loop's thread
        self.cancelled = True
        if self.scope is not None:
            self.scope.cancel()


class LoopThread:
    """An event loop of the given anyio backend, running in a daemon thread until `stop`."""

    def __init__(self, backend: str = "asyncio", backend_options: Mapping[str, Any] | None = None) -> None:
        ready: Future[tuple[anyio.abc.TaskGroup, Callable[..., object]]] = Future()

        async def hold_task_group() -> None:
            async with anyio.create_task_group() as group:
                ready.set_result((group, _scheduler(backend)))
                await anyio.sleep_forever()

        def main() -> None:
            try:
                anyio.run(hold_task_group, backend=backend, backend_options=dict(backend_options or {}))
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)

        self._thread = threading.Thread(target=main, name=THREAD_NAME, daemon=True)
        self._thread.start()
        self._group, self._schedule = ready.result()
        self.closed = False

    def check_open(self) -> None:
        """Raise `ClientClosedException` once the loop has stopped."""
        if self.closed:
            raise ClientClosedException("this SyncLoopaiClient is closed; create a new one")

    def submit(self, function: Callable[[], Awaitable[R]]) -> Future[R]:
        """Start ``function`` on the loop; its future has the result (cancel it to cancel the call)."""
        self.check_open()
        call = _Call()
        self._schedule(self._group.start_soon, self._run_call, function, call)
        call.future.add_done_callback(lambda future: self._cancelled(future, call))
        return call.future

    def run(self, function: Callable[[], Awaitable[R]]) -> R:
        """Run ``function`` on the loop and wait; an interrupt (Ctrl-C) while waiting cancels it."""
        return wait(self.submit(function))

    def run_sync(self, function: Callable[[], R]) -> R:
        """Call ``function`` on the loop's thread (objects bound to the loop are made there)."""

        async def call() -> R:
            return function()

        return self.run(call)

    def call_soon(self, function: Callable[[], object]) -> None:
        """Call ``function`` on the loop's thread soon, without waiting."""
        self.check_open()
        self._schedule(function)

    def _cancelled(self, future: Future[Any], call: _Call) -> None:
        if future.cancelled() and not self.closed:
            self._schedule(call.cancel)

    async def _run_call(self, function: Callable[[], Awaitable[object]], call: _Call) -> None:
        with anyio.CancelScope() as scope:
            call.scope = scope
            if call.cancelled:
                scope.cancel()
            try:
                result = await function()
            except anyio.get_cancelled_exc_class():
                # Not by its caller (that future is already cancelled): the loop is stopping.
                _settle(call.future, ClientClosedException("the SyncLoopaiClient was closed during the call"))
                raise
            except BaseException as exc:  # KeyboardInterrupt too: it belongs to the caller, not the loop
                _settle(call.future, exc)
            else:
                _settle(call.future, None, result)

    def stop(self) -> None:
        """Cancel whatever still runs, stop the loop and wait for its thread to end."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(RuntimeError):  # the loop has already ended
            self._schedule(self._group.cancel_scope.cancel)
        if threading.current_thread() is not self._thread:
            self._thread.join()


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
