"""Fault injection: make the local server fail the way real networks and servers do."""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, field

__all__ = ["Fault", "FaultPlan"]

_KINDS = ("status", "latency", "drop", "malformed", "truncated")


@dataclass
class Fault:
    """One fault rule.

    Args:
        kind: ``"status"`` (answer ``status`` with an ErrorResponse body),
            ``"latency"`` (wait ``delay`` seconds, then answer normally),
            ``"drop"`` (send headers, then close the connection without the
            body), ``"malformed"`` (a 200 whose body is not JSON) or
            ``"truncated"`` (the real body cut in half).
        route: A glob over the path (``/api/v1/tasks/*/execute``); ``*`` for all.
        method: An HTTP method, or ``*``.
        status: The status code of a ``status`` fault.
        code: The error code in its body; default INTERNAL_ERROR for 5xx.
        retry_after: A ``Retry-After`` header value to send with it.
        delay: Seconds of added latency (any kind may have some).
        times: Fire for the next N matching requests only; None for no limit.
        probability: Fire with this probability per matching request.
    """

    kind: str
    route: str = "*"
    method: str = "*"
    status: int = 500
    code: str | None = None
    retry_after: str | None = None
    delay: float = 0.0
    times: int | None = None
    probability: float = 1.0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(_KINDS)}, got {self.kind!r}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"fault probability must be 0-1, got {self.probability}")

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to a request (ignoring times and probability)."""
        return (self.method in ("*", method.upper())) and fnmatch.fnmatchcase(path, self.route)

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Read a fault from the command line's form.

        ``KIND[=VALUE][@ROUTE][,times=N][,p=P][,retry_after=S][,delay=S][,method=M][,code=C]``,
        for example ``status=503@/api/v1/batch/*,times=2,retry_after=1``,
        ``latency=0.5``, ``drop@/api/v1/health``, ``malformed,p=0.1``.
        """
        head, *options = spec.split(",")
        head, _, route = head.partition("@")
        kind, _, value = head.partition("=")
        fault = cls(kind=kind.strip(), route=route.strip() or "*")
        if value:
            if fault.kind == "status":
                fault.status = int(value)
            elif fault.kind == "latency":
                fault.delay = float(value)
            else:
                raise ValueError(f"fault kind {fault.kind!r} takes no value")
        for option in options:
            name, _, text = option.partition("=")
            name = name.strip()
            if name == "times":
                fault.times = int(text)
            elif name in ("p", "probability"):
                fault.probability = float(text)
            elif name == "retry_after":
                fault.retry_after = text
            elif name == "delay":
                fault.delay = float(text)
            elif name == "method":
                fault.method = text.upper()
            elif name == "code":
                fault.code = text
            else:
                raise ValueError(f"unknown fault option {name!r} in {spec!r}")
        fault.__post_init__()
        return fault


@dataclass
class FaultPlan:
    """The server's fault rules; the first rule that fires answers a request."""

    seed: int | None = None
    rules: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def add(self, fault: Fault) -> Fault:
        """Add a rule (after the existing ones) and return it."""
        self.rules.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        """The rule that fires for this request, if any (counting it as fired)."""
        for fault in self.rules:
            if not fault.matches(method, path):
                continue
            if fault.times is not None and fault.fired >= fault.times:
                continue
            if fault.probability < 1.0 and self._random.random() >= fault.probability:
                continue
            fault.fired += 1
            return fault
        return None
