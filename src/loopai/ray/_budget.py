"""The cluster's rate budget as pure logic: a token bucket that learns from 429s.

Every actor asks one `RateBudget` (held by a named Ray actor, see
`_budget_actor`) before each request.  The decisions are a function of the
clock and of what was granted, so they are tested without Ray or a network.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["BudgetStats", "RateBudget"]

#: Learned rates keep this share of what the server let through, for clock and window slack.
SAFETY = 0.9
#: The pause after a 429 that said nothing about when to come back.
DEFAULT_PAUSE = 1.0


@dataclass(frozen=True)
class BudgetStats:
    """What a budget has done: grants, 429s reported, and the request rate it now keeps."""

    granted_requests: int
    granted_items: int
    rate_limited: int
    requests_per_second: float | None
    items_per_second: float | None
    paused_until: float


class _Bucket:
    """A token bucket of ``rate`` tokens a second holding at most ``capacity``; debt is allowed."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` (at most the capacity) is available; 0 if it is now."""
        need = min(amount, self.capacity) - self.tokens
        return max(0.0, need / self.rate)


class RateBudget:
    """Permits for requests and items, shared by every actor of a job.

    ``requests_per_second`` is paced with a burst of one request, so that any
    fixed window of ``T`` seconds sees at most ``1 + rate * T`` requests: a
    rate learned as 90% of what a window let through stays under its limit.
    ``items_per_second`` allows a burst of one second of items (a chunk
    larger than that waits for a full bucket and leaves a debt).

    A 429 pauses every grant until its ``Retry-After`` has passed, and sets
    the request rate to what the server let through between the previous
    pause (or the first grant) and the moment its window resets, times
    `SAFETY`; a 429 while already paused (a request that was in flight) only
    extends the pause.  The budget slows down and never speeds up again: a
    new job starts afresh.

    Args:
        requests_per_second: Starting request rate, or None for no limit
            until a 429 teaches one.
        items_per_second: Item rate, or None.
        clock: Seconds, monotonic (``time.monotonic`` by default).
    """

    def __init__(
        self,
        requests_per_second: float | None = None,
        items_per_second: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, rate in (
            ("requests_per_second", requests_per_second),
            ("items_per_second", items_per_second),
        ):
            if rate is not None and not (rate > 0 and math.isfinite(rate)):
                raise ValueError(f"{name} must be a positive number or None, got {rate!r}")
        self._clock = clock
        now = clock()
        self._requests = _Bucket(requests_per_second, 1.0, now) if requests_per_second else None
        self._items = _Bucket(items_per_second, max(1.0, items_per_second), now) if items_per_second else None
        self._paused_until = -math.inf
        self._run_start: float | None = None
        self._run_grants = 0
        self._granted_requests = 0
        self._granted_items = 0
        self._rate_limited = 0

    def acquire(self, items: int = 1) -> float:
        """Take a permit for one request of ``items`` items.

        Returns 0.0 when granted; otherwise the seconds to wait before asking
        again (nothing was taken).
        """
        now = self._clock()
        if now < self._paused_until:
            return self._paused_until - now
        wait = 0.0
        for bucket, amount in ((self._requests, 1.0), (self._items, float(items))):
            if bucket is not None:
                bucket.refill(now)
                wait = max(wait, bucket.wait_for(amount))
        if wait > 0:
            return wait
        if self._requests is not None:
            self._requests.tokens -= 1.0
        if self._items is not None:
            self._items.tokens -= items
        if self._run_start is None:
            self._run_start = now
        self._run_grants += 1
        self._granted_requests += 1
        self._granted_items += items
        return 0.0

    def rate_limited(self, retry_after: float | None = None) -> None:
        """A request answered 429, with the server's ``Retry-After`` in seconds if it sent one."""
        now = self._clock()
        self._rate_limited += 1
        reset = now + (retry_after if retry_after is not None and retry_after > 0 else DEFAULT_PAUSE)
        if now < self._paused_until:  # a straggler from the window already learned from
            self._paused_until = max(self._paused_until, reset)
            return
        self._paused_until = reset
        start = self._run_start if self._run_start is not None else now
        passed = max(1, self._run_grants - 1)  # the request that got the 429 did not pass
        learned = SAFETY * passed / max(reset - start, 1e-3)
        if self._requests is None:
            self._requests = _Bucket(learned, 1.0, now)
        else:
            self._requests.refill(now)
            self._requests.rate = min(learned, SAFETY * self._requests.rate)
        self._requests.tokens = min(self._requests.tokens, 0.0)
        self._requests.updated = reset  # no tokens accrue while paused
        self._run_start = None
        self._run_grants = 0

    def stats(self) -> BudgetStats:
        """A snapshot of the budget's counters and current rates."""
        return BudgetStats(
            granted_requests=self._granted_requests,
            granted_items=self._granted_items,
            rate_limited=self._rate_limited,
            requests_per_second=self._requests.rate if self._requests else None,
            items_per_second=self._items.rate if self._items else None,
            paused_until=self._paused_until,
        )
