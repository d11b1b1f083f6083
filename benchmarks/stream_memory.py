"""Stream N generated items through a running server and report resident memory (one JSON line).

``python -m benchmarks.stream_memory URL N``: inputs come from a generator, so
memory is bounded by the runner's window, never by N.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio

from loopai import BatchOptions, LoopaiClient

from .bench_batch import SPAM_TASK


def _reset_peak_rss() -> None:
    # getrusage's ru_maxrss would include the parent's size at fork; Linux lets a process
    # reset its own high-water mark (VmHWM) instead.
    Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


async def main(url: str, items: int) -> None:
    def source() -> Iterator[dict[str, str]]:
        for n in range(items):
            yield {"text": f"message {n}: {'free money' if n % 4 == 0 else 'hello'}"}

    async with LoopaiClient(url, timeout=600.0) as client:
        task = await client.create_task(name=f"stream-{time.monotonic_ns()}", **SPAM_TASK)
        await client.execute(task.id, {"text": "warm up"})
        before = _current_rss_mib()
        _reset_peak_rss()
        sampled_peak = before
        seen = 0
        started = time.perf_counter()
        options = BatchOptions(chunk_size=2_000, concurrency=4)
        async with client.stream_batch(task.id, source(), ordered=True, options=options) as results:
            async for result in results:
                seen += result.success
                if seen % 10_000 == 0:
                    sampled_peak = max(sampled_peak, _current_rss_mib())
        elapsed = time.perf_counter() - started
    assert seen == items, seen
    peak = max(_peak_rss_mib(), sampled_peak)
    print(json.dumps({
        "items": items, "items_per_second": items / elapsed, "rss_before_mib": before,
        "peak_rss_mib": peak, "growth_mib": peak - before,
    }))  # fmt: skip


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], int(sys.argv[2]))
