"""Per-call costs: batch_execute at 100, 1,000 and 10,000 items, execute, and creating a client.

Against the fixed-response server in its own process (`fixed_server.py`),
which answers a batch request with a precomputed response of one result per
item, so the client's CPU dominates.  Measured in this process with
``time.process_time()``:

- ``batch_execute`` CPU per item, one request per call (``chunk_size`` at least
  the call's size), against the raw floor: `httpx2.AsyncClient` posting the same
  batch, encoded once before timing, and decoding the answer with msgspec into
  the typed `loopai.models.BatchExecuteResponse`.  At 10,000 items also with the
  default `BatchOptions` (10 chunks of 1,000, 4 in flight), against the same floor.
  Medians of paired rounds, the contenders interleaved (order alternating).
- ``execute`` at 1 and 50 in flight against raw httpx2: `bench_client`'s
  measurement (reused, not repeated when the client part already ran).
- Creating and closing a `LoopaiClient` (for the server's http:// URL, and for
  an https:// URL it never connects to), against creating and closing an
  `httpx2.AsyncClient`, and ``ssl.create_default_context()`` for reference:
  medians of many, interleaved.
"""

from __future__ import annotations

import gc
import json
import ssl
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2
import msgspec

from loopai import BatchExecuteResponse, BatchOptions, LoopaiClient

from . import bench_client
from ._harness import server_process
from .fixed_server import TASK_ID

SIZES = (100, 1_000, 10_000)
FLOOR = "raw httpx2 + msgspec typed (floor)"
ONE_REQUEST = "loopai batch_execute"
DEFAULT_CHUNKS = "loopai batch_execute, default BatchOptions"
EXECUTE_CLIENTS = ("loopai", "raw httpx2 (floor)")

_decode_response = msgspec.json.Decoder(BatchExecuteResponse).decode

Call = Callable[[], Awaitable[None]]


def inputs(count: int) -> list[dict[str, str]]:
    """Email-like inputs of a batch."""
    return [
        {"text": f"message {n}: {'buy now, free money' if n % 4 == 0 else 'see you at 2pm'}"}
        for n in range(count)
    ]


def request_body(items: list[dict[str, str]]) -> bytes:
    """The batch request loopai sends for these inputs (ids are positions), encoded with msgspec."""
    return msgspec.json.encode(
        {"task_id": TASK_ID, "items": [{"id": str(n), "input": item} for n, item in enumerate(items)]}
    )


async def _cpu_us_per_item(call: Call, calls: int, items: int) -> float:
    gc.collect()
    started = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - started) / (calls * items) * 1e6


