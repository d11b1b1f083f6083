"""Client overhead: LoopaiClient.execute against raw httpx2 (the floor) and raw httpx.

Every client sends the same execute request to a fixed-response server in
another process; wall time and this process's CPU time are divided by the
requests sent.  Sequential, 10 and 50 in flight; asyncio and trio.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import httpx2

from loopai import LoopaiClient

from ._harness import server_process
from .fixed_server import TASK_ID

INPUT: dict[str, Any] = {"text": "Buy now for free money!"}
PAYLOAD = {"task_id": TASK_ID, "input": INPUT}
CLIENTS = ("loopai", "raw httpx2 (floor)", "raw httpx")

Send = Callable[[], Awaitable[object]]


async def _measure(send: Send, total: int, in_flight: int) -> tuple[float, float]:
    """(wall µs, CPU µs) per request for ``total`` requests, ``in_flight`` at a time."""
    per_worker = total // in_flight

    async def worker() -> None:
        for _ in range(per_worker):
            await send()

    wall, cpu = time.perf_counter(), time.process_time()
    async with anyio.create_task_group() as group:
        for _ in range(in_flight):
            group.start_soon(worker)
    count = per_worker * in_flight
    return (time.perf_counter() - wall) / count * 1e6, (time.process_time() - cpu) / count * 1e6


async def _run_backend(
    url: str, levels: list[int], total: int, repeat: int, clients: tuple[str, ...]
) -> dict[str, Any]:
    execute_url = f"{url}/api/v1/tasks/{TASK_ID}/execute"
    limits = {"max_connections": 64, "max_keepalive_connections": 64}
    async with (
        LoopaiClient(url, max_connections=64) as loopai,
        httpx2.AsyncClient(limits=httpx2.Limits(**limits)) as raw2,
        httpx.AsyncClient(limits=httpx.Limits(**limits)) as raw1,
    ):

        async def via_loopai() -> object:
            return (await loopai.execute(TASK_ID, INPUT)).output

        async def via_httpx2() -> object:
            return (await raw2.post(execute_url, json=PAYLOAD)).json()

        async def via_httpx() -> object:
            return (await raw1.post(execute_url, json=PAYLOAD)).json()

        every: dict[str, Send] = dict(zip(CLIENTS, (via_loopai, via_httpx2, via_httpx), strict=True))
        sends = {name: every[name] for name in clients}
        for send in sends.values():  # warm the pools and caches
            await _measure(send, 50, 10)
        results: dict[str, Any] = {}
        for level in levels:
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in sends}
            for _ in range(repeat):  # interleaved: the clients share the machine's noise
                for name, send in sends.items():
                    samples[name].append(await _measure(send, total, level))
            results[str(level)] = {
                name: {
                    "wall_us": statistics.median(s[0] for s in runs),
                    "cpu_us": statistics.median(s[1] for s in runs),
                }
                for name, runs in samples.items()
            }
        return results


def run(
    quick: bool = False,
    *,
    levels: tuple[int, ...] = (1, 10, 50),
    clients: tuple[str, ...] = CLIENTS,
    repeat: int | None = None,
    total: int | None = None,
) -> dict[str, Any]:
    """Per-request wall and CPU time of ``clients`` (default all three) on asyncio and trio.

    Results: ``{backend: {str(in_flight): {client: {"wall_us", "cpu_us"}}}}``.
    """
    requests = total or (100 if quick else 3_000)
    rounds = repeat or (1 if quick else 7)
    results: dict[str, Any] = {}
    with server_process("-m", "benchmarks.fixed_server") as url:
        for backend in ("asyncio", "trio"):
            results[backend] = anyio.run(
                _run_backend, url, list(levels), requests, rounds, clients, backend=backend
            )
    return results


def table(results: dict[str, Any]) -> list[str]:
    """Markdown rows: per-request CPU and wall time, and loopai's CPU ratio to raw httpx2."""
    lines = [
        "| backend | in flight | client | CPU µs/request | wall µs/request | CPU vs raw httpx2 |",
        "|---|---|---|---|---|---|",
    ]
    for backend, levels in results.items():
        for level, clients in levels.items():
            floor = clients["raw httpx2 (floor)"]["cpu_us"]
            for name, figures in clients.items():
                lines.append(
                    f"| {backend} | {level} | {name} | {figures['cpu_us']:.0f} | {figures['wall_us']:.0f}"
                    f" | {figures['cpu_us'] / floor:.2f}x |"
                )
    return lines


if __name__ == "__main__":
    print(json.dumps(run(quick=True), indent=2))
