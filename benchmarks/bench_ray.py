"""loopai on Ray Data against one process and against Ray Data's own HTTP processor.

python benchmarks/bench_ray.py                       # 1,000,000 rows; the HTTP processor on 5,000
python benchmarks/bench_ray.py --rows 100000         # a smaller run
python benchmarks/bench_ray.py --rows 2000 --http-rows 200 --num-cpus 2   # a smoke run

Needs `pip install -e ".[ray-bench]"` (ray[data], pyarrow, aiohttp, pydantic; no GPU
packages).  Against the bundled local server in its own process (with
`--log-requests`, so requests are counted where they arrive), with the spam
classifier task:

1. `stream_batch` in this process: the floor Ray is measured against;
2. `loopai.ray.execute_dataset` on a local Ray cluster (`ray.init(num_cpus=...)`),
   two actors, from `ray.data.range` to materialised results;
3. Ray Data's `ray.data.llm.HttpRequestProcessorConfig` posting one row per
   request to `/api/v1/tasks/{id}/execute`, two actors, `qps=None`, on fewer
   rows (it sends a request per row).

4. the round trip of one permit from the cluster budget actor.

Rows/s count from the job's start to its last result row (Ray's start-up,
`ray.init`, is excluded and printed separately).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from typing import Any

import anyio

from loopai import BatchOptions, LoopaiClient

SPAM_TASK: dict[str, Any] = {
    "name": "bench-spam",
    "description": "Classify emails as spam or not spam",
    "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    "output_schema": {"type": "string", "enum": ["spam", "not_spam"]},
}


def text_of(n: int) -> str:
    return f"message {n}: {'buy now, free money' if n % 4 == 0 else 'see you at 2pm'}"


class Server:
    """The local server in a child process, counting the requests it answers."""

    def __init__(self) -> None:
        command = [sys.executable, "-m", "loopai.testing", "--port", "0", "--compact", "--no-record"]
        self.process = subprocess.Popen([*command, "--log-requests"], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().split("listening on ", 1)[1].split()[0]
        self.answers: dict[str, int] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

        async def create() -> str:
            async with LoopaiClient(self.url) as client:
                return str((await client.create_task(**SPAM_TASK)).id)

        self.task_id = anyio.run(create)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("request "):
                path = line.split()[3]
                with self._lock:
                    self.answers[path] = self.answers.get(path, 0) + 1

    def requests(self) -> int:
        """Requests answered so far (waits until the count has settled)."""
        while True:
            with self._lock:
                before = sum(self.answers.values())
            time.sleep(0.2)
            with self._lock:
                if sum(self.answers.values()) == before:
                    return before

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def run_stream_batch(server: Server, rows: int) -> dict[str, float]:
    async def job() -> int:
        got = 0
        async with LoopaiClient(server.url, timeout=120.0) as client:
            options = BatchOptions(chunk_size=1000, concurrency=4)
            inputs = ({"text": text_of(n)} for n in range(rows))
            async with client.stream_batch(server.task_id, inputs, options=options) as results:
                async for result in results:
                    got += result.success
        return got

    before = server.requests()
    started = time.perf_counter()
    succeeded = anyio.run(job)
    seconds = time.perf_counter() - started
    assert succeeded == rows, succeeded
    return {"rows": rows, "seconds": seconds, "requests": server.requests() - before}


def emails(rows: int) -> Any:
    import ray.data

    return ray.data.range(rows).map_batches(
        lambda batch: {"id": batch["id"], "text": [text_of(int(n)) for n in batch["id"]]},
        batch_format="numpy",
    )


def run_execute_dataset(server: Server, rows: int, actors: int) -> dict[str, float]:
    import loopai.ray

    before = server.requests()
    started = time.perf_counter()
    out = loopai.ray.execute_dataset(
        emails(rows), server.task_id, input=["text"], base_url=server.url, concurrency=(actors, actors)
    )
    succeeded = 0
    seen = 0
    batch: Any
    for batch in out.iter_batches(batch_format="pyarrow", batch_size=None):
        seen += batch.num_rows
        succeeded += sum(batch.column("loopai_success").to_pylist())
    seconds = time.perf_counter() - started
    assert seen == rows, seen
    assert succeeded == rows, succeeded
    return {"rows": rows, "seconds": seconds, "requests": server.requests() - before}


def run_http_processor(server: Server, rows: int, actors: int) -> dict[str, float]:
    from ray.data.llm import HttpRequestProcessorConfig, build_processor

    task_id = server.task_id
    config = HttpRequestProcessorConfig(
        url=f"{server.url}/api/v1/tasks/{task_id}/execute", batch_size=64, concurrency=actors, qps=None
    )
    processor = build_processor(
        config,
        preprocess=lambda row: {"payload": {"task_id": task_id, "input": {"text": row["text"]}}},
        postprocess=lambda row: {"success": row["http_response"].get("status") == "success"},
    )
    before = server.requests()
    started = time.perf_counter()
    found = processor(emails(rows)).take_all()
    seconds = time.perf_counter() - started
    assert len(found) == rows, len(found)
    assert all(row["success"] for row in found)
    return {"rows": rows, "seconds": seconds, "requests": server.requests() - before}


def budget_round_trip(calls: int) -> float:
    """Microseconds per permit from the cluster budget actor, asked one at a time from this process."""
    import ray

    from loopai.ray._budget_actor import budget_actor

    handle = budget_actor(f"bench-budget-{time.monotonic_ns()}", None, None)
    ray.get(handle.acquire.remote(1))
    started = time.perf_counter()
    for _ in range(calls):
        ray.get(handle.acquire.remote(1000))
    return (time.perf_counter() - started) / calls * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/bench_ray.py")
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows for stream_batch and execute_dataset"
    )
    parser.add_argument("--http-rows", type=int, default=5_000, help="rows for Ray's HTTP processor")
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    parser.add_argument("--actors", type=int, default=2, help="actors for both Ray jobs")
    args = parser.parse_args(argv)

    import ray

    server = Server()
    try:
        started = time.perf_counter()
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        ray_start = time.perf_counter() - started
        permit_us = budget_round_trip(2000)
        results = {
            "stream_batch, one process": run_stream_batch(server, args.rows),
            f"loopai.ray.execute_dataset, {args.actors} actors": run_execute_dataset(
                server, args.rows, args.actors
            ),
            f"ray.data.llm HTTP processor, {args.actors} actors": run_http_processor(
                server, args.http_rows, args.actors
            ),
        }
    finally:
        ray.shutdown()
        server.stop()
    floor = args.rows / results["stream_batch, one process"]["seconds"]
    print(f"ray.init(num_cpus={args.num_cpus}): {ray_start:.1f} s (not counted below)")
    print(f"one permit from the cluster budget actor (ray.get round trip): {permit_us:.0f} µs")
    print("| job | rows | seconds | rows/s | vs stream_batch | requests sent | rows per request |")
    print("|---|---|---|---|---|---|---|")
    for name, result in results.items():
        rate = result["rows"] / result["seconds"]
        print(
            f"| {name} | {result['rows']:,} | {result['seconds']:.1f} | {rate:,.0f} | {rate / floor:.2f}x"
            f" | {result['requests']:,} | {result['rows'] / max(result['requests'], 1):,.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
