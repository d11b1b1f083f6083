"""Stream N items through a faulty server; report results and resident memory (one JSON line).

``python -m benchmarks.soak_stream URL N CHUNK_SIZE``: inputs come from a
generator and every result is checked off in a bitmap of N bits, so memory
is bounded by the runner's window, never by N.  Runs under the backend named
by ``$SOAK_BACKEND`` (asyncio by default).

The retry policy keeps stamina's backoff short (10-100 ms) so the soak
finishes; Retry-After waits the server asks for are honoured as sent.
"""

from __future__ import annotations

import collections
import json
import os
import re
import sys
import time
from collections.abc import Iterator

import anyio

from loopai import BatchOptions, LoopaiClient, LoopaiException, RetryPolicy

from ._harness import current_rss_mib, peak_rss_mib, reset_peak_rss
from .bench_batch import SPAM_TASK

_URL = re.compile(r"https?://[^\s)]+")

#: Three retries (four attempts), short backoff; Retry-After up to 5 s is waited out.
SOAK_RETRIES = RetryPolicy(
    max_retries=3, timeout=120.0, wait_initial=0.01, wait_max=0.1, wait_jitter=0.01, max_retry_after=5.0
)


async def main(url: str, items: int, chunk_size: int) -> None:
    """Run the soak and print its figures as one JSON line."""

    def source() -> Iterator[dict[str, str]]:
        for n in range(items):
            yield {"text": f"message {n}: {'free money' if n % 4 == 0 else 'hello'}"}

    seen = bytearray((items + 7) // 8)
    succeeded = failed = duplicates = unknown = 0
    errors: collections.Counter[str] = collections.Counter()
    job_error: str | None = None
    async with LoopaiClient(url, timeout=60.0, retry_policy=SOAK_RETRIES) as client:
        task = await client.create_task(name=f"soak-{time.monotonic_ns()}", **SPAM_TASK)
        await client.execute(task.id, {"text": "warm up"})
        before = current_rss_mib()
        reset_peak_rss()
        sampled_peak = before
        started = time.perf_counter()
        options = BatchOptions(chunk_size=chunk_size, concurrency=4)
        try:
            async with client.stream_batch(task.id, source(), options=options) as results:
                async for result in results:
                    index = int(result.id) if result.id.isdigit() else -1
                    if not 0 <= index < items:
                        unknown += 1
                        continue
                    byte, bit = divmod(index, 8)
                    if seen[byte] >> bit & 1:
                        duplicates += 1
                        continue
                    seen[byte] |= 1 << bit
                    if result.success:
                        succeeded += 1
                    else:
                        failed += 1
                        errors[_URL.sub("URL", result.error_message or "?")[:120]] += 1
                    if (succeeded + failed) % 10_000 == 0:
                        sampled_peak = max(sampled_peak, current_rss_mib())
        except LoopaiException as exc:
            job_error = f"{type(exc).__name__}: {str(exc)[:300]}"
        elapsed = time.perf_counter() - started
    peak = max(peak_rss_mib(), sampled_peak)
    reported = succeeded + failed
    print(json.dumps({
        "items": items, "succeeded": succeeded, "failed": failed, "missing": items - reported,
        "duplicates": duplicates, "unknown_ids": unknown, "job_error": job_error,
        "errors": dict(errors.most_common(6)), "seconds": elapsed, "items_per_second": reported / elapsed,
        "rss_before_mib": before, "peak_rss_mib": peak, "growth_mib": peak - before,
    }))  # fmt: skip


if __name__ == "__main__":
    anyio.run(
        main,
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        backend=os.environ.get("SOAK_BACKEND", "asyncio"),
    )
