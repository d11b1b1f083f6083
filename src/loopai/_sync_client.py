"""`SyncLoopaiClient`: the blocking twin of `LoopaiClient`, run on an event loop in a background thread.

Nothing here is a hand-kept copy of an endpoint: each blocking method is
derived from the async method of the same name (parameters, defaults and
docstring included), so the two clients cannot drift apart.  A test checks
that every public async method has its twin.
"""

from __future__ import annotations

import functools
import inspect
import types
import weakref
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from ._blocking_view import blocking_docstring, blocking_view
from ._client import LoopaiClient
from ._exceptions import ClientClosedException
from ._loop_thread import LoopThread
from ._models import BatchExecuteResult
from ._not_given import NOT_GIVEN, NotGiven
from ._sync_batch_stream import SyncBatchStream

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from types import TracebackType

    from typing_extensions import Self

    from ._batch import BatchOptions
    from ._raw_response import LoopaiResponse, WithRawResponse
    from ._retry import RetryPolicy
    from ._transport import AsyncBaseTransport, AsyncHTTPClient, TimeoutTypes

__all__ = ["SyncLoopaiClient", "SyncWithRawResponse"]

P = ParamSpec("P")
R = TypeVar("R")


class _SyncMethod(Generic[P, R]):
    """A method of `SyncLoopaiClient` derived from the `LoopaiClient` method of the same name."""

    def __init__(
        self,
        function: Callable[Concatenate[SyncLoopaiClient, P], R],
        source: Callable[..., object],
        returns: str | None = None,
    ) -> None:
        functools.update_wrapper(function, source)
        function.__doc__ = blocking_docstring(function.__doc__)
        if returns is not None:  # what the twin returns instead of the async method's result
            signature = inspect.signature(source).replace(return_annotation=returns)
            function.__signature__ = signature  # type: ignore[attr-defined]
        self._function = function

    def __set_name__(self, owner: type[object], name: str) -> None:
        if name != self._function.__name__:
            raise TypeError(f"{owner.__name__}.{name} must wrap the async method of the same name")
        self._function.__qualname__ = f"{owner.__name__}.{name}"
        self._function.__module__ = owner.__module__

    @overload
    def __get__(
        self, client: None, owner: type[object] | None = None
    ) -> Callable[Concatenate[SyncLoopaiClient, P], R]: ...
    @overload
    def __get__(self, client: SyncLoopaiClient, owner: type[object] | None = None) -> Callable[P, R]: ...
    def __get__(
        self, client: SyncLoopaiClient | None, owner: type[object] | None = None
    ) -> Callable[Concatenate[SyncLoopaiClient, P], R] | Callable[P, R]:
        if client is None:
            return self._function
        return types.MethodType(self._function, client)


