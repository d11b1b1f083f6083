"""The request pipeline: send, map errors, retry, decode, log.

Every call of the client and every chunk of a batch job goes through
`RequestPipeline.call`: it waits for the rate budget and a connection slot,
sends one attempt through the transport (bounded in time and size), maps a
failed status to its exception, decodes the body into the endpoint's model,
and retries what is transient under the call's `RetryPolicy`, within the
call's deadline.  Decoding is part of the attempt, so a cut-off or malformed
body is retried like a dropped connection.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
import stamina

from ._codec import decode_model
from ._error_mapping import map_error, retry_after
from ._exceptions import ClientClosedException, LoopaiException, RateLimitException, TimeoutException
from ._rate_budget import BudgetExhausted, RateGate
from ._retry import RetryPolicy, is_transient
from ._transport import HttpTransport, RawResponse, Timeout

__all__ = ["Answer", "Call", "RequestPipeline", "capture_answers"]

T = TypeVar("T")

logger = logging.getLogger("loopai")


@dataclass(frozen=True, slots=True)
class Call:
    """One API call, with every per-call choice already resolved."""

    method: str
    path: str
    timeout: Timeout
    policy: RetryPolicy
    content: bytes | None = None
    headers: Mapping[str, str] | None = None
    accept: frozenset[int] = frozenset()
    items: int = 1


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """A successful answer: the response as received and its decoded body."""

    response: RawResponse
    value: T


_captured: ContextVar[list[Answer[Any]] | None] = ContextVar("loopai_captured_answers", default=None)


@contextmanager
def capture_answers() -> Iterator[list[Answer[Any]]]:
    """Collect the answers of every call made in this context (tasks it starts included)."""
    answers: list[Answer[Any]] = []
    token = _captured.set(answers)
    try:
        yield answers
    finally:
        _captured.reset(token)


class _RetryRun:
    """The retry decisions of one call, as stamina's backoff hook."""

    def __init__(self, call: Call, url: str, deadline: float) -> None:
        self.call = call
        self.url = url
        self.deadline = deadline
        self.failures = 0
        self.refused_wait: float | None = None

    def decide(self, exc: Exception) -> bool | float:
        self.failures += 1
        wait = self.call.policy.wait_before_retry(exc, self.failures)
        if wait is None:
            return False
        if anyio.current_time() + wait > self.deadline:
            self.refused_wait = wait
            return False
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "retrying %s %s: attempt %d failed with %s; next attempt in %.2f s",
                self.call.method, self.url, self.failures, _cause(exc), wait,
            )  # fmt: skip
        return wait


def _cause(exc: BaseException) -> str:
    if isinstance(exc, LoopaiException) and exc.status_code is not None:
        return f"{type(exc).__name__} (HTTP {exc.status_code}{f' {exc.code}' if exc.code else ''})"
    return type(exc).__name__


