"""Issue 8's hostile-server figures: how long a call can be held and how much memory a body can take.

Each scenario runs against the tests' raw-socket hostile server on loopback
(`tests/hostile_server.py`), with a default `LoopaiClient` unless it says
otherwise, and reports elapsed seconds, attempts, the exception, and the growth
of this process's resident-memory high-water mark.  Bodies are produced lazily
by the server thread, so the server's own memory does not count.

Run: ``python -m benchmarks.bench_hardening`` (``--quick`` skips the 59-second
Retry-After case).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
from tests.hostile_server import (
    HostileServer,
    drip_response,
    gzip_layers,
    gzip_zeros,
    respond,
    response_bytes,
    response_head,
    stream_response,
)

from loopai import LoopaiClient, RetryPolicy
from loopai.exceptions import LoopaiException

from ._harness import peak_rss_mib, reset_peak_rss

MIB = 1024 * 1024
HEALTH = b'{"status":"healthy","timestamp":"2025-10-27T12:34:56.1234567Z","version":"1.0.0"}'


def _zeros(total: int, piece: int = MIB) -> Iterator[bytes]:
    block = bytes(piece)
    sent = 0
    while sent < total:
        yield block[: min(piece, total - sent)]
        sent += piece


def _plain(status: int, size: int) -> Any:
    head = response_head(status, {"Content-Type": "application/json", "Content-Length": str(size)})
    return stream_response(head, _zeros(size))


async def _measure(
    scenario: Any, call: Callable[[LoopaiClient], Awaitable[object]], **client: Any
) -> dict[str, Any]:
    reset_peak_rss()
    before = peak_rss_mib()
    started = time.perf_counter()
    outcome = "returned"
    attempts = 1
    with HostileServer(scenario) as server:
        async with LoopaiClient(server.url, **client) as loopai:
            try:
                await call(loopai)
            except LoopaiException as exc:
                outcome = f"{type(exc).__name__}: {str(exc)[:90]}"
                attempts = exc.attempts
                message_length = len(str(exc))
            else:
                message_length = 0
        requests = len(server.requests)
        connections = server.connections
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "rss_growth_mib": round(peak_rss_mib() - before, 1),
        "attempts": attempts,
        "requests": requests,
        "connections": connections,
        "str_length": message_length,
        "outcome": outcome,
    }


async def _scenarios(quick: bool) -> dict[str, dict[str, Any]]:
    bomb = gzip_layers(gzip_zeros(1024 * MIB), 2)
    details = json.dumps({"code": "INTERNAL_ERROR", "message": "boom", "details": "x" * 10_000_000}).encode()
    gzipped_500 = gzip_zeros(200 * MIB)
    results: dict[str, dict[str, Any]] = {}

    async def health(client: LoopaiClient) -> object:
        return await client.get_health()

    results["1. whole response dripped 1 byte / 0.5 s, timeout=2"] = await _measure(
        drip_response(response_bytes(200, None, HEALTH), 0.5), health, timeout=2
    )
    results["1. RetryPolicy(timeout=3) vs 503 Retry-After: 25"] = await _measure(
        respond(503, {"Retry-After": "25"}, b""), health, retry_policy=RetryPolicy(timeout=3)
    )
    if not quick:
        results["1. default policy vs 503 Retry-After: 59"] = await _measure(
            respond(503, {"Retry-After": "59"}, b""), health
        )
    results[f"3. triple gzip bomb ({len(bomb)} bytes on the wire, 1 GiB decoded)"] = await _measure(
        respond(200, {"Content-Encoding": "gzip, gzip, gzip"}, bomb), health
    )
    results["3. plain 200 MB success body"] = await _measure(_plain(200, 200 * MIB), health)
    results["3. plain 200 MB error body (503)"] = await _measure(_plain(503, 200 * MIB), health)
    results[
        f"3. gzipped 500 body ({len(gzipped_500) // 1024} KB on the wire, 200 MB decoded)"
    ] = await _measure(respond(500, {"Content-Encoding": "gzip"}, gzipped_500), health)
    results["5. 500 with a 10 MB details string"] = await _measure(respond(500, None, details), health)

    with HostileServer(respond(200)) as server:
        started = time.perf_counter()
        async with LoopaiClient(server.url.replace("http://", "https://")) as client:
            try:
                await client.get_health()
            except LoopaiException as exc:
                outcome, attempts = f"{type(exc).__name__}: {str(exc)[:90]}", exc.attempts
            else:
                outcome, attempts = "returned", 1
        results["8. TLS spoken to a plain-HTTP port"] = {
            "seconds": round(time.perf_counter() - started, 2),
            "attempts": attempts,
            "connections": server.connections,
            "outcome": outcome,
        }
    return results


def run(quick: bool = False) -> dict[str, Any]:
    """Every scenario on asyncio (the hostile tests run them all on trio too)."""
    return anyio.run(_scenarios, quick)


def table(results: dict[str, Any]) -> list[str]:
    """The results as Markdown table lines."""
    lines = [
        "| scenario | seconds | attempts | RSS growth MiB | len(str(exc)) | outcome |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['seconds']} | {row['attempts']} | {row.get('rss_growth_mib', '')} |"
            f" {row.get('str_length', '')} | {row['outcome']} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the 59-second Retry-After case")
    args = parser.parse_args()
    print("\n".join(table(run(args.quick))))


if __name__ == "__main__":
    main()
