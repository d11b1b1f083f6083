"""Sync overhead: SyncLoopaiClient.execute against LoopaiClient.execute, CPU per request.

Both clients send the same execute request to the fixed-response server in
another process (`fixed_server.py`), one request at a time; this process's
CPU time (both threads of the sync client: the caller's and its event
loop's) is divided by the requests sent.  The async client runs on the
backend named; the sync client's background loop runs on the same backend.
Also measured: the sync client shared by 4 threads, and streaming a batch
(`stream_batch`, one result handed over per item) against the bundled local
server in its own process: items/s and CPU per item, async against sync.

python -m benchmarks.bench_sync          # full size
python -m benchmarks.bench_sync --quick  # a smoke run
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from typing import Any

import anyio

from loopai import LoopaiClient, SyncLoopaiClient

from ._harness import loopai_server, server_process
from .bench_batch import RUNNER_OPTIONS, SPAM_TASK, inputs
from .fixed_server import TASK_ID

INPUT: dict[str, Any] = {"text": "Buy now for free money!"}
CLIENTS = ("async LoopaiClient", "SyncLoopaiClient", "SyncLoopaiClient, 4 threads")
THREADS = 4


def _per_request(started_wall: float, started_cpu: float, count: int) -> tuple[float, float]:
    return (time.perf_counter() - started_wall) / count * 1e6, (
        time.process_time() - started_cpu
    ) / count * 1e6


def _measure_async(url: str, total: int, backend: str) -> tuple[float, float]:
    async def main() -> tuple[float, float]:
        async with LoopaiClient(url) as client:
            for _ in range(20):  # warm the pool
                await client.execute(TASK_ID, INPUT)
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(total):
                await client.execute(TASK_ID, INPUT)
            return _per_request(wall, cpu, total)

    return anyio.run(main, backend=backend)


def _measure_sync(client: SyncLoopaiClient, total: int, threads: int) -> tuple[float, float]:
    per_thread = total // threads
    for _ in range(20):
        client.execute(TASK_ID, INPUT)

    def worker() -> None:
        for _ in range(per_thread):
            client.execute(TASK_ID, INPUT)

    wall, cpu = time.perf_counter(), time.process_time()
    if threads == 1:
        worker()
    else:
        workers = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
    return _per_request(wall, cpu, per_thread * threads)


def _stream_async(url: str, items: int, backend: str) -> tuple[float, float]:
    async def main() -> tuple[float, float]:
        async with LoopaiClient(url, timeout=600.0) as client:
            task = await client.create_task(name=f"bench-{time.monotonic_ns()}", **SPAM_TASK)
            wall, cpu = time.perf_counter(), time.process_time()
            async with client.stream_batch(task.id, inputs(items), options=RUNNER_OPTIONS) as results:
                count = sum([1 async for _ in results])
            return _per_request(wall, cpu, count)

    return anyio.run(main, backend=backend)


def _stream_sync(url: str, items: int, backend: str) -> tuple[float, float]:
    with SyncLoopaiClient(url, timeout=600.0, backend=backend) as client:
        task = client.create_task(name=f"bench-{time.monotonic_ns()}", **SPAM_TASK)
        wall, cpu = time.perf_counter(), time.process_time()
        with client.stream_batch(task.id, inputs(items), options=RUNNER_OPTIONS) as results:
            count = sum(1 for _ in results)
        return _per_request(wall, cpu, count)


def run(quick: bool = False) -> dict[str, Any]:
    """Per-request wall and CPU time of the async and the sync client, on asyncio and trio."""
    total = 100 if quick else 3_000
    repeat = 1 if quick else 7
    results: dict[str, Any] = {}
    with server_process("-m", "benchmarks.fixed_server") as url:
        for backend in ("asyncio", "trio"):
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in CLIENTS}
            with SyncLoopaiClient(url, backend=backend) as sync_client:
                for _ in range(repeat):  # interleaved: the clients share the machine's noise
                    samples[CLIENTS[0]].append(_measure_async(url, total, backend))
                    samples[CLIENTS[1]].append(_measure_sync(sync_client, total, 1))
                    samples[CLIENTS[2]].append(_measure_sync(sync_client, total, THREADS))
            results[backend] = {
                name: {
                    "wall_us": statistics.median(s[0] for s in runs),
                    "cpu_us": statistics.median(s[1] for s in runs),
                }
                for name, runs in samples.items()
            }
    items = 2_000 if quick else 50_000
    stream: dict[str, Any] = {}
    with loopai_server() as url:
        for backend in ("asyncio", "trio"):
            runs = {"async": [], "sync": []}  # type: dict[str, list[tuple[float, float]]]
            for _ in range(1 if quick else 3):
                runs["async"].append(_stream_async(url, items, backend))
                runs["sync"].append(_stream_sync(url, items, backend))
            stream[backend] = {
                name: {
                    "items_per_second": 1e6 / statistics.median(r[0] for r in samples),
                    "cpu_us_per_item": statistics.median(r[1] for r in samples),
                }
                for name, samples in runs.items()
            }
    results["stream"] = {"items": items, **stream}
    return results


def table(results: dict[str, Any]) -> list[str]:
    """Markdown rows: per-request CPU and wall time, and the CPU ratio to the async client."""
    lines = [
        "| backend | client | CPU µs/request | wall µs/request | CPU vs async client |",
        "|---|---|---|---|---|",
    ]
    for backend in ("asyncio", "trio"):
        clients = results[backend]
        floor = clients[CLIENTS[0]]["cpu_us"]
        for name, figures in clients.items():
            lines.append(
                f"| {backend} | {name} | {figures['cpu_us']:.0f} | {figures['wall_us']:.0f}"
                f" | {figures['cpu_us'] / floor:.2f}x |"
            )
    stream = results["stream"]
    lines += [
        "",
        f"| stream_batch, {stream['items']:,} items | client | items/s | CPU µs/item | CPU vs async |",
        "|---|---|---|---|---|",
    ]
    for backend in ("asyncio", "trio"):
        figures = stream[backend]
        for name in ("async", "sync"):
            lines.append(
                f"| {backend} | {name} | {figures[name]['items_per_second']:,.0f}"
                f" | {figures[name]['cpu_us_per_item']:.1f}"
                f" | {figures[name]['cpu_us_per_item'] / figures['async']['cpu_us_per_item']:.2f}x |"
            )
    return lines


def main(argv: list[str] | None = None) -> None:
    """Run the sync-overhead benchmark on its own and print its table (and JSON with --json)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_sync")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--json", action="store_true", help="also print the raw figures")
    args = parser.parse_args(argv)
    results = run(quick=args.quick)
    print("\n".join(table(results)))
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
