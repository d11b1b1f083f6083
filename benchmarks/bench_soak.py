"""Soak: a million streamed items under seeded random faults on 5% of requests, on both backends.

Each backend streams N items (``--items``; default 1,000,000) through
``stream_batch`` in a fresh process (`soak_stream.py`, so its memory is the
job's own) against the local server in another process
(`counting_server.py --soak-faults 0.05 --seed 1`): 5% of batch requests get
one of `counting_server.SOAK_FAULT_KINDS` (503; 429 with Retry-After absent,
0, 1 or a past date; a dropped connection; a truncated or malformed body;
0.5 s of latency), each equally likely.  The client retries with
``max_retries=3`` and short backoff (`soak_stream.SOAK_RETRIES`).
Targets: every item succeeds, exactly once; resident memory grows by under 100 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import httpx2

from ._harness import ROOT, server_process
from .counting_server import STATS_PATH

FAULT_SHARE = 0.05
FULL_ITEMS = 1_000_000
QUICK_ITEMS = 2_000
GROWTH_LIMIT_MIB = 100_000_000 / 2**20


def chunk_size_for(items: int) -> int:
    """1,000 items per request, fewer for small runs so they still draw faults (about 100 requests)."""
    return max(10, min(1_000, items // 100))


def _soak(backend: str, items: int, seed: int) -> dict[str, Any]:
    chunk_size = chunk_size_for(items)
    with server_process(
        "-m", "benchmarks.counting_server", "--soak-faults", str(FAULT_SHARE), "--seed", str(seed)
    ) as url:
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.soak_stream", url, str(items), str(chunk_size)],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
            env={**os.environ, "SOAK_BACKEND": backend},
            timeout=300 + items / 1_000,
        )
        if child.returncode != 0:
            raise RuntimeError(f"the soak on {backend} failed:\n{child.stderr[-3000:]}")
        output = child.stdout
        stats = httpx2.get(url + STATS_PATH).json()
    figures: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    figures["chunk_size"] = chunk_size
    figures["requests"] = sum(stats["statuses"].values())
    if not figures["requests"]:
        raise RuntimeError("the counting server saw no requests: is it still serving itself?")
    figures["statuses"] = stats["statuses"]
    figures["faults"] = {fault["fault"]: fault["fired"] for fault in stats["faults"]}
    return figures


def run(quick: bool = False, *, items: int | None = None, seed: int = 1) -> dict[str, Any]:
    """The soak on asyncio and trio: item outcomes, faults fired, memory."""
    count = items or (QUICK_ITEMS if quick else FULL_ITEMS)
    results: dict[str, Any] = {"items": count}
    for backend in ("asyncio", "trio"):
        print(f"soak: {backend}, {count:,} items ...", file=sys.stderr, flush=True)
        results[backend] = _soak(backend, count, seed)
    return results


def table(results: dict[str, Any]) -> list[str]:
    """Markdown rows: outcomes, faults and memory per backend."""
    lines = [
        (
            "| backend | items | succeeded | failed | missing | duplicated | faults fired / requests"
            " | items/s | RSS before | peak RSS | growth | met |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for backend in ("asyncio", "trio"):
        soak = results[backend]
        fired = sum(soak["faults"].values())
        met = (
            soak["succeeded"] == soak["items"]
            and soak["duplicates"] == 0
            and soak["growth_mib"] < GROWTH_LIMIT_MIB
            and soak["job_error"] is None
        )
        lines.append(
            f"| {backend} | {soak['items']:,} | {soak['succeeded']:,} | {soak['failed']:,}"
            f" | {soak['missing']:,} | {soak['duplicates']:,} | {fired:,} / {soak['requests']:,}"
            f" | {soak['items_per_second']:,.0f} | {soak['rss_before_mib']:.0f} MiB"
            f" | {soak['peak_rss_mib']:.0f} MiB | {soak['growth_mib']:.0f} MiB | {'yes' if met else 'no'} |"
        )
    lines += ["", "| fault (each about 1/9 of the 5%) | asyncio fired | trio fired |", "|---|---|---|"]
    for fault, fired in results["asyncio"]["faults"].items():
        lines.append(f"| {fault} | {fired} | {results['trio']['faults'].get(fault, 0)} |")
    for backend in ("asyncio", "trio"):
        soak = results[backend]
        if soak["job_error"]:
            lines += ["", f"{backend}: the job raised {soak['job_error']}"]
        if soak["errors"]:
            reasons = "; ".join(f"{count:,} x {reason!r}" for reason, count in soak["errors"].items())
            lines += ["", f"{backend}: failed items' reasons: {reasons}"]
    return lines


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_soak")
    parser.add_argument("--items", type=int, default=FULL_ITEMS)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    print("\n".join(table(run(items=arguments.items, seed=arguments.seed))))
