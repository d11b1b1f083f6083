"""`LoopaiClient`: the async client of the Loopai Cloud API."""

from __future__ import annotations

import base64
import functools
import os
from collections.abc import AsyncIterable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit
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
from ._codec import encode
from ._exceptions import (
    ClientClosedException,
    ExecutionException,
    InvalidArgumentException,
)
from ._logging import configure_logging
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
from ._not_given import NOT_GIVEN, NotGiven
from ._pipeline import Answer, Call, RequestPipeline
from ._rate_budget import RateBudget, RateGate, RateLimitState
from ._raw_response import WithRawResponse
from ._retry import RetryPolicy
from ._transport import (
    ACCEPT_ENCODING,
    AsyncBaseTransport,
    AsyncHTTPClient,
    HttpTransport,
    TimeoutTypes,
    as_timeout,
)
from ._version import __version__

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from typing_extensions import Self


__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "LoopaiClient"]

T = TypeVar("T")

DEFAULT_BASE_URL: Final = "http://localhost:8080"
API_PREFIX: Final = "/api/v1"
#: The default cap on a decoded response body.
DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024
_DEFAULT_MAX_RETRIES: Final = 3

configure_logging()


class _BaseUrl:
    """A base URL split from any credentials it carried, which are masked wherever it is shown."""

    def __init__(self, value: object) -> None:
        raw = value if value is not None else (os.environ.get("LOOPAI_BASE_URL") or DEFAULT_BASE_URL)
        if not isinstance(raw, str):
            raise InvalidArgumentException("base_url", f"must be a string, got {type(raw).__name__}")
        text = raw.strip().rstrip("/")
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise InvalidArgumentException("base_url", "is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            shown = text if "@" not in text else "(a URL with credentials)"
            raise InvalidArgumentException("base_url", f"must be an http:// or https:// URL, got {shown!r}")
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        netloc = host if port is None else f"{host}:{port}"
        path = parts.path.rstrip("/").removesuffix(API_PREFIX)
        self.url = urlunsplit((parts.scheme, netloc, path, "", ""))
        self.tls = parts.scheme == "https"
        self.username = None if parts.username is None else unquote(parts.username)
        self.password = None if parts.password is None else unquote(parts.password)
        self._raw_password = parts.password
        shown_user = f"{parts.username}:***@" if parts.username is not None else ""
        self.masked = urlunsplit((parts.scheme, shown_user + netloc, path, "", ""))

    def basic_auth(self) -> str | None:
        if self.username is None:
            return None
        pair = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


class LoopaiClient:
    """An async client of the Loopai Cloud API, for asyncio and trio alike.

    Use it as an async context manager, or call `aclose` when done:

        async with LoopaiClient("http://localhost:8080") as client:
            task = await client.get_task(task_id)

    Args:
        base_url: The API's address; defaults to ``$LOOPAI_BASE_URL``, then
            ``http://localhost:8080``.  Credentials in it (``user:pw@``) are
            sent as basic auth and masked wherever the URL is shown.
        api_key: Sent as ``Authorization: Bearer ...``; defaults to
            ``$LOOPAI_API_KEY``.  Never shown in reprs, logs, errors or pickles.
        timeout: The limit of each attempt as a whole (connect, send,
            headers and body): seconds, an `httpx2.Timeout` (each attempt is
            then bounded by its longest phase), or None for none.
        max_retries: Retries of transient failures after the first attempt
            (default 3).
        headers: Extra headers sent with every request.
        http_client: An `httpx2.AsyncClient` to send through (you close it).
        transport: An httpx2 transport for the client's own pool (for
            example `httpx2.ASGITransport` or a mock in tests).
        max_connections: Most requests in flight at once; more wait in the
            client, before their timeouts start.
        retry_policy: Full retry settings, including the deadline of a whole
            call; its ``max_retries`` must agree with ``max_retries`` if both
            are given.
        batch_options: Defaults of the batch runner (chunking, per-job pacing).
        max_response_bytes: The largest response body read, counted after
            decompression (default 64 MiB); a larger one raises
            `ResponseTooLargeException`.
        requests_per_second: The client's pace of requests, shared by every
            call and batch job on it (and on its `with_options` copies).
        items_per_second: The client's pace of batch items, shared likewise.

    Raises:
        InvalidArgumentException: an argument is out of range or of the wrong type.
    """

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
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        requests_per_second: float | None = None,
        items_per_second: float | None = None,
    ) -> None:
        self.retry_policy: RetryPolicy = _policy(retry_policy, max_retries)
        self._base = _BaseUrl(base_url)
        key = check.api_key(api_key if api_key is not None else os.environ.get("LOOPAI_API_KEY"))
        if key and self._base.username is not None:
            raise InvalidArgumentException(
                "base_url", "holds credentials and api_key is set; give one of them"
            )
        self._api_key = key
        self._timeout = as_timeout(timeout)
        self._given_timeout: TimeoutTypes = timeout
        self._extra: dict[str, str] = check.header_map(headers)
        self.batch_options: BatchOptions = batch_options or BatchOptions()
        check.whole_number(max_connections, "max_connections", 1)
        check.whole_number(max_response_bytes, "max_response_bytes", 1)
        default_headers = self._default_headers()
        pool = HttpTransport(
            tls=self._base.tls,
            timeout=self._timeout,
            http_client=http_client,
            transport=transport,
            max_connections=max_connections,
            headers=default_headers,
            max_response_bytes=max_response_bytes,
            redact=self._redact,
        )
        gate = RateGate(
            RateBudget(
                check.positive_rate(requests_per_second, "requests_per_second"),
                check.positive_rate(items_per_second, "items_per_second"),
            )
        )
        self._pipeline = RequestPipeline(pool, self._base.url, gate, max_connections)
        # An owned pool already sends the defaults; an injected client needs them on each request.
        self._per_request_headers: dict[str, str] = {} if pool.owns_pool else default_headers
        self._owner = True
        self._closed = False

    def _default_headers(self) -> dict[str, str]:
        headers = {
            "User-Agent": f"loopai-python/{__version__}",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "Content-Type": "application/json",
        }
        authorization = f"Bearer {self._api_key}" if self._api_key else self._base.basic_auth()
        if authorization:
            headers["Authorization"] = authorization
        headers.update(self._extra)
        return headers

    def _redact(self, text: str) -> str:
        for secret in (self._api_key, self._base.password, self._base._raw_password):
            if secret:
                text = text.replace(secret, "***")
        return text

    # --- configuration, as the seed SDK exposed it ------------------------------

    @property
    def base_url(self) -> str:
        """The API's address (credentials, if it held any, are kept apart)."""
        return self._base.url

    @property
    def api_key(self) -> str | None:
        """The API key as given (it never appears in a repr, log or error)."""
        return self._api_key

    @property
    def timeout(self) -> TimeoutTypes:
        """The default timeout of each attempt, as given."""
        return self._given_timeout

    @property
    def with_raw_response(self) -> WithRawResponse:
        """The same methods, returning the `LoopaiResponse` (status, headers, trace id, `parse()`)."""
        return WithRawResponse(self)

    @property
    def max_retries(self) -> int:
        """Retries of transient failures after the first attempt."""
        return self.retry_policy.max_retries

    def rate_limit_state(self, method: str, path: str) -> RateLimitState | None:
        """What the client last heard of the server's rate limit for ``method path``.

        ``path`` is the API path, e.g. ``/api/v1/batch/execute``; None when
        the server sent nothing about it.
        """
        import anyio

        return self._pipeline.gate.budget.state((method.upper(), path.lower()), anyio.current_time())

    # --- lifecycle -----------------------------------------------------------

    def __repr__(self) -> str:
        key = ", api_key='***'" if self._api_key else ""
        return (
            f"LoopaiClient(base_url={self._base.masked!r}{key}, timeout={self._given_timeout!r},"
            f" max_retries={self.retry_policy.max_retries})"
        )

    def __reduce__(self) -> Any:
        raise TypeError("a LoopaiClient holds a connection pool and a key; it cannot be pickled")

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
        if self._owner and not self._pipeline.transport.closed:
            await self._pipeline.transport.aclose()

    close = aclose

    @property
    def is_closed(self) -> bool:
        """Whether the client (or the one it was derived from) has been closed."""
        return self._closed or self._pipeline.closed

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_policy: RetryPolicy | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | NotGiven = NOT_GIVEN,
        batch_options: BatchOptions | NotGiven = NOT_GIVEN,
    ) -> LoopaiClient:
        """A copy with other defaults that shares this client's connection pool and rate budget.

        ``headers`` are added to this client's own.  Closing the copy leaves
        the pool open; closing the original closes it for both.
        """
        self._check_open()
        policy = self.retry_policy if isinstance(retry_policy, NotGiven) else retry_policy
        if not isinstance(max_retries, NotGiven):
            policy = replace(policy, max_retries=check.whole_number(max_retries, "max_retries", 0))
        clone = object.__new__(LoopaiClient)
        clone.__dict__.update(self.__dict__)
        clone.retry_policy = _policy(policy, NOT_GIVEN)
        if not isinstance(timeout, NotGiven):
            clone._timeout = as_timeout(timeout)
            clone._given_timeout = timeout
        if not isinstance(batch_options, NotGiven):
            clone.batch_options = batch_options
        if not isinstance(headers, NotGiven):
            added = check.header_map(headers)
            clone._extra = {**self._extra, **added}
            clone._per_request_headers = {**self._per_request_headers, **added}
        clone._owner = False
        clone._closed = False
        return clone

    def _check_open(self) -> None:
        if self.is_closed:
            raise ClientClosedException(
                "this LoopaiClient is closed; create a new one (or use it in `async with`)"
            )

    def _is_open(self) -> bool:
        return not self.is_closed

    # --- sending ---------------------------------------------------------------

    def _resolve(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
        items: int = 1,
    ) -> Call:
        """A `Call` with the client's defaults filled in and the per-call arguments checked."""
        self._check_open()
        policy = self.retry_policy
        if not isinstance(max_retries, NotGiven):
            policy = replace(policy, max_retries=check.whole_number(max_retries, "max_retries", 0))
        if headers:
            request_headers: Mapping[str, str] | None = {
                **self._per_request_headers,
                **check.header_map(headers),
            }
        else:
            request_headers = self._per_request_headers or None
        return Call(
            method=method,
            path=path,
            timeout=self._timeout if isinstance(timeout, NotGiven) else as_timeout(timeout),
            policy=policy,
            content=content,
            headers=request_headers,
            accept=accept,
            items=items,
        )

    async def _answer(
        self,
        model: type[T],
        method: str,
        path: str,
        *,
        body: object = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> Answer[T]:
        call = self._resolve(
            method,
            path,
            content=None if body is None else encode(body),
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            accept=accept,
        )
        return await self._pipeline.call(call, model, is_open=self._is_open)

    async def _call(
        self,
        model: type[T],
        method: str,
        path: str,
        *,
        body: object = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> T:
        answer = await self._answer(
            model,
            method,
            path,
            body=body,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            accept=accept,
        )
        return answer.value

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
        max_retries: int | NotGiven = NOT_GIVEN,
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
            Task,
            "POST",
            f"{API_PREFIX}/tasks",
            body=request,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
        )

    async def get_task(
        self,
        task_id: str | UUID,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> Task:
        """Fetch a task by id.

        Raises:
            NotFoundException: there is no such task.
        """
        tid = check.task_id(task_id)
        return await self._call(
            Task,
            "GET",
            f"{API_PREFIX}/tasks/{tid}",
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
        )

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
        max_retries: int | NotGiven = NOT_GIVEN,
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
            timeout: This call's limit per attempt (default: the client's).
            max_retries: This call's retries (default: the client's).
            headers: Extra headers for this call.

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
            ExecutionResult,
            "POST",
            path,
            body=request,
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
        )
        if raise_on_failure and not result.succeeded:
            raise ExecutionException(
                f"execution {result.id} ended with status {result.status!r}:"
                f" {result.error_message or 'no message'}"[:1200],
                execution_id=result.id,
                result=result,
                code=result.status.upper()[:100],
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
        max_retries: int | NotGiven = NOT_GIVEN,
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
            timeout: The limit of each chunk request's attempts (default: the client's).
            max_retries: Retries of each chunk request (default: the client's).

        Raises:
            InvalidArgumentException: an input is not a dict, or an argument is
                out of range; nothing has been sent.
            BatchException: the job failed other than by its requests (for
                example, ``progress`` raised).
        """
        settings = JobSettings.checked(
            task_id, options=options or self.batch_options, max_concurrency=max_concurrency, progress=progress
        )
        send_chunk = self._chunk_sender(timeout, max_retries, headers)
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
        max_retries: int | NotGiven = NOT_GIVEN,
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
        send_chunk = self._chunk_sender(timeout, max_retries, headers)
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
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> BatchStream:
        """Stream results of a batch of any size, in flat memory.

        Inputs are read lazily from an iterable or async iterable of input
        dicts (ids are their positions) or of `BatchExecuteItem` (ids kept,
        and a repeated id ends the job); the first item decides which.
        Use it as:

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
        send_chunk = self._chunk_sender(timeout, max_retries, headers)
        return stream_batch(settings, inputs, send_chunk, ordered=ordered)

    def _chunk_sender(
        self,
        timeout: TimeoutTypes | NotGiven,
        max_retries: int | NotGiven,
        headers: Mapping[str, str] | None,
    ) -> SendChunk:
        """How a batch job sends its chunks: one `Call`, checked here, before anything is sent."""
        call = self._resolve(
            "POST",
            f"{API_PREFIX}/batch/execute",
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
        )
        return functools.partial(self._send_chunk, call=call)

    async def _send_chunk(self, body: bytes, item_count: int, *, call: Call) -> BatchExecuteResponse:
        """Send one encoded chunk of a batch job through the pipeline (see `SendChunk`)."""
        chunk_call = replace(call, content=body, items=item_count)
        answer = await self._pipeline.call(chunk_call, BatchExecuteResponse, is_open=self._is_open)
        return answer.value

    async def batch_validate(
        self,
        task_id: str | UUID,
        items: Iterable[BatchValidateItem | Mapping[str, Any]],
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
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
            max_retries=max_retries,
            headers=headers,
        )

    # --- artifacts -----------------------------------------------------------------------

    async def list_artifacts(
        self,
        task_id: str | UUID,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> list[ProgramArtifact]:
        """All program versions of a task (empty for an unknown task)."""
        path = f"{API_PREFIX}/tasks/{check.task_id(task_id)}/artifacts"
        return await self._call(
            list[ProgramArtifact], "GET", path, timeout=timeout, max_retries=max_retries, headers=headers
        )

    async def get_artifact(
        self,
        task_id: str | UUID,
        version: int,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> ProgramArtifact:
        """One program version of a task.

        Raises:
            NotFoundException: the task has no such version.
        """
        number = check.whole_number(version, "version", 1)
        path = f"{API_PREFIX}/tasks/{check.task_id(task_id)}/artifacts/{quote(str(number))}"
        return await self._call(
            ProgramArtifact, "GET", path, timeout=timeout, max_retries=max_retries, headers=headers
        )

    # --- health ----------------------------------------------------------------------------

    async def get_health(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> HealthResponse:
        """The API's health (``GET /api/v1/health``)."""
        return await self._call(
            HealthResponse,
            "GET",
            f"{API_PREFIX}/health",
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
        )

    async def get_health_detailed(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> DetailedHealthResponse:
        """Health per component; a degraded server (503) is returned, not raised."""
        return await self._call(
            DetailedHealthResponse,
            "GET",
            f"{API_PREFIX}/health/detailed",
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            accept=frozenset({503}),
        )

    async def get_readiness(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> ReadinessResponse:
        """Whether the server is ready; not ready (503) is returned, not raised."""
        return await self._call(
            ReadinessResponse,
            "GET",
            f"{API_PREFIX}/health/ready",
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
            accept=frozenset({503}),
        )

    async def get_liveness(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> LivenessResponse:
        """Whether the server process is alive."""
        return await self._call(
            LivenessResponse,
            "GET",
            f"{API_PREFIX}/health/live",
            timeout=timeout,
            max_retries=max_retries,
            headers=headers,
        )


def _policy(policy: RetryPolicy | None, max_retries: int | NotGiven) -> RetryPolicy:
    """The retry policy from ``retry_policy`` and ``max_retries``, which must agree if both are given."""
    if policy is not None and not isinstance(policy, RetryPolicy):
        raise InvalidArgumentException("retry_policy", f"must be a RetryPolicy, got {type(policy).__name__}")
    if isinstance(max_retries, NotGiven):
        return policy or RetryPolicy(max_retries=_DEFAULT_MAX_RETRIES)
    count = check.whole_number(max_retries, "max_retries", 0)
    if policy is None:
        return RetryPolicy(max_retries=count)
    if count != policy.max_retries:
        raise InvalidArgumentException(
            "max_retries", "differs from retry_policy.max_retries; give one of them"
        )
    return policy
