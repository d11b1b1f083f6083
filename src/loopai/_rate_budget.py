"""One rate budget per client, shared by every call and batch job on it.

It paces sends to the client's own ``requests_per_second`` and
``items_per_second``, and it learns the server's limits: the
``X-Rate-Limit-Remaining`` and ``X-Rate-Limit-Reset`` headers of any answer,
and a 429's ``Retry-After``, hold back every later send to that path until
the window resets, instead of each request discovering the limit alone.
The server counts per method and path, and so does the budget.

`RateBudget` is pure: it is told the time and returns how long to wait.
`RateGate` is the anyio shell that sleeps.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeAlias

import anyio

__all__ = ["BudgetExhausted", "RateBudget", "RateGate", "RateLimitState", "Reservation", "RouteKey"]

#: What the server counts a request against: its method and lower-cased path.
RouteKey: TypeAlias = "tuple[str, str]"


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """What the client last heard of one route's rate limit.

    Attributes:
        remaining: Requests the server said were left in its window.
        resets_in: Seconds until that window resets, when known.
        blocked_for: Seconds the client will still hold sends back (a 429's wait).
    """

    remaining: int | None
    resets_in: float | None
    blocked_for: float


@dataclass(frozen=True, slots=True)
class Reservation:
    """The budget's answer to a send: go after ``wait`` if granted, else ask again after it."""

    granted: bool
    wait: float


@dataclass(slots=True)
class _Route:
    in_flight: int = 0  # sent and not yet answered
    remaining: int | None = None  # sends still allowed in this window; None: no limit known
    capacity: int | None = None  # the most requests seen allowed in one window
    resets_at: float | None = None
    blocked_until: float = -math.inf


#: The longest a route is held back on the server's word (a reset or Retry-After further off is cut).
_LONGEST_HOLD = 3600.0

_FRACTION = re.compile(r"(\.\d{6})\d+")


def _reset_time(value: str | None, now: float, wall_now: float) -> float | None:
    """A reset header (an ISO timestamp, or seconds) as a time on the ``now`` clock."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        # .NET writes 7 fractional digits, which Python 3.10 cannot read; a time without offset is UTC.
        text = _FRACTION.sub(r"\1", value.replace("Z", "+00:00"))
        try:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            stamp = moment.timestamp()
        except (ValueError, OverflowError, OSError):
            return None
        seconds = stamp - wall_now
    if not math.isfinite(seconds):
        return None
    return now + min(max(seconds, 0.0), _LONGEST_HOLD)


def _whole(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


class RateBudget:
    """The pure bookkeeping of a client's rate budget (times are passed in).

    Args:
        requests_per_second: The client's own pace of requests, or None.
        items_per_second: The client's own pace of batch items, or None.
    """

    def __init__(self, requests_per_second: float | None, items_per_second: float | None) -> None:
        self._request_interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._item_interval = 1.0 / items_per_second if items_per_second else 0.0
        self._paced_until = -math.inf
        self._routes: dict[RouteKey, _Route] = {}

    def reserve(self, key: RouteKey, items: int, now: float) -> Reservation:
        """Ask to send ``items`` items to ``key`` at ``now``.

        Granted: the permit is taken; send after ``wait`` (the client's own
        pace), and report the outcome with `finish`.  Not granted: the
        server's limit holds sends back; ask again after ``wait``.
        """
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = _Route()
        wait = self._route_wait(route, now)
        if wait > 0:
            return Reservation(granted=False, wait=wait)
        route.in_flight += 1
        if route.remaining is not None:
            route.remaining -= 1
        if not (self._request_interval or self._item_interval):
            return Reservation(granted=True, wait=0.0)
        start = max(now, self._paced_until)
        self._paced_until = start + max(self._request_interval, items * self._item_interval)
        return Reservation(granted=True, wait=start - now)

    def _route_wait(self, route: _Route, now: float) -> float:
        if route.blocked_until > now:
            return route.blocked_until - now
        if route.resets_at is not None and now >= route.resets_at:
            route.resets_at = None
            # Requests still in flight may land in the new window.
            route.remaining = None if route.capacity is None else route.capacity - route.in_flight
        if route.remaining is not None and route.remaining <= 0:
            if route.resets_at is not None:
                return route.resets_at - now
            if route.in_flight:
                return 0.05  # nothing left and no reset heard of: an answer on its way will tell
            route.remaining = None  # nothing will tell: let one request go and learn
        return 0.0

    def finish(
        self,
        key: RouteKey,
        now: float,
        wall_now: float,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Report a granted send's outcome: its answer's status and headers, or None if none came."""
        route = self._routes.get(key)
        if route is None:
            return
        route.in_flight = max(0, route.in_flight - 1)
        if status is None or headers is None:
            self._forget_if_idle(key, route, now)
            return
        remaining = _whole(headers.get("x-rate-limit-remaining"))
        resets_at = _reset_time(headers.get("x-rate-limit-reset"), now, wall_now)
        if status == 429:
            wait = min(retry_after if retry_after is not None else 1.0, _LONGEST_HOLD)
            route.blocked_until = max(route.blocked_until, now + wait)
            route.remaining = 0
            route.resets_at = max(resets_at or route.blocked_until, route.blocked_until)
            return
        if remaining is None:
            self._forget_if_idle(key, route, now)
            return
        route.capacity = max(route.capacity or 0, remaining + 1)
        # Sends still in flight may have been counted after this one: assume they were.
        allowed = remaining - route.in_flight
        new_window = resets_at is not None and (route.resets_at is None or resets_at > route.resets_at + 0.5)
        if new_window or route.remaining is None:
            route.remaining = allowed
        else:
            route.remaining = min(route.remaining, allowed)
        if resets_at is not None:
            route.resets_at = resets_at

    def _forget_if_idle(self, key: RouteKey, route: _Route, now: float) -> None:
        """Drop a route nothing is known of (one per task id would otherwise pile up)."""
        if (
            not route.in_flight
            and route.remaining is None
            and route.resets_at is None
            and route.blocked_until <= now
        ):
            del self._routes[key]

    def state(self, key: RouteKey, now: float) -> RateLimitState | None:
        """What is known of ``key``'s limit, or None if nothing."""
        route = self._routes.get(key)
        if route is None or (
            route.remaining is None and route.resets_at is None and route.blocked_until < now
        ):
            return None
        return RateLimitState(
            remaining=route.remaining,
            resets_in=None if route.resets_at is None else max(0.0, route.resets_at - now),
            blocked_for=max(0.0, route.blocked_until - now),
        )


class BudgetExhausted(Exception):
    """The route is held back for longer than the caller will wait."""

    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = wait


class RateGate:
    """Waits on a `RateBudget` with anyio's clock."""

    def __init__(self, budget: RateBudget) -> None:
        self.budget = budget

    async def acquire(self, key: RouteKey, items: int = 1, *, max_wait: float = math.inf) -> None:
        """Wait until a send of ``items`` items to ``key`` may go.

        Raises:
            BudgetExhausted: the server's limit holds the route back for longer than ``max_wait``.
        """
        waited = 0.0
        while True:
            reservation = self.budget.reserve(key, items, anyio.current_time())
            if reservation.granted:
                if reservation.wait > 0:
                    try:
                        await anyio.sleep(reservation.wait)
                    except BaseException:
                        self.finish(key)  # the permit goes back: this send will not happen
                        raise
                return
            if waited + reservation.wait > max_wait:
                raise BudgetExhausted(waited + reservation.wait)
            await anyio.sleep(reservation.wait)
            waited += reservation.wait

    def finish(
        self,
        key: RouteKey,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Report a granted send's outcome (see `RateBudget.finish`)."""
        self.budget.finish(
            key, anyio.current_time(), time.time(), status=status, headers=headers, retry_after=retry_after
        )
