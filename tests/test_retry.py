"""Retries: only transient failures, honouring Retry-After, counting attempts.

Waits are switched off by stamina's testing mode (see conftest), so these
run at full speed without touching sleep.
"""

from __future__ import annotations

import anyio
import pytest

from loopai import (
    ConnectionException,
    LoopaiClient,
    NotFoundException,
    RateLimitException,
    RedirectException,
    ResponseDecodeException,
    ResponseTooLargeException,
    RetryPolicy,
    ServerException,
    Task,
    TimeoutException,
    ValidationException,
)
from loopai._retry import is_transient
from loopai.testing import Fault, LocalServer, ServerQuirks


def error(status: int, code: str | None = None) -> ServerException | ValidationException:
    if status >= 500:
        return ServerException("x", status_code=status, code=code)
    return ValidationException("x", status_code=status, code=code)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (ConnectionException("refused"), True),
        (TimeoutException("slow"), True),
        (RateLimitException("slow down", status_code=429), True),
        (error(408), True),
        (error(502), True),
        (error(503), True),
        (error(504), True),
        (error(500, "INTERNAL_ERROR"), True),
        (error(500, None), True),
        (error(500, "EXECUTION_ERROR"), False),
        (error(500, "TASK_CREATION_ERROR"), False),
        (error(500, "TASK_RETRIEVAL_ERROR"), False),
        (error(500, "ARTIFACT_RETRIEVAL_ERROR"), False),
        (error(500, "BATCH_EXECUTION_ERROR"), False),
        (error(500, "BATCH_VALIDATION_ERROR"), False),
        (error(400, "VALIDATION_ERROR"), False),
        (NotFoundException("gone", status_code=404), False),
        (ValueError("not ours"), False),
        (ResponseDecodeException("cut off"), True),
        (ConnectionException("TLS to a plain port", retryable=False), False),
        (RedirectException("moved", status_code=302, location="http://elsewhere/"), False),
        (ResponseTooLargeException("huge", status_code=200), False),
    ],
)
def test_only_transient_failures_are_retried(exc: Exception, transient: bool) -> None:
    """Network faults, broken bodies, 408/429/502-504 and generic 500s retry; the rest do not."""
    assert is_transient(exc) is transient
    assert (RetryPolicy().wait_before_retry(exc, 1) is not None) is transient


def test_retry_after_sets_the_wait_up_to_the_cap() -> None:
    """A Retry-After within the cap is the wait; above it, the error is raised at once."""
    policy = RetryPolicy(max_retry_after=30.0, wait_initial=0.2, wait_jitter=0.0)
    assert policy.wait_before_retry(RateLimitException("x", status_code=429, retry_after=2.5), 1) == 2.5
    assert policy.wait_before_retry(RateLimitException("x", status_code=429, retry_after=0.0), 1) == 0.0
    assert policy.wait_before_retry(RateLimitException("x", status_code=429, retry_after=31.0), 1) is None
    assert policy.wait_before_retry(ServerException("x", status_code=503, retry_after=4.0), 1) == 4.0
    assert policy.wait_before_retry(RateLimitException("x", status_code=429), 2) == 0.4


def test_backoff_doubles_up_to_its_cap_and_retries_stop_at_max_retries() -> None:
    """Backoff is wait_initial * 2**(n-1) capped at wait_max; past max_retries nothing is retried."""
    policy = RetryPolicy(max_retries=5, wait_initial=1.0, wait_max=3.0, wait_jitter=0.0)
    waits = [policy.wait_before_retry(ServerException("x", status_code=503), n) for n in range(1, 7)]
    assert waits == [1.0, 2.0, 3.0, 3.0, 3.0, None]


def test_policy_refuses_nonsense() -> None:
    """Negative retries or deadlines are refused with a message naming them."""
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="timeout"):
        RetryPolicy(timeout=0)


async def test_transient_503s_are_retried_until_success(
    loopai_server: LocalServer, loopai_client: LoopaiClient
) -> None:
    """Two 503s then a success: the call succeeds on its third attempt."""
    loopai_server.faults.add(Fault("status", route="/api/v1/health", status=503, times=2))
    health = await loopai_client.get_health()
    assert health.status == "healthy"
    assert len(loopai_server.requests_to("/api/v1/health")) == 3


async def test_max_retries_bounds_attempts_and_the_error_says_how_many(
    loopai_server: LocalServer, loopai_url: str
) -> None:
    """max_retries=N means N+1 attempts; the final error reports them."""
    loopai_server.faults.add(Fault("status", route="/api/v1/health", status=502))
    async with LoopaiClient(loopai_url, max_retries=2) as client:
        with pytest.raises(ServerException) as caught:
            await client.get_health()
    assert caught.value.attempts == 3
    assert "after 3 attempts" in str(caught.value)
    assert len(loopai_server.requests_to("/api/v1/health")) == 3


async def test_max_retries_zero_makes_one_attempt(loopai_server: LocalServer, loopai_url: str) -> None:
    """Retrying switched off: a transient error is raised after one attempt."""
    loopai_server.faults.add(Fault("status", route="/api/v1/health", status=503))
    async with LoopaiClient(loopai_url, max_retries=0) as client:
        with pytest.raises(ServerException):
            await client.get_health()
    assert len(loopai_server.requests_to("/api/v1/health")) == 1


async def test_deterministic_server_errors_are_not_retried(
    loopai_server: LocalServer, loopai_client: LoopaiClient
) -> None:
    """Executing an unknown task is a deterministic 500 EXECUTION_ERROR: one attempt."""
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ServerException) as caught:
        await loopai_client.execute(missing, {"text": "x"})
    assert caught.value.code == "EXECUTION_ERROR"
    assert len(loopai_server.requests_to("*/execute")) == 1


