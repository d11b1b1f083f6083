"""Stream N generated items through a running server and report resident memory (one JSON line).

``python -m benchmarks.stream_memory URL N``: inputs come from a generator, so
memory is bounded by the runner's window, never by N.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator

import anyio

from loopai import BatchOptions, LoopaiClient

from ._harness import current_rss_mib, peak_rss_mib, reset_peak_rss
from .bench_batch import SPAM_TASK


async def main(url: str, items: int) -> None:
    def source() -> Iterator[dict[str, str]]:
        for n in range(items):
            yield {"text": f"message {n}: {'free money' if n % 4 == 0 else 'hello'}"}

    async with LoopaiClient(url, timeout=600.0) as client:
        task = await client.create_task(name=f"stream-{time.monotonic_ns()}", **SPAM_TASK)
        await client.execute(task.id, {"text": "warm up"})
        before = current_rss_mib()
        reset_peak_rss()
        sampled_peak = before
        seen = 0
        started = time.perf_counter()
        options = BatchOptions(chunk_size=2_000, concurrency=4)
        async with client.stream_batch(task.id, source(), ordered=True, options=options) as results:
            async for result in results:
                seen += result.success
                if seen % 10_000 == 0:
                    sampled_peak = max(sampled_peak, current_rss_mib())
        elapsed = time.perf_counter() - started
    assert seen == items, seen
    peak = max(peak_rss_mib(), sampled_peak)
    print(json.dumps({
        "items": items, "items_per_second": items / elapsed, "rss_before_mib": before,
        "peak_rss_mib": peak, "growth_mib": peak - before,
    }))  # fmt: skip


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], int(sys.argv[2]))
