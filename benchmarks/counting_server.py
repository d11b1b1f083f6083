"""The bundled local server, in its own process, counting the answers it sends.

``python -m benchmarks.counting_server [--rate-limit RULE] [--fault SPEC] [--soak-faults P] [--seed S]``
prints ``listening on URL``.  It is `loopai.testing.LocalServer` (compact JSON,
exact numbers, no request recording) with one addition: ``GET /_bench/stats``
answers, as JSON, the count of every status sent, the (arrival time, method,
path, status) of every answer, and how often each fault rule fired.  That
request bypasses the server's rate limiter and faults and is not counted.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any

import anyio

from loopai.testing import Fault, LocalServer, RateLimitRule, ServerQuirks

STATS_PATH = "/_bench/stats"
BATCH_ROUTE = "/api/v1/batch/*"
#: Every kind of failure the soak injects, each equally likely.  Retry-After covers
#: no header, 0, a positive delay and an HTTP date in the past.
SOAK_FAULT_KINDS: tuple[dict[str, Any], ...] = (
    {"kind": "status", "status": 503},
    {"kind": "status", "status": 503, "retry_after": "0"},
    {"kind": "status", "status": 429, "retry_after": "0"},
    {"kind": "status", "status": 429, "retry_after": "1"},
    {"kind": "status", "status": 429, "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"},
    {"kind": "drop"},
    {"kind": "truncated"},
    {"kind": "malformed"},
    {"kind": "latency", "delay": 0.5},
)

_Scope = dict[str, Any]
_Message = dict[str, Any]
_Receive = Callable[[], Any]
_Send = Callable[[_Message], Any]


def soak_faults(probability: float) -> list[Fault]:
    """`SOAK_FAULT_KINDS` on batch requests, each rule firing so that ``probability`` of requests get one."""
    each = 1 - (1 - probability) ** (1 / len(SOAK_FAULT_KINDS))
    return [Fault(route=BATCH_ROUTE, method="POST", probability=each, **kind) for kind in SOAK_FAULT_KINDS]


def describe(fault: Fault) -> str:
    """A short label of a fault rule."""
    label = {"status": f"HTTP {fault.status}", "latency": f"latency {fault.delay:g} s"}.get(
        fault.kind, fault.kind
    )
    if fault.retry_after is not None:
        label += f", Retry-After: {fault.retry_after}"
    return label


class CountingServer(LocalServer):
    """A `LocalServer` that counts the statuses it answers and reports them at ``/_bench/stats``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statuses: collections.Counter[int] = collections.Counter()
        self.answers: list[tuple[float, str, str, int]] = []

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if scope["path"] == STATS_PATH:
            await self._send_stats(send)
            return
        arrived = time.time()
        method, path = scope["method"], scope["path"].lower()

        async def counting(message: _Message) -> None:
            if message["type"] == "http.response.start":
                self.statuses[message["status"]] += 1
                self.answers.append((arrived, method, path, message["status"]))
            await send(message)

        await super().__call__(scope, receive, counting)

    async def _send_stats(self, send: _Send) -> None:
        body = json.dumps(
            {
                "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
                "answers": self.answers,
                "faults": [{"fault": describe(fault), "fired": fault.fired} for fault in self.faults.rules],
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _serve(args: argparse.Namespace) -> None:
    faults = [Fault.parse(spec) for spec in args.fault]
    if args.soak_faults:
        faults += soak_faults(args.soak_faults)
    server = CountingServer(
        seed=args.seed,
        quirks=ServerQuirks.none(),
        rate_limits=[RateLimitRule.parse(rule) for rule in args.rate_limit],
        faults=faults,
        record=False,
    )
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with server.serve("127.0.0.1", 0) as url:
            print(f"listening on {url}", flush=True)
            async for _ in signals:
                break


def main(argv: Sequence[str] | None = None) -> None:
    """Run the server until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.counting_server")
    parser.add_argument(
        "--rate-limit", action="append", default=[], metavar="RULE", help="LIMIT/PERIOD[@ROUTE]"
    )
    parser.add_argument(
        "--fault", action="append", default=[], metavar="SPEC", help="as `loopai serve --fault`"
    )
    parser.add_argument(
        "--soak-faults", type=float, default=0.0, metavar="P", help="the soak's fault mix on P of requests"
    )
    parser.add_argument("--seed", type=int, default=1)
    anyio.run(_serve, parser.parse_args(argv))


if __name__ == "__main__":
    main()