def _blocking(method: Callable[Concatenate[LoopaiClient, P], Awaitable[R]]) -> _SyncMethod[P, R]:
    """The blocking twin of an async method: runs it on the client's loop and waits."""

    def call(self: SyncLoopaiClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._loop.run(functools.partial(method, self._client, *args, **kwargs))

    return _SyncMethod(call, method)


def _streaming(
    method: Callable[
        Concatenate[LoopaiClient, P], AbstractAsyncContextManager[AsyncIterator[BatchExecuteResult]]
    ],
) -> _SyncMethod[P, SyncBatchStream]:
    """The blocking twin of a method that returns an async context manager of results."""

    def call(self: SyncLoopaiClient, /, *args: P.args, **kwargs: P.kwargs) -> SyncBatchStream:
        # Made on the loop's thread: the stream creates loop-bound primitives.
        stream = self._loop.run_sync(functools.partial(method, self._client, *args, **kwargs))
        return SyncBatchStream(self._loop, stream)

    return _SyncMethod(call, method, returns="SyncBatchStream")


def _on_loop(method: Callable[Concatenate[LoopaiClient, P], R]) -> _SyncMethod[P, R]:
    """The twin of a plain method that reads loop-bound state: called on the loop's thread."""

    def call(self: SyncLoopaiClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._loop.run_sync(functools.partial(method, self._client, *args, **kwargs))

    return _SyncMethod(call, method)


def _rewrapping(
    method: Callable[Concatenate[LoopaiClient, P], LoopaiClient],
) -> _SyncMethod[P, SyncLoopaiClient]:
    """The twin of a method that derives another client (`with_options`)."""

    def call(self: SyncLoopaiClient, /, *args: P.args, **kwargs: P.kwargs) -> SyncLoopaiClient:
        derived = self._loop.run_sync(functools.partial(method, self._client, *args, **kwargs))
        return SyncLoopaiClient._sharing(self._loop, derived)

    return _SyncMethod(call, method, returns="SyncLoopaiClient")


class SyncLoopaiClient:
    """A blocking client of the Loopai Cloud API: `LoopaiClient` for code outside an event loop.

    Scripts, notebooks (even with a loop already running), thread pools and
    plain test functions use it.  It takes the arguments of `LoopaiClient`,
    and each method takes the parameters and returns the results of the
    async method of the same name; other public attributes of the async
    client read through.  One background thread runs an event loop for the
    client, and any number of threads may share the client.  Ctrl-C during a
    call cancels that call; the client stays usable.

    Use it as a context manager, or call `close` when done::

        with SyncLoopaiClient("http://localhost:8080") as client:
            task = client.get_task(task_id)

    Args:
        backend: The background loop's anyio backend, ``"asyncio"`` (default)
            or ``"trio"``.
        backend_options: Options of that backend (see `anyio.run`).

    The other arguments are those of `LoopaiClient`.
    """

    _client: LoopaiClient
    _loop: LoopThread
    _owner: bool
    _closed: bool

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: TimeoutTypes = 30.0,
        max_retries: int | NotGiven = NOT_GIVEN,
        *,
        headers: Mapping[str, str] | None = None,
        http_client: AsyncHTTPClient | None = None,
        transport: AsyncBaseTransport | None = None,
        max_connections: int = 100,
        retry_policy: RetryPolicy | None = None,
        batch_options: BatchOptions | None = None,
        max_response_bytes: int = 64 * 1024 * 1024,
        requests_per_second: float | None = None,
        items_per_second: float | None = None,
        backend: str = "asyncio",
        backend_options: Mapping[str, Any] | None = None,
    ) -> None:
        make = functools.partial(
            LoopaiClient,
            base_url,
            api_key,
            timeout,
            max_retries,
            headers=headers,
            http_client=http_client,
            transport=transport,
            max_connections=max_connections,
            retry_policy=retry_policy,
            batch_options=batch_options,
            max_response_bytes=max_response_bytes,
            requests_per_second=requests_per_second,
            items_per_second=items_per_second,
        )
        loop = LoopThread(backend, backend_options)
        try:
            # Built on the loop's thread: the async client may create loop-bound objects.
            client = loop.run_sync(make)
        except BaseException:
            loop.stop()
            raise
        self._adopt(loop, client, owner=True)
        # A client dropped without `close` still closes its pool and stops its thread.
        weakref.finalize(self, _close_and_stop, loop, client)

    @classmethod
    def _sharing(cls, loop: LoopThread, client: LoopaiClient) -> SyncLoopaiClient:
        clone = object.__new__(cls)
        clone._adopt(loop, client, owner=False)
        return clone

    def _adopt(self, loop: LoopThread, client: LoopaiClient, *, owner: bool) -> None:
        self._loop = loop
        self._client = client
        self._owner = owner
        self._closed = False

    # --- lifecycle -----------------------------------------------------------

    def __repr__(self) -> str:
        return f"Sync{self._client!r}"

    def __enter__(self) -> Self:
        if self.is_closed:
            raise ClientClosedException("this SyncLoopaiClient is closed; create a new one")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the client: its connection pool, then its event loop thread.

        A copy made with `with_options` closes only itself; closing the
        original closes the pool and the loop for both.
        """
        if self._closed:
            return
        self._closed = True
        if self._owner:
            _close_and_stop(self._loop, self._client)
        elif not self._loop.closed:
            self._loop.run(self._client.aclose)

    @property
    def is_closed(self) -> bool:
        """Whether the client (or the one it was derived from) has been closed."""
        return self._closed or self._loop.closed or self._client.is_closed

    @property
    def base_url(self) -> str:
        """The API's address, without the ``/api/v1`` prefix."""
        return self._client.base_url

    @property
    def api_key(self) -> str | None:
        """The API key as given (it never appears in a repr, log or error)."""
        return self._client.api_key

    @property
    def timeout(self) -> TimeoutTypes:
        """The default timeout of each attempt, as given."""
        return self._client.timeout

    @property
    def max_retries(self) -> int:
        """Retries of transient failures after the first attempt."""
        return self._client.max_retries

    @property
    def with_raw_response(self) -> SyncWithRawResponse:
        """The same methods, returning the `LoopaiResponse` (status, headers, trace id, `parse()`)."""
        return SyncWithRawResponse(self._loop, self._client.with_raw_response)

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry settings of every call."""
        return self._client.retry_policy

    @property
    def batch_options(self) -> BatchOptions:
        """The batch runner's defaults (chunking, pacing)."""
        return self._client.batch_options

    @property
    def async_client(self) -> LoopaiClient:
        """The `LoopaiClient` behind this client; use it only on this client's own loop."""
        return self._client

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Public attributes the async client gains (settings, namespaces of
            # methods) show through, their coroutine methods made blocking.
            if name.startswith("_"):
                raise AttributeError(name)
            return blocking_view(self._loop, getattr(self._client, name))

    # --- derived from LoopaiClient: one line each, checked by tests/test_sync_client.py -------

    with_options = _rewrapping(LoopaiClient.with_options)
    rate_limit_state = _on_loop(LoopaiClient.rate_limit_state)
    create_task = _blocking(LoopaiClient.create_task)
    get_task = _blocking(LoopaiClient.get_task)
    execute = _blocking(LoopaiClient.execute)
    batch_execute = _blocking(LoopaiClient.batch_execute)
    batch_execute_advanced = _blocking(LoopaiClient.batch_execute_advanced)
    stream_batch = _streaming(LoopaiClient.stream_batch)
    batch_validate = _blocking(LoopaiClient.batch_validate)
    list_artifacts = _blocking(LoopaiClient.list_artifacts)
    get_artifact = _blocking(LoopaiClient.get_artifact)
    get_health = _blocking(LoopaiClient.get_health)
    get_health_detailed = _blocking(LoopaiClient.get_health_detailed)
    get_readiness = _blocking(LoopaiClient.get_readiness)
    get_liveness = _blocking(LoopaiClient.get_liveness)


class SyncWithRawResponse:
    """The sync client's methods, returning a `LoopaiResponse` instead of the parsed result.

    ``client.with_raw_response.execute(task_id, {...})`` takes the same
    arguments as ``client.execute`` and blocks the same way.
    """

    def __init__(self, loop: LoopThread, raw: WithRawResponse) -> None:
        self._loop = loop
        self._raw = raw

    def __getattr__(self, name: str) -> Callable[..., LoopaiResponse[Any]]:
        method = getattr(self._raw, name)  # AttributeError for what is not an API call
        return cast("Callable[..., LoopaiResponse[Any]]", blocking_view(self._loop, method))

    def __repr__(self) -> str:
        return "<SyncLoopaiClient.with_raw_response>"


def _close_and_stop(loop: LoopThread, client: LoopaiClient) -> None:
    """Cancel the calls in progress, close the async client on its loop, then stop the loop."""
    try:
        if not loop.closed:
            loop.cancel_all()
            loop.run(client.aclose)
    finally:
        loop.stop()