class RequestPipeline:
    """Sends calls for one client; copies made by ``with_options`` share its parts.

    Args:
        transport: The connection pool.
        base_url: Prefix of every path.
        gate: The client's rate budget.
        max_connections: How many requests may be in flight at once; the
            rest wait here, before their time limits start, not in the pool.
    """

    def __init__(self, transport: HttpTransport, base_url: str, gate: RateGate, max_connections: int) -> None:
        self.transport = transport
        self.base_url = base_url
        self.gate = gate
        self._max_connections = max_connections
        self._slots: anyio.CapacityLimiter | None = None

    @property
    def closed(self) -> bool:
        """Whether the connection pool has been closed."""
        return self.transport.closed

    async def call(
        self,
        call: Call,
        model: type[T],
        *,
        is_open: Callable[[], bool],
    ) -> Answer[T]:
        """Run ``call`` to a decoded answer, retrying what is transient.

        Raises:
            LoopaiException: the call failed for good; ``attempts`` says how often it was tried.
            TimeoutException: the policy's deadline passed, or a wait would have passed it.
            ClientClosedException: the client was closed before or during the call.
        """
        url = self.base_url + call.path
        key = (call.method, call.path.lower())
        policy_deadline = call.policy.timeout
        started = anyio.current_time()
        deadline = started + policy_deadline if policy_deadline is not None else math.inf
        # The client's own pace is queueing; a wait the server asked for counts against the deadline.
        await self._acquire(call, key, url, deadline)
        run = _RetryRun(call, url, deadline)
        failure: LoopaiException | None = None
        with anyio.CancelScope(deadline=deadline) as scope:
            try:
                return await self._attempt(call, model, url, key, is_open, attempt=1)
            except LoopaiException as exc:
                if call.policy.max_retries == 0 or not is_transient(exc):
                    raise
                failure = exc
            try:
                return await self._retry(call, model, url, key, is_open, run, failure)
            except LoopaiException as exc:
                if run.refused_wait is not None:
                    raise TimeoutException(
                        f"gave up after {exc.attempts} attempt(s): the next would start in"
                        f" {run.refused_wait:.3g} s, past the call's deadline of {policy_deadline:g} s"
                        f" (RetryPolicy.timeout); last failure: {exc}",
                        method=call.method,
                        url=url,
                        attempts=exc.attempts,
                    ) from exc
                raise
        assert scope.cancelled_caught
        raise TimeoutException(
            f"the call's deadline of {policy_deadline:g} s (RetryPolicy.timeout) passed"
            f" after {run.failures + 1} attempt(s)",
            method=call.method,
            url=url,
            attempts=run.failures + 1,
        ) from failure

    async def _retry(
        self,
        call: Call,
        model: type[T],
        url: str,
        key: tuple[str, str],
        is_open: Callable[[], bool],
        run: _RetryRun,
        first_failure: LoopaiException,
    ) -> Answer[T]:
        policy = call.policy
        async for attempt in stamina.retry_context(
            on=run.decide,
            attempts=policy.max_retries + 1,
            timeout=None,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        ):
            with attempt:
                try:
                    if attempt.num == 1:
                        raise first_failure  # replayed, so that stamina decides and waits from it
                    return await self._attempt(
                        call, model, url, key, is_open, attempt=attempt.num, deadline=run.deadline
                    )
                except LoopaiException as exc:
                    exc.attempts = attempt.num
                    raise
        raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover

    async def _acquire(self, call: Call, key: tuple[str, str], url: str, deadline: float) -> None:
        """Wait for the rate budget, unless the server's limit holds the route longer than allowed."""
        max_wait = min(call.policy.max_retry_after, deadline - anyio.current_time())
        try:
            await self.gate.acquire(key, call.items, max_wait=max(0.0, max_wait))
        except BudgetExhausted as exc:
            raise RateLimitException(
                f"not sent: the server's rate limit for this route is used up for {exc.wait:.3g} s more,"
                " longer than RetryPolicy.max_retry_after or the call's deadline allows",
                retry_after=exc.wait,
                method=call.method,
                url=url,
            ) from None

    async def _attempt(
        self,
        call: Call,
        model: type[T],
        url: str,
        key: tuple[str, str],
        is_open: Callable[[], bool],
        *,
        attempt: int,
        deadline: float = math.inf,
    ) -> Answer[T]:
        if attempt > 1:  # the first attempt's permit was taken before the call's clock started
            await self._acquire(call, key, url, deadline)
        if not is_open() or self.transport.closed:
            self.gate.finish(key)
            raise ClientClosedException(
                "the client was closed" + ("" if attempt == 1 else " while the call waited to retry"),
                method=call.method,
                url=url,
            )
        if self._slots is None:
            self._slots = anyio.CapacityLimiter(self._max_connections)
        slots = self._slots
        try:
            try:
                # A slot is free most of the time: take it without yielding to the event loop.
                slots.acquire_nowait()
            except anyio.WouldBlock:
                await slots.acquire()
            try:
                started = anyio.current_time()
                raw = await self.transport.send(
                    call.method,
                    url,
                    content=call.content,
                    headers=call.headers,
                    time_limits=call.timeout,
                    display_url=url,
                )
            finally:
                slots.release()
        except BaseException:
            self.gate.finish(key)
            raise
        status = raw.status_code
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d (attempt %d, %.1f ms, %d bytes)",
                call.method, url, status, attempt, (anyio.current_time() - started) * 1000, len(raw.content),
            )  # fmt: skip
        if status >= 300 and status not in call.accept:
            error = map_error(status, raw.headers, raw.content, method=call.method, url=url)
            wait = error.retry_after if isinstance(error, RateLimitException) else retry_after(raw.headers)
            self.gate.finish(key, status=status, headers=raw.headers, retry_after=wait)
            raise error
        self.gate.finish(key, status=status, headers=raw.headers)
        value = decode_model(model, raw.content, method=call.method, url=url, status=status)
        answer = Answer(raw, value)
        captured = _captured.get()
        if captured is not None:
            captured.append(answer)
        return answer
