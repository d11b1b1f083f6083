"""One rate budget per client: two batch jobs and single executes against a rate-limited server.

The local server runs in its own process (`counting_server.py`) with one
rule: at most 10 requests per 2 s per path (fixed windows, as
AspNetCoreRateLimit counts them).  On ONE client, two concurrent
``batch_execute`` jobs of 15 chunks each and 10 ``execute`` calls run
together.  Reported: the 429 answers the server sent (and the most in any one
rate window), whether every item succeeded, and the elapsed time against the
ideal schedule the limit allows: per path, ``ceil(requests / limit) - 1``
windows must pass before the last window opens, plus that window's share of
the time the same workload takes with no limit (`ideal_seconds`).

Variants: the client given no pace (it may only learn from 429 and
``X-Rate-Limit-*`` answers), a pace per job (``BatchOptions.requests_per_second``,
today's way), and a pace per client (``LoopaiClient(requests_per_second=...)``,
skipped with a message where the client lacks the argument).  The client
keeps its default `RetryPolicy` (real Retry-After waits).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2

from loopai import BatchOptions, LoopaiClient, LoopaiException

from ._harness import client_accepts, server_process
from .bench_batch import SPAM_TASK, inputs
from .counting_server import STATS_PATH

BATCH_PATH = "/api/v1/batch/execute"
#: Seconds a workload may take before the run fails (the retry policies bound it anyway).
WORKLOAD_DEADLINE = 180.0


@dataclass(frozen=True)
class Shape:
    """The workload and the server's limit."""

    limit: int
    period: int
    jobs: int
    chunks: int
    chunk_size: int
    executes: int

    @property
    def rate(self) -> float:
        """The limit's rate per path, in requests per second."""
        return self.limit / self.period


FULL = Shape(limit=10, period=2, jobs=2, chunks=15, chunk_size=10, executes=10)
QUICK = Shape(limit=4, period=1, jobs=2, chunks=4, chunk_size=5, executes=3)

NO_PACE = "no pace given (learns from answers)"
JOB_PACE = "pace per job: BatchOptions(requests_per_second=limit rate)"
CLIENT_PACE = "pace per client: LoopaiClient(requests_per_second=limit rate)"


def replay_windows(answers: list[list[Any]], period: float) -> dict[str, int]:
    """Replay the server's fixed windows per (method, path) over its answers; count 429s per window.

    A window opens at the first request of its path, and a new one at the
    first request ``period`` or more after the current one opened (as the
    local server's `RateLimiter` does).
    """
    opened: dict[tuple[str, str], tuple[float, int]] = {}
    per_window: collections.Counter[tuple[str, str, int]] = collections.Counter()
    for arrived, method, path, status in sorted(answers):
        start, index = opened.get((method, path), (arrived, 0))
        if arrived - start >= period:
            start, index = arrived, index + 1
        opened[(method, path)] = (start, index)
        per_window[(method, path, index)] += status == 429
    return {
        "windows": len(per_window),
        "max_429_per_window": max(per_window.values(), default=0),
        "windows_with_429": sum(1 for count in per_window.values() if count),
    }


def ideal_seconds(requests_per_path: dict[str, int], limit: int, period: float, unlimited: float) -> float:
    """The fastest schedule the limit allows.

    Every path's windows used in full: its last window opens after
    ``ceil(requests / limit) - 1`` periods, and its requests then take their
    share of ``unlimited`` (the workload's time with no limit).
    """
    windows = [math.ceil(count / limit) for count in requests_per_path.values()]
    return max((count - 1) * period + unlimited / count for count in windows)


