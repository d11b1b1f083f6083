"""Batch throughput and streaming memory, against the bundled local server in its own process.

- items/s of one job through the batch runner (chunked, concurrent);
- the same items as one giant request (what the spec's batch_execute would send);
- one execute per item, fanned out 50 at a time (gather-style);
- resident memory growth while streaming 1,000,000 items (in a fresh process).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import anyio

from loopai import BatchOptions, LoopaiClient

from ._harness import ROOT, loopai_server

SPAM_TASK: dict[str, Any] = {
    "description": "Classify emails as spam or not spam",
    "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    "output_schema": {"type": "string", "enum": ["spam", "not_spam"]},
}
RUNNER_OPTIONS = BatchOptions(chunk_size=2_000, concurrency=4)


def inputs(count: int) -> list[dict[str, str]]:
    return [
        {"text": f"message {n}: {'buy now, free money' if n % 4 == 0 else 'see you at 2pm'}"}
        for n in range(count)
    ]


async def _throughput(url: str, items: int, per_item: int) -> dict[str, float]:
    async with LoopaiClient(url, timeout=600.0, max_connections=64) as client:
        task = await client.create_task(name=f"bench-{time.monotonic_ns()}", **SPAM_TASK)
        await client.execute(task.id, {"text": "warm up"})
        data = inputs(items)
        rates: dict[str, float] = {}

        started = time.perf_counter()
        response = await client.batch_execute(task.id, data, options=RUNNER_OPTIONS)
        assert response.success_count == items, response.failure_count
        rates["batch runner"] = items / (time.perf_counter() - started)

        giant = BatchOptions(chunk_size=items, max_chunk_bytes=15_000_000, concurrency=1)
        started = time.perf_counter()
        response = await client.batch_execute(task.id, data, options=giant)
        assert response.success_count == items
        rates["one giant request"] = items / (time.perf_counter() - started)

        async def execute_slice(start: int) -> None:
            for n in range(start, per_item, 50):
                await client.execute(task.id, data[n])

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for start in range(50):
                group.start_soon(execute_slice, start)
        rates["one execute per item (50 in flight)"] = per_item / (time.perf_counter() - started)
        return rates


def _stream_memory(items: int) -> dict[str, float]:
    """Run the streaming job in a fresh process, so its peak RSS is the job's own."""
    with loopai_server() as url:
        output = subprocess.run(
            [sys.executable, "-m", "benchmarks.stream_memory", url, str(items)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def run(quick: bool = False) -> dict[str, Any]:
    """Throughput per backend and streaming memory."""
    items = 2_000 if quick else 100_000
    per_item = 200 if quick else 10_000
    results: dict[str, Any] = {"items": items, "per_item": per_item}
    for backend in ("asyncio", "trio"):
        with loopai_server() as url:
            results[backend] = anyio.run(_throughput, url, items, per_item, backend=backend)
    results["stream"] = _stream_memory(5_000 if quick else 1_000_000)
    return results


def table(results: dict[str, Any]) -> list[str]:
    """Markdown rows: items/s per approach and backend, trio/asyncio ratio, stream memory."""
    lines = [
        (
            f"| approach ({results['items']:,} items; per-item executes: {results['per_item']:,}) "
            "| asyncio items/s | trio items/s | trio / asyncio |"
        ),
        "|---|---|---|---|",
    ]
    for name, rate in results["asyncio"].items():
        trio_rate = results["trio"][name]
        lines.append(f"| {name} | {rate:,.0f} | {trio_rate:,.0f} | {trio_rate / rate:.2f} |")
    stream = results["stream"]
    lines += [
        "",
        "| streaming | items | items/s | RSS before | peak RSS | growth |",
        "|---|---|---|---|---|---|",
        (
            f"| stream_batch, input order, asyncio | {stream['items']:,.0f}"
            f" | {stream['items_per_second']:,.0f} | {stream['rss_before_mib']:.0f} MiB"
            f" | {stream['peak_rss_mib']:.0f} MiB | {stream['growth_mib']:.0f} MiB |"
        ),
    ]
    return lines
