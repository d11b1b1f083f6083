"""What to retry and how long to wait: a pure policy, run by stamina."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from ._exceptions import (
    ConnectionException,
    InvalidArgumentException,
    LoopaiException,
    RateLimitException,
    RedirectException,
    ResponseDecodeException,
    ResponseTooLargeException,
    ServerException,
)

__all__ = ["RetryPolicy", "is_transient"]

_TRANSIENT_STATUS = frozenset({408, 429, 502, 503, 504})


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` may go away on its own, so that a retry can help.

    Connection failures that can heal, timeouts and broken bodies are; so
    are 408, 429, 502, 503, 504, and a 500 that is the server's generic
    INTERNAL_ERROR or carries no Loopai body (the deployed rate limiter
    answers that way).  Other 4xx, redirects, oversized bodies, permanent
    transport failures and the controllers' deterministic 500s are not.
    """
    if isinstance(exc, ConnectionException):
        return exc.retryable
    if isinstance(exc, ResponseDecodeException):
        return True
    if isinstance(exc, (ResponseTooLargeException, RedirectException)):
        return False
    if not isinstance(exc, LoopaiException) or exc.status_code is None:
        return False
    if exc.status_code in _TRANSIENT_STATUS:
        return True
    if exc.status_code == 500:
        return exc.code is None or exc.code == "INTERNAL_ERROR"
    return False


def _seconds(value: object, argument: str, *, allow_none: bool = False, positive: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidArgumentException(argument, f"must be a finite number of seconds, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise InvalidArgumentException(argument, f"must be {'> 0' if positive else '>= 0'}, got {value!r}")


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries transient failures.

    Args:
        max_retries: Retries after the first attempt (so at most
            ``max_retries + 1`` attempts); 0 disables retrying.
        timeout: The deadline in seconds of a whole call, from its start:
            attempts, backoff and ``Retry-After`` waits included.  A wait that
            would end past it is not started, and an attempt still running at
            the deadline is cut; both raise `TimeoutException`.  None for no
            deadline.
        wait_initial: First backoff in seconds; it doubles per retry.
        wait_max: Largest backoff in seconds.
        wait_jitter: Up to this many random seconds are added to each backoff.
        max_retry_after: A ``Retry-After`` longer than this many seconds is
            not waited out: the error is raised at once, with ``retry_after`` set.

    Raises:
        InvalidArgumentException: a value is negative, NaN or infinite.
    """

    max_retries: int = 3
    timeout: float | None = 60.0
    wait_initial: float = 0.2
    wait_max: float = 10.0
    wait_jitter: float = 0.5
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if (
            not isinstance(self.max_retries, int)
            or isinstance(self.max_retries, bool)
            or self.max_retries < 0
        ):
            raise InvalidArgumentException("max_retries", f"must be an int >= 0, got {self.max_retries!r}")
        _seconds(self.timeout, "RetryPolicy.timeout", allow_none=True, positive=True)
        _seconds(self.wait_initial, "wait_initial")
        _seconds(self.wait_max, "wait_max")
        _seconds(self.wait_jitter, "wait_jitter")
        _seconds(self.max_retry_after, "max_retry_after")

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based) when the server named no wait."""
        base = min(self.wait_max, self.wait_initial * 2.0 ** (retry - 1))
        jitter = (rng or random).uniform(0, self.wait_jitter) if self.wait_jitter else 0.0
        return base + jitter

    def wait_before_retry(
        self, exc: BaseException, retry: int, rng: random.Random | None = None
    ) -> float | None:
        """Seconds to wait before retry number ``retry`` after ``exc``, or None to give up.

        A server-named wait (``Retry-After``) is used as given, 0 meaning
        "retry now"; one over ``max_retry_after`` gives up.
        """
        if retry > self.max_retries or not is_transient(exc):
            return None
        if isinstance(exc, (RateLimitException, ServerException)) and exc.retry_after is not None:
            if exc.retry_after > self.max_retry_after:
                return None
            return exc.retry_after
        return self.backoff(retry, rng)