async def _workload(url: str, shape: Shape, variant: str) -> dict[str, Any]:
    client_kwargs: dict[str, Any] = {"requests_per_second": shape.rate} if variant == CLIENT_PACE else {}
    job_pace: dict[str, Any] = {"requests_per_second": shape.rate} if variant == JOB_PACE else {}
    job_options = BatchOptions(chunk_size=shape.chunk_size, concurrency=4, **job_pace)
    failed = 0
    errors: collections.Counter[str] = collections.Counter()
    async with LoopaiClient(url, timeout=30.0, **client_kwargs) as client:
        task = await client.create_task(name=f"rate-{time.monotonic_ns()}", **SPAM_TASK)
        job_inputs = inputs(shape.chunks * shape.chunk_size)

        async def job() -> None:
            nonlocal failed
            try:
                response = await client.batch_execute(task.id, job_inputs, options=job_options)
            except LoopaiException as exc:
                failed += len(job_inputs)
                errors[f"job raised {type(exc).__name__}"] += len(job_inputs)
                return
            failed += response.failure_count
            errors.update((r.error_message or "?")[:100] for r in response.results if not r.success)

        async def execute(n: int) -> None:
            nonlocal failed
            try:
                await client.execute(task.id, {"text": f"execute {n}"})
            except LoopaiException as exc:
                failed += 1
                errors[f"execute raised {type(exc).__name__}"] += 1

        started = time.time()
        with anyio.fail_after(WORKLOAD_DEADLINE):
            async with anyio.create_task_group() as group:
                for _ in range(shape.jobs):
                    group.start_soon(job)
                for n in range(shape.executes):
                    group.start_soon(execute, n)
        elapsed = time.time() - started
        execute_path = f"/api/v1/tasks/{task.id}/execute".lower()
    async with httpx2.AsyncClient() as raw:
        stats = (await raw.get(url + STATS_PATH)).json()
    answers = [a for a in stats["answers"] if a[2] in (BATCH_PATH, execute_path)]
    if not answers:
        raise RuntimeError(
            "the counting server saw none of the workload's requests: is it still serving itself?"
        )
    return {
        "elapsed": elapsed,
        "items": shape.jobs * shape.chunks * shape.chunk_size + shape.executes,
        "failed": failed,
        "errors": dict(errors.most_common(5)),
        "requests": len(answers),
        "answers_429": sum(1 for a in answers if a[3] == 429),
        "requests_per_path": {BATCH_PATH: shape.jobs * shape.chunks, execute_path: shape.executes},
        **replay_windows(answers, shape.period),
    }


def _run_one(shape: Shape, variant: str, backend: str, *, limited: bool = True) -> dict[str, Any]:
    limit = ["--rate-limit", f"{shape.limit}/{shape.period}s"] if limited else []
    with server_process("-m", "benchmarks.counting_server", *limit) as url:
        return anyio.run(_workload, url, shape, variant, backend=backend)


def run(quick: bool = False) -> dict[str, Any]:
    """Each variant on asyncio and trio, each run against a fresh server process."""
    shape = QUICK if quick else FULL
    variants = [NO_PACE]
    skipped = []
    for variant, available, needs in (
        (
            JOB_PACE,
            "requests_per_second" in {f.name for f in dataclasses.fields(BatchOptions)},
            "BatchOptions",
        ),
        (CLIENT_PACE, client_accepts("requests_per_second"), "LoopaiClient"),
    ):
        if available:
            variants.append(variant)
        else:
            skipped.append(variant)
            print(f"rate budget: skipping {variant!r}: {needs} has no requests_per_second", file=sys.stderr)
    results: dict[str, Any] = {"shape": shape.__dict__, "skipped": skipped}
    for backend in ("asyncio", "trio"):
        free = _run_one(shape, NO_PACE, backend, limited=False)
        ideal = ideal_seconds(free["requests_per_path"], shape.limit, shape.period, free["elapsed"])
        results[backend] = {"unlimited_seconds": free["elapsed"], "ideal_seconds": ideal, "variants": {}}
        for variant in variants:
            print(f"rate budget: {backend}, {variant} ...", file=sys.stderr, flush=True)
            outcome = _run_one(shape, variant, backend)
            outcome["vs_ideal"] = outcome["elapsed"] / ideal
            results[backend]["variants"][variant] = outcome
    return results


def table(results: dict[str, Any]) -> list[str]:
    """Markdown rows: 429s, failures and time against the ideal, per variant and backend."""
    shape = results["shape"]
    lines = [
        (
            f"Server limit {shape['limit']} requests per {shape['period']} s per path; one client runs"
            f" {shape['jobs']} batch jobs of {shape['chunks']} chunks ({shape['chunk_size']} items each)"
            f" and {shape['executes']} executes at once."
        ),
        "",
        (
            "| variant | backend | 429 answers | most 429 in one window | windows | items failed"
            " | elapsed s | ideal s | vs ideal |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for backend in ("asyncio", "trio"):
        figures = results[backend]
        for variant, outcome in figures["variants"].items():
            lines.append(
                f"| {variant} | {backend} | {outcome['answers_429']} | {outcome['max_429_per_window']}"
                f" | {outcome['windows']} | {outcome['failed']} of {outcome['items']}"
                f" | {outcome['elapsed']:.2f} | {figures['ideal_seconds']:.2f} | {outcome['vs_ideal']:.2f}x |"
            )
    lines += [
        f"| {variant} | - | skipped: this loopai has no such argument | | | | | | |"
        for variant in results["skipped"]
    ]
    return lines


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