async def _batch_backend(url: str, sizes: tuple[int, ...], per_measure: int, rounds: int) -> dict[str, Any]:
    batch_url = f"{url}/api/v1/batch/execute"
    json_headers = {"content-type": "application/json"}
    results: dict[str, Any] = {}
    async with LoopaiClient(url, timeout=120.0) as client, httpx2.AsyncClient(timeout=120.0) as raw:
        for size in sizes:
            data = inputs(size)
            body = request_body(data)
            one_request = BatchOptions(chunk_size=size, max_chunk_bytes=max(4_000_000, 2 * len(body)))

            async def floor(data: list[dict[str, str]] = data, size: int = size) -> None:
                # A raw client also builds the request from the inputs.
                response = await raw.post(batch_url, content=request_body(data), headers=json_headers)
                assert len(_decode_response(response.content).results) == size

            async def via_loopai(
                data: list[dict[str, str]] = data, options: BatchOptions = one_request
            ) -> None:
                response = await client.batch_execute(TASK_ID, data, options=options)
                assert response.total_items == len(data), response.total_items

            async def via_defaults(data: list[dict[str, str]] = data) -> None:
                response = await client.batch_execute(TASK_ID, data)
                assert response.total_items == len(data), response.total_items

            calls: dict[str, Call] = {FLOOR: floor, ONE_REQUEST: via_loopai}
            if size > BatchOptions().chunk_size:
                calls[DEFAULT_CHUNKS] = via_defaults
            for call in calls.values():  # warm up: connections, caches, the server's answer cache
                await call()
            count = max(2, per_measure // size)
            samples: dict[str, list[float]] = {name: [] for name in calls}
            for round_ in range(rounds):
                order = list(calls) if round_ % 2 == 0 else list(reversed(calls))
                for name in order:
                    samples[name].append(await _cpu_us_per_item(calls[name], count, size))
            results[str(size)] = {
                name: {
                    "cpu_us_per_item": statistics.median(values),
                    "ratio": statistics.median(v / f for v, f in zip(values, samples[FLOOR], strict=True)),
                    "calls_per_round": count,
                }
                for name, values in samples.items()
            }
    return results


async def _creation_backend(url: str, count: int) -> dict[str, dict[str, float]]:
    async def loopai_client() -> None:
        await LoopaiClient(url).aclose()

    async def loopai_tls_client() -> None:  # never connects: only what the constructor builds
        await LoopaiClient("https://api.loopai.invalid").aclose()

    async def httpx2_client() -> None:
        await httpx2.AsyncClient().aclose()

    async def tls_context() -> None:
        ssl.create_default_context()

    contenders: dict[str, Call] = {
        "create and close a LoopaiClient": loopai_client,
        "create and close a LoopaiClient, https:// URL": loopai_tls_client,
        "create and close an httpx2.AsyncClient": httpx2_client,
        "ssl.create_default_context() (reference)": tls_context,
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    for n in range(count):
        order = list(contenders) if n % 2 == 0 else list(reversed(contenders))
        for name in order:
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            await contenders[name]()
            samples[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return {
        name: {
            "wall_ms": statistics.median(s[0] for s in values) * 1e3,
            "cpu_ms": statistics.median(s[1] for s in values) * 1e3,
        }
        for name, values in samples.items()
    }


def run(quick: bool = False, *, client_results: dict[str, Any] | None = None) -> dict[str, Any]:
    """Batch CPU per item and ratios, execute ratios and client creation, on asyncio and trio.

    ``client_results`` are `bench_client.run`'s, if it already ran (its 1 and 50
    in flight are used); otherwise execute is measured here with loopai and raw httpx2.
    """
    sizes = (10, 100) if quick else SIZES
    per_measure = 200 if quick else 5_000
    rounds = 1 if quick else 5
    creations = 3 if quick else 30
    results: dict[str, Any] = {"sizes": list(sizes), "rounds": rounds, "batch": {}, "creation": {}}
    with server_process("-m", "benchmarks.fixed_server") as url:
        for backend in ("asyncio", "trio"):
            results["creation"][backend] = anyio.run(_creation_backend, url, creations, backend=backend)
            results["batch"][backend] = anyio.run(
                _batch_backend, url, sizes, per_measure, rounds, backend=backend
            )
    if client_results is None:
        client_results = bench_client.run(
            quick, levels=(1, 50), clients=EXECUTE_CLIENTS, repeat=rounds, total=100 if quick else 1_500
        )
    results["execute"] = {
        backend: {level: levels[level] for level in ("1", "50") if level in levels}
        for backend, levels in client_results.items()
    }
    return results


def table(results: dict[str, Any]) -> list[str]:
    """Markdown rows: the per-call table (batch and execute) and the client-creation table."""
    lines = [
        "| workload | backend | raw floor | loopai | ratio (median of paired rounds) |",
        "|---|---|---|---|---|",
    ]
    for size in results["sizes"]:
        for backend, sizes in results["batch"].items():
            figures = sizes[str(size)]
            floor = figures[FLOOR]["cpu_us_per_item"]
            for name in (ONE_REQUEST, DEFAULT_CHUNKS):
                if name not in figures:
                    continue
                label = f"`batch_execute`, {size:,} items per call"
                if name == DEFAULT_CHUNKS:
                    label += " (default chunks of 1,000, 4 in flight)"
                loopai_us = figures[name]["cpu_us_per_item"]
                lines.append(
                    f"| {label} | {backend} | {floor:.2f} µs/item | {loopai_us:.2f} µs/item"
                    f" | {figures[name]['ratio']:.2f}x |"
                )
    for level in ("1", "50"):
        for backend, levels in results["execute"].items():
            if level not in levels:
                continue
            loopai_us = levels[level]["loopai"]["cpu_us"]
            floor_us = levels[level]["raw httpx2 (floor)"]["cpu_us"]
            lines.append(
                f"| `execute`, {level} in flight | {backend} | {floor_us:,.0f} µs/req"
                f" | {loopai_us:,.0f} µs/req | {loopai_us / floor_us:.2f}x |"
            )
    lines += [
        "",
        "| creating a client (median of many, interleaved) | backend | wall ms | CPU ms | CPU vs httpx2 |",
        "|---|---|---|---|---|",
    ]
    for backend, contenders in results["creation"].items():
        reference = contenders["create and close an httpx2.AsyncClient"]["cpu_ms"]
        for name, figures in contenders.items():
            lines.append(
                f"| {name} | {backend} | {figures['wall_ms']:.2f} | {figures['cpu_ms']:.2f}"
                f" | {figures['cpu_ms'] / reference:.2f}x |"
            )
    return lines


if __name__ == "__main__":
    print(json.dumps(run(quick=True), indent=2))
