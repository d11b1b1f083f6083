"""`LoopaiClient`: the async client of the Loopai Cloud API."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import AsyncIterable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote
from uuid import UUID

from . import _arguments as check
from ._batch import (
    BatchOptions,
    BatchProgress,
    BatchStream,
    IdPolicy,
    ItemLike,
    JobSettings,
    SendChunk,
    run_batch,
    stream_batch,
)
from ._codec import decode_model, encode
from ._error_mapping import map_error
from ._exceptions import (
    ClientClosedException,
    ExecutionException,
    InvalidArgumentException,
    LoopaiException,
)
from ._models import (
    BatchExecuteItem,
    BatchExecuteRequest,
    BatchExecuteResponse,
    BatchValidateItem,
    BatchValidateRequest,
    BatchValidateResponse,
    CreateTaskRequest,
    DetailedHealthResponse,
    ExecuteRequest,
    ExecutionResult,
    HealthResponse,
    LivenessResponse,
    ProgramArtifact,
    ReadinessResponse,
    Task,
)
from ._retry import RetryPolicy
from ._transport import (
    AsyncBaseTransport,
    AsyncHTTPClient,
    HttpTransport,
    RawResponse,
    TimeoutTypes,
    as_timeout,
)
from ._version import __version__

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from typing_extensions import Self


__all__ = ["NOT_GIVEN", "LoopaiClient", "NotGiven"]

logger = logging.getLogger("loopai")

T = TypeVar("T")

DEFAULT_BASE_URL: Final = "http://localhost:8080"
API_PREFIX: Final = "/api/v1"


class NotGiven:
    """The type of `NOT_GIVEN`: an argument left at the client's default."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:  # noqa: PYI034 - a singleton
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


#: Marks a per-call argument as "use the client's default" (distinct from None).
NOT_GIVEN: Final = NotGiven()