async def test_client_errors_are_not_retried(
    loopai_server: LocalServer, loopai_client: LoopaiClient, spam_task: Task
) -> None:
    """A 400 is the caller's to fix: one attempt."""
    with pytest.raises(ValidationException):
        await loopai_client.execute(spam_task.id, {"wrong": 1})
    assert len(loopai_server.requests_to("*/execute")) == 1


async def test_the_deployed_broken_rate_limiter_is_survived() -> None:
    """A rate-limited request answered 500 INTERNAL_ERROR (no Retry-After) is retried."""
    from loopai.testing import RateLimitRule

    server = LocalServer(quirks=ServerQuirks(broken_rate_limiter=True), rate_limits=[RateLimitRule(1, "1h")])
    async with server.serve() as url:
        async with LoopaiClient(url) as first:
            await first.get_health()
        async with LoopaiClient(url, max_retries=2) as client:
            with pytest.raises(ServerException) as caught:
                await client.get_health()
    assert caught.value.code == "INTERNAL_ERROR"
    assert caught.value.attempts == 3
    assert len(server.requests_to("/api/v1/health")) == 4


async def test_a_used_up_rate_limit_is_not_waited_out_past_max_retry_after() -> None:
    """The server said no requests remain for an hour: the next call raises at once, sending nothing."""
    from loopai.testing import RateLimitRule

    server = LocalServer(rate_limits=[RateLimitRule(1, "1h")])
    async with server.serve() as url, LoopaiClient(url) as client:
        await client.get_health()
        with anyio.fail_after(10), pytest.raises(RateLimitException, match="used up") as caught:
            await client.get_health()
    assert caught.value.retry_after is not None and caught.value.retry_after > 3000
    assert len(server.requests_to("/api/v1/health")) == 1


async def test_429_with_a_long_retry_after_is_raised_at_once(
    loopai_server: LocalServer, loopai_url: str
) -> None:
    """A Retry-After above the cap is not waited out: RateLimitException, one attempt."""
    loopai_server.faults.add(Fault("status", status=429, retry_after="3600"))
    policy = RetryPolicy(max_retry_after=60.0)
    async with LoopaiClient(loopai_url, retry_policy=policy) as client:
        with pytest.raises(RateLimitException) as caught:
            await client.get_health()
    assert caught.value.retry_after == 3600.0
    assert caught.value.attempts == 1
    assert len(loopai_server.requests) == 1


async def test_429_with_a_short_retry_after_is_retried(
    loopai_server: LocalServer, loopai_client: LoopaiClient
) -> None:
    """A Retry-After within the cap is waited out (zero here: stamina's testing mode)."""
    loopai_server.faults.add(Fault("status", status=429, retry_after="1", times=1))
    assert (await loopai_client.get_liveness()).status == "alive"
    assert len(loopai_server.requests) == 2


async def test_dropped_connections_are_retried(
    loopai_server: LocalServer, loopai_client: LoopaiClient
) -> None:
    """A connection closed mid-response is a ConnectionException, and transient."""
    loopai_server.faults.add(Fault("drop", route="/api/v1/health/live", times=1))
    assert (await loopai_client.get_liveness()).status == "alive"
    assert len(loopai_server.requests) == 2


async def test_dropped_connections_exhaust_into_connection_exception(
    loopai_server: LocalServer, loopai_url: str
) -> None:
    """When every attempt is dropped, the typed ConnectionException says how many were made."""
    loopai_server.faults.add(Fault("drop"))
    async with LoopaiClient(loopai_url, max_retries=1) as client:
        with pytest.raises(ConnectionException) as caught:
            await client.get_liveness()
    assert caught.value.attempts == 2


async def test_read_timeouts_become_timeout_exception(loopai_server: LocalServer, loopai_url: str) -> None:
    """A server slower than the timeout gives TimeoutException (a ConnectionException)."""
    loopai_server.faults.add(Fault("latency", delay=5.0))
    async with LoopaiClient(loopai_url, timeout=0.05, max_retries=1) as client:
        with pytest.raises(TimeoutException) as caught:
            await client.get_liveness()
    assert caught.value.attempts == 2


async def test_connection_refused_is_a_connection_exception() -> None:
    """Nothing listening: ConnectionException after the allowed attempts."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with LoopaiClient(f"http://127.0.0.1:{port}", max_retries=1) as client:
        with pytest.raises(ConnectionException) as caught:
            await client.get_health()
    assert caught.value.attempts == 2
    assert "ConnectError" in str(caught.value)


async def test_malformed_bodies_are_retried_then_raised(loopai_server: LocalServer, loopai_url: str) -> None:
    """A 200 that is not JSON is retried like a dropped connection, then raises ResponseDecodeException."""
    loopai_server.faults.add(Fault("malformed", route="/api/v1/health"))
    async with LoopaiClient(loopai_url, max_retries=2) as client:
        with pytest.raises(ResponseDecodeException, match="/api/v1/health") as caught:
            await client.get_health()
    assert caught.value.attempts == 3
    assert len(loopai_server.requests) == 3


async def test_a_malformed_body_then_a_good_one_succeeds(
    loopai_server: LocalServer, loopai_client: LoopaiClient
) -> None:
    """One malformed answer costs one retry, not the call."""
    loopai_server.faults.add(Fault("malformed", route="/api/v1/health", times=1))
    assert (await loopai_client.get_health()).status == "healthy"
    assert len(loopai_server.requests) == 2
