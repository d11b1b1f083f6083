"""Rate limiting as the real server's AspNetCoreRateLimit setup answers it."""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

__all__ = ["DEPLOYED_RULES", "RateLimitRule", "RateLimiter"]

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class RateLimitRule:
    """At most ``limit`` requests per ``period`` (``"1m"``, ``"1h"``) on paths matching ``route``."""

    limit: int
    period: str = "1m"
    route: str = "*"

    @property
    def seconds(self) -> int:
        """The period in seconds."""
        number, unit = self.period[:-1] or "1", self.period[-1]
        return int(number) * _PERIODS[unit]

    @classmethod
    def parse(cls, spec: str) -> RateLimitRule:
        """Read ``LIMIT/PERIOD[@ROUTE]``, e.g. ``60/1m`` or ``30/1m@*/execute``."""
        rate, _, route = spec.partition("@")
        limit, _, period = rate.partition("/")
        rule = cls(limit=int(limit), period=period.strip() or "1m", route=route.strip() or "*")
        if rule.period[-1] not in _PERIODS:
            raise ValueError(f"rate limit period must end in s, m, h or d: {spec!r}")
        return rule


#: The deployed defaults: 60/min and 1000/h everywhere, 30/min and 500/h on */execute.
DEPLOYED_RULES = (
    RateLimitRule(60, "1m"),
    RateLimitRule(1000, "1h"),
    RateLimitRule(30, "1m", "*/execute"),
    RateLimitRule(500, "1h", "*/execute"),
)


@dataclass
class RateLimiter:
    """Fixed-window counters per client IP, method, path and rule."""

    rules: tuple[RateLimitRule, ...]
    clock: Callable[[], float]
    _counters: dict[tuple[str, str, str, RateLimitRule], tuple[float, int]] = field(default_factory=dict)

    def check(self, client: str, method: str, path: str) -> dict[str, str] | None:
        """Count a request; None if allowed, else the 429 headers to send."""
        allowed, headers = self.admit(client, method, path)
        return None if allowed else headers

    def admit(self, client: str, method: str, path: str) -> tuple[bool, dict[str, str]]:
        """Count a request: whether it is allowed, and the rate-limit headers to answer with.

        As AspNetCoreRateLimit does, every answer carries ``X-Rate-Limit-Limit``,
        ``-Remaining`` and ``-Reset`` of the tightest matching rule; a refused
        one adds ``Retry-After``.
        """
        now = self.clock()
        blocked: dict[str, str] | None = None
        tightest: tuple[int, float, RateLimitRule] | None = None
        for rule in self.rules:
            if not fnmatch.fnmatchcase(path, rule.route):
                continue
            key = (client, method, path.lower(), rule)
            start, count = self._counters.get(key, (now, 0))
            if now - start >= rule.seconds:
                start, count = now, 0
            count += 1
            self._counters[key] = (start, count)
            reset = start + rule.seconds
            remaining = max(0, rule.limit - count)
            if tightest is None or remaining < tightest[0]:
                tightest = (remaining, reset, rule)
            if count > rule.limit and blocked is None:
                blocked = {
                    "Retry-After": str(max(1, math.ceil(reset - now))),
                    **_limit_headers(rule, 0, reset),
                }
        if blocked is not None:
            return False, blocked
        if tightest is None:
            return True, {}
        remaining, reset, rule = tightest
        return True, _limit_headers(rule, remaining, reset)


def _limit_headers(rule: RateLimitRule, remaining: int, reset: float) -> dict[str, str]:
    return {
        "X-Rate-Limit-Limit": rule.period,
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Reset": datetime.fromtimestamp(reset, tz=timezone.utc)
        .isoformat()
        .replace("+00:00", "Z"),
    }