def _base_url(value: str | None) -> str:
    url = (value or os.environ.get("LOOPAI_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidArgumentException("base_url", f"must start with http:// or https://, got {url!r}")
    return url.removesuffix(API_PREFIX)


class LoopaiClient:
    """An async client of the Loopai Cloud API, for asyncio and trio alike.

    Use it as an async context manager, or call `aclose` when done::

        async with LoopaiClient("http://localhost:8080") as client:
            task = await client.get_task(task_id)

    Args:
        base_url: The API's address; defaults to ``$LOOPAI_BASE_URL``, then
            ``http://localhost:8080``.
        api_key: Sent as ``Authorization: Bearer ...``; defaults to
            ``$LOOPAI_API_KEY``.  Never shown in reprs, logs or errors.
        timeout: Default request timeout: seconds, an `httpx2.Timeout` for
            per-phase limits, or None for none.
        max_retries: Retries of transient failures after the first attempt.
        headers: Extra headers sent with every request.
        http_client: An `httpx2.AsyncClient` to send through (you close it).
        transport: An httpx2 transport for the client's own pool (for
            example `httpx2.ASGITransport` or a mock in tests).
        max_connections: Size of the client's connection pool.
        retry_policy: Full retry settings; its ``max_retries`` must agree
            with ``max_retries`` if both are given.
        batch_options: Defaults of the batch runner (chunking, pacing).

    Raises:
        InvalidArgumentException: an argument is out of range or of the wrong type.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: TimeoutTypes = 30.0,
        max_retries: int = 3,
        *,
        headers: Mapping[str, str] | None = None,
        http_client: AsyncHTTPClient | None = None,
        transport: AsyncBaseTransport | None = None,
        max_connections: int = 100,
        retry_policy: RetryPolicy | None = None,
        batch_options: BatchOptions | None = None,
    ) -> None:
        check.whole_number(max_retries, "max_retries", 0)
        if retry_policy is None:
            retry_policy = RetryPolicy(max_retries=max_retries)
        elif max_retries not in (3, retry_policy.max_retries):
            raise InvalidArgumentException(
                "max_retries", "differs from retry_policy.max_retries; give one of them"
            )
        self.base_url: str = _base_url(base_url)
        self.retry_policy: RetryPolicy = retry_policy
        self.batch_options: BatchOptions = batch_options or BatchOptions()
        key = api_key if api_key is not None else os.environ.get("LOOPAI_API_KEY")
        self._has_api_key = bool(key)
        self._headers: dict[str, str] = {
            "User-Agent": f"loopai-python/{__version__}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._headers.update(headers or {})
        self._transport = HttpTransport(
            timeout=timeout,
            http_client=http_client,
            transport=transport,
            max_connections=max_connections,
            headers=self._headers,
        )
        # Headers the HTTP client does not already send by default: all of them for an
        # injected client, none for our own (merging per request costs more than the rest).
        self._extra_headers: dict[str, str] = {} if self._transport.owns_pool else dict(self._headers)
        self._timeout = self._transport.timeout
        self._owner = True
        self._closed = False

    # --- lifecycle -----------------------------------------------------------

    def __repr__(self) -> str:
        key = ", api_key='***'" if self._has_api_key else ""
        return (
            f"LoopaiClient(base_url={self.base_url!r}{key}, timeout={self._timeout!r},"
            f" max_retries={self.retry_policy.max_retries})"
        )

    async def __aenter__(self) -> Self:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client; the connection pool closes with the client that made it."""
        self._closed = True
        if self._owner and not self._transport.closed:
            await self._transport.aclose()

    close = aclose

    @property
    def is_closed(self) -> bool:
        """Whether the client (or the one it was derived from) has been closed."""
        return self._closed or self._transport.closed

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        batch_options: BatchOptions | None = None,
    ) -> LoopaiClient:
        """A copy with other defaults that shares this client's connection pool.

        Closing the copy leaves the pool open; closing the original closes it
        for both.
        """
        self._check_open()
        clone = object.__new__(LoopaiClient)
        clone.__dict__.update(self.__dict__)
        clone._owner = False
        policy = retry_policy or self.retry_policy
        if max_retries is not None:
            policy = replace(policy, max_retries=check.whole_number(max_retries, "max_retries", 0))
        clone.retry_policy = policy
        clone.batch_options = batch_options or self.batch_options
        clone._headers = {**self._headers, **(headers or {})}
        clone._extra_headers = {**self._extra_headers, **(headers or {})}
        if not isinstance(timeout, NotGiven):
            clone._timeout = as_timeout(timeout)
        return clone

    def _check_open(self) -> None:
        if self.is_closed:
            raise ClientClosedException(
                "this LoopaiClient is closed; create a new one (or use it in `async with`)"
            )

    # --- sending ---------------------------------------------------------------

    async def _send_once(
        self,
        transport: HttpTransport,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        timeout: TimeoutTypes,
        attempt: int,
        accept: frozenset[int],
    ) -> RawResponse:
        started = time.perf_counter()
        try:
            raw = await transport.send(
                method,
                url,
                content=content,
                headers=headers,
                timeout=timeout,
            )
        except LoopaiException as exc:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s failed: %s (attempt %d, %.1f ms)",
                    method, url, type(exc).__name__, attempt,
                    (time.perf_counter() - started) * 1000,
                )  # fmt: skip
            raise
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d (attempt %d, %.1f ms)",
                method, url, raw.status_code, attempt, (time.perf_counter() - started) * 1000,
            )  # fmt: skip
        if raw.status_code >= 400 and raw.status_code not in accept:
            raise map_error(raw.status_code, raw.headers, raw.content, method=method, url=url)
        return raw

    async def _send(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
        transport: HttpTransport | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> RawResponse:
        self._check_open()
        url = self.base_url + path
        request_headers = {**self._extra_headers, **headers} if headers else (self._extra_headers or None)
        call_timeout = self._timeout if isinstance(timeout, NotGiven) else timeout
        via = transport or self._transport
        args = (via, method, url, content, request_headers, call_timeout)
        # The first attempt runs outside stamina: most calls succeed, and its
        # bookkeeping would cost more than the request itself.
        try:
            return await self._send_once(*args, 1, accept)
        except LoopaiException as exc:
            if not self.retry_policy.max_retries or not self.retry_policy.decide(exc):
                raise
            first_failure = exc
        async for attempt in self.retry_policy.attempts():
            with attempt:
                try:
                    if attempt.num == 1:
                        raise first_failure  # replayed so stamina counts and backs off from it
                    return await self._send_once(*args, attempt.num, accept)
                except LoopaiException as exc:
                    exc.attempts = attempt.num
                    raise
        raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover

    async def _call(
        self,
        model: type[T],
        method: str,
        path: str,
        *,
        body: object = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> T:
        content = None if body is None else encode(body)
        raw = await self._send(method, path, content=content, timeout=timeout, headers=headers, accept=accept)
        return decode_model(
            model, raw.content, method=method, url=self.base_url + path, status=raw.status_code
        )

    # --- tasks -------------------------------------------------------------------

    async def create_task(
        self,
        name: str,
        description: str,
        input_schema: dict[str, Any],
        output_schema: dict[str, Any],
        examples: list[Any] | None = None,
        accuracy_target: float = 0.9,
        latency_target_ms: int = 10,
        sampling_rate: float = 0.1,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> Task:
        """Create a task.

        Raises:
            InvalidArgumentException: an argument breaks a server limit (a name
                over 100 characters, a description over 2,000, a target out of range).
            ConflictException: a task with this name (case-insensitively) exists.
            ValidationException: the server refused the task.
        """
        if examples is not None and not isinstance(examples, list):
            raise InvalidArgumentException("examples", "must be a list or None")
        request = CreateTaskRequest(
            name=check.task_name(name),
            description=check.description(description),
            input_schema=check.json_object(input_schema, "input_schema"),
            output_schema=check.json_object(output_schema, "output_schema"),
            examples=examples,
            accuracy_target=check.fraction(accuracy_target, "accuracy_target"),
            latency_target_ms=check.whole_number(latency_target_ms, "latency_target_ms", 1, 60_000),
            sampling_rate=check.fraction(sampling_rate, "sampling_rate"),
        )
        return await self._call(
            Task, "POST", f"{API_PREFIX}/tasks", body=request, timeout=timeout, headers=headers
        )

    async def get_task(
        self,
        task_id: str | UUID,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> Task:
        """Fetch a task by id.

        Raises:
            NotFoundException: there is no such task.
        """
        tid = check.task_id(task_id)
        return await self._call(Task, "GET", f"{API_PREFIX}/tasks/{tid}", timeout=timeout, headers=headers)

    # --- execution -----------------------------------------------------------------

    async def execute(
        self,
        task_id: str | UUID,
        input_data: dict[str, Any],
        version: int | None = None,
        timeout_ms: int | None = None,
        force_validation: bool = False,
        *,
        raise_on_failure: bool = True,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> ExecutionResult:
        """Run the task's program on one input.

        Args:
            task_id: The task.
            input_data: The input; it must match the task's ``input_schema``.
            version: A program version; default the active one.
            timeout_ms: The server-side limit of the run (1-60,000).
            force_validation: Sample this execution for validation.
            raise_on_failure: Raise when the program fails (default); if
                False, return the failed result with its ``status``.

        Raises:
            ExecutionException: the program failed (``execution_id`` and
                ``result`` are set), or the server failed.
            ValidationException: the input was refused.
        """
        tid = check.task_id(task_id)
        request = ExecuteRequest(
            task_id=tid,
            input=check.json_object(input_data, "input_data"),
            version=check.optional_whole_number(version, "version", 1),
            force_validation=bool(force_validation),
            timeout_ms=check.optional_whole_number(timeout_ms, "timeout_ms", 1, 60_000),
        )
        path = f"{API_PREFIX}/tasks/{tid}/execute"
        result = await self._call(
            ExecutionResult, "POST", path, body=request, timeout=timeout, headers=headers
        )
        if raise_on_failure and not result.succeeded:
            raise ExecutionException(
                f"execution {result.id} ended with status {result.status!r}:"
                f" {result.error_message or 'no message'}",
                execution_id=result.id,
                result=result,
                code=result.status.upper(),
                status_code=200,
                method="POST",
                url=self.base_url + path,
            )
        return result

    # --- batches -----------------------------------------------------------------------

    async def batch_execute(
        self,
        task_id: str | UUID,
        inputs: Iterable[dict[str, Any]],
        max_concurrency: int = 10,
        *,
        options: BatchOptions | None = None,
        progress: Callable[[BatchProgress], object] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> BatchExecuteResponse:
        """Run the task on many inputs; results come back in input order.

        Item ids are the inputs' positions (``"0"``, ``"1"``, ...).  Any number
        of inputs works: the client splits them into requests that fit the
        server's limits (see `BatchOptions`).

        Args:
            max_concurrency: The server's parallelism within one request (1-100).
            options: Client-side chunking and pacing; default the client's.
            progress: Called after each chunk with a `BatchProgress`.
            timeout: Timeout of each chunk request.

        Raises:
            InvalidArgumentException: an input is not a dict, or an argument is
                out of range; nothing has been sent.
            BatchException: the job failed other than by its requests (for
                example, ``progress`` raised).
        """
        settings = JobSettings.checked(
            task_id, options=options or self.batch_options, max_concurrency=max_concurrency, progress=progress
        )
        send_chunk = self._chunk_sender(timeout, headers)
        return await run_batch(settings, inputs, send_chunk, policy=IdPolicy.POSITIONS)

    async def batch_execute_advanced(
        self,
        request: BatchExecuteRequest | None = None,
        *,
        task_id: str | UUID | None = None,
        items: Iterable[BatchExecuteItem | Mapping[str, Any]] | None = None,
        max_concurrency: int = 10,
        stop_on_first_error: bool = False,
        timeout_ms: int | None = None,
        version: int | None = None,
        options: BatchOptions | None = None,
        progress: Callable[[BatchProgress], object] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> BatchExecuteResponse:
        """Run a batch with caller-chosen item ids and options.

        Pass a `BatchExecuteRequest`, or its fields as keywords (items as
        `BatchExecuteItem` or dicts).  Results keep the callers' ids, in input
        order.  With ``stop_on_first_error`` the client stops sending at the
        first failed item; items that never ran are reported failed.

        Raises:
            InvalidArgumentException: duplicate item ids, or bad options;
                nothing has been sent.
            BatchException: the job failed other than by its requests.
        """
        if request is not None:
            if task_id is not None or items is not None:
                raise InvalidArgumentException(
                    "request", "give a BatchExecuteRequest or keyword fields, not both"
                )
            task_id, items = request.task_id, request.items
            max_concurrency, stop_on_first_error = (
                request.max_concurrency,
                request.stop_on_first_error,
            )
            timeout_ms, version = request.timeout_ms, request.version
        if task_id is None or items is None:
            raise InvalidArgumentException("task_id/items", "both are required")
        settings = JobSettings.checked(
            task_id,
            options=options or self.batch_options,
            max_concurrency=max_concurrency,
            stop_on_first_error=stop_on_first_error,
            timeout_ms=timeout_ms,
            version=version,
            progress=progress,
        )
        send_chunk = self._chunk_sender(timeout, headers)
        return await run_batch(settings, items, send_chunk, policy=IdPolicy.CALLER)

    def stream_batch(
        self,
        task_id: str | UUID,
        inputs: Iterable[ItemLike] | AsyncIterable[ItemLike],
        *,
        ordered: bool = False,
        max_concurrency: int = 10,
        stop_on_first_error: bool = False,
        timeout_ms: int | None = None,
        version: int | None = None,
        options: BatchOptions | None = None,
        progress: Callable[[BatchProgress], object] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> BatchStream:
        """Stream results of a batch of any size, in flat memory.

        Inputs are read lazily from an iterable or async iterable of input
        dicts (ids are their positions) or of `BatchExecuteItem` (ids kept,
        and a repeated id ends the job); the first item decides which.
        Use it as::

            async with client.stream_batch(task_id, inputs) as results:
                async for result in results:
                    ...

        Results come in completion order, or in input order with
        ``ordered=True``.  Leaving the block early cancels the rest; an
        exception raised in the block propagates unchanged.

        Raises:
            InvalidArgumentException: an argument is out of range (at once);
                nothing has been sent.
            BatchException: on leaving the block, if the job failed other
                than by its requests (a malformed or repeated item, say).
        """
        settings = JobSettings.checked(
            task_id,
            options=options or self.batch_options,
            max_concurrency=max_concurrency,
            stop_on_first_error=stop_on_first_error,
            timeout_ms=timeout_ms,
            version=version,
            progress=progress,
        )
        send_chunk = self._chunk_sender(timeout, headers)
        return stream_batch(settings, inputs, send_chunk, ordered=ordered)

    def _chunk_sender(self, timeout: TimeoutTypes | NotGiven, headers: Mapping[str, str] | None) -> SendChunk:
        """How a batch job sends its chunks, with the call's timeout (checked here) and headers."""
        self._check_open()
        call_timeout = timeout if isinstance(timeout, NotGiven) else as_timeout(timeout)
        return functools.partial(self._send_chunk, timeout=call_timeout, headers=headers)

    async def _send_chunk(
        self,
        body: bytes,
        item_count: int,
        *,
        timeout: TimeoutTypes | NotGiven,
        headers: Mapping[str, str] | None,
    ) -> BatchExecuteResponse:
        """Send one encoded chunk of a batch job, with the client's retries (see `SendChunk`)."""
        path = f"{API_PREFIX}/batch/execute"
        raw = await self._send("POST", path, content=body, timeout=timeout, headers=headers)
        return decode_model(
            BatchExecuteResponse,
            raw.content,
            method="POST",
            url=self.base_url + path,
            status=raw.status_code,
        )

    async def batch_validate(
        self,
        task_id: str | UUID,
        items: Iterable[BatchValidateItem | Mapping[str, Any]],
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> BatchValidateResponse:
        """Check outputs against expected outputs (the server compares them as text)."""
        validated = [
            item if isinstance(item, BatchValidateItem) else BatchValidateItem(**dict(item)) for item in items
        ]
        request = BatchValidateRequest(task_id=check.task_id(task_id), items=validated)
        return await self._call(
            BatchValidateResponse,
            "POST",
            f"{API_PREFIX}/batch/validate",
            body=request,
            timeout=timeout,
            headers=headers,
        )

    # --- artifacts -----------------------------------------------------------------------

    async def list_artifacts(
        self,
        task_id: str | UUID,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> list[ProgramArtifact]:
        """All program versions of a task (empty for an unknown task)."""
        path = f"{API_PREFIX}/tasks/{check.task_id(task_id)}/artifacts"
        return await self._call(list[ProgramArtifact], "GET", path, timeout=timeout, headers=headers)

    async def get_artifact(
        self,
        task_id: str | UUID,
        version: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> ProgramArtifact:
        """One program version of a task.

        Raises:
            NotFoundException: the task has no such version.
        """
        number = check.whole_number(version, "version", 1)
        path = f"{API_PREFIX}/tasks/{check.task_id(task_id)}/artifacts/{quote(str(number))}"
        return await self._call(ProgramArtifact, "GET", path, timeout=timeout, headers=headers)

    # --- health ----------------------------------------------------------------------------

    async def get_health(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> HealthResponse:
        """The API's health (``GET /api/v1/health``)."""
        return await self._call(
            HealthResponse, "GET", f"{API_PREFIX}/health", timeout=timeout, headers=headers
        )

    async def get_health_detailed(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> DetailedHealthResponse:
        """Health per component; a degraded server (503) is returned, not raised."""
        return await self._call(
            DetailedHealthResponse,
            "GET",
            f"{API_PREFIX}/health/detailed",
            timeout=timeout,
            headers=headers,
            accept=frozenset({503}),
        )

    async def get_readiness(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> ReadinessResponse:
        """Whether the server is ready; not ready (503) is returned, not raised."""
        return await self._call(
            ReadinessResponse,
            "GET",
            f"{API_PREFIX}/health/ready",
            timeout=timeout,
            headers=headers,
            accept=frozenset({503}),
        )

    async def get_liveness(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> LivenessResponse:
        """Whether the server process is alive."""
        return await self._call(
            LivenessResponse, "GET", f"{API_PREFIX}/health/live", timeout=timeout, headers=headers
        )
