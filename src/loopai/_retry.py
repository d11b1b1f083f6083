"""What to retry and how long to wait: a pure policy, run by stamina."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import stamina

from ._exceptions import (
    ConnectionException,
    InvalidArgumentException,
    LoopaiException,
    RateLimitException,
    ServerException,
)

__all__ = ["DETERMINISTIC_SERVER_ERRORS", "RetryPolicy", "is_transient"]

#: 5xx codes from the controllers' catch-alls around a failed lookup: retrying only delays them.
DETERMINISTIC_SERVER_ERRORS = frozenset(
    {
        "EXECUTION_ERROR",
        "TASK_CREATION_ERROR",
        "TASK_RETRIEVAL_ERROR",
        "ARTIFACT_RETRIEVAL_ERROR",
        "BATCH_EXECUTION_ERROR",
        "BATCH_VALIDATION_ERROR",
    }
)

_TRANSIENT_STATUS = frozenset({408, 429, 502, 503, 504})


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` may go away on its own, so that a retry can help.

    Connection failures and timeouts are; so are 408, 429, 502, 503, 504,
    and a 500 that is the server's generic INTERNAL_ERROR or carries no
    Loopai body (the deployed rate limiter answers that way).  Other 4xx and
    the controllers' deterministic 500s are not.
    """
    if isinstance(exc, ConnectionException):
        return True
    if not isinstance(exc, LoopaiException) or exc.status_code is None:
        return False
    if exc.status_code in _TRANSIENT_STATUS:
        return True
    if exc.status_code == 500:
        return exc.code is None or exc.code == "INTERNAL_ERROR"
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries transient failures.

    Args:
        max_retries: Retries after the first attempt (so at most
            ``max_retries + 1`` attempts); 0 disables retrying.
        timeout: Overall deadline in seconds for all attempts and waits, or None.
        wait_initial: First backoff in seconds; it grows exponentially.
        wait_max: Largest backoff in seconds.
        wait_jitter: Up to this many random seconds are added to each backoff.
        max_retry_after: A ``Retry-After`` longer than this many seconds is
            not waited out: the error is raised at once, with ``retry_after`` set.
    """

    max_retries: int = 3
    timeout: float | None = 60.0
    wait_initial: float = 0.2
    wait_max: float = 10.0
    wait_jitter: float = 0.5
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise InvalidArgumentException("max_retries", f"must be >= 0, got {self.max_retries}")
        if self.timeout is not None and self.timeout <= 0:
            raise InvalidArgumentException("retry timeout", "must be > 0 seconds or None")
        if self.max_retry_after < 0:
            raise InvalidArgumentException("max_retry_after", "must be >= 0 seconds")

    def decide(self, exc: Exception) -> bool | float:
        """Stamina's backoff hook: False to give up, True for backoff, or seconds to wait."""
        if not is_transient(exc):
            return False
        if isinstance(exc, (RateLimitException, ServerException)) and exc.retry_after is not None:
            if exc.retry_after > self.max_retry_after:
                return False
            return exc.retry_after
        return True

    def attempts(self) -> AsyncIterator[stamina.Attempt]:
        """Stamina's attempts for one call under this policy."""
        return stamina.retry_context(
            on=self.decide,
            attempts=self.max_retries + 1,
            timeout=self.timeout,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
            wait_jitter=self.wait_jitter,
        ).__aiter__()
