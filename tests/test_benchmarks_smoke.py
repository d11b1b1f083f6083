"""Each benchmark runs once at a tiny size, so the suite cannot rot (speed is not asserted here)."""

from __future__ import annotations

import pytest

pytest.importorskip("pydantic")
pytest.importorskip("httpx")
pytest.importorskip("trio")


def test_model_benchmarks_run() -> None:
    """Decoding and encoding benchmarks produce a row for every contender."""
    from benchmarks import bench_models

    results = bench_models.run(quick=True)
    rows = bench_models.table(results)
    assert any(row.startswith("| loopai Structs |") for row in rows)
    assert set(results["held_bytes"]) == set(bench_models.DECODERS)


def test_client_benchmarks_run() -> None:
    """The client-overhead benchmark measures all three clients on both backends."""
    from benchmarks import bench_client

    results = bench_client.run(quick=True)
    assert set(results) == {"asyncio", "trio"}
    assert set(results["trio"]["50"]) == set(bench_client.CLIENTS)
    assert all(v["cpu_us"] > 0 for v in results["asyncio"]["1"].values())


def test_sync_benchmark_runs() -> None:
    """The sync-overhead benchmark measures both clients, calls and streams, on both backends."""
    from benchmarks import bench_sync

    results = bench_sync.run(quick=True)
    assert set(results["trio"]) == set(bench_sync.CLIENTS)
    assert all(v["cpu_us"] > 0 for v in results["asyncio"].values())
    assert results["stream"]["asyncio"]["sync"]["items_per_second"] > 0
    assert len(bench_sync.table(results)) > 10


def test_batch_benchmarks_run() -> None:
    """Throughput and streaming-memory benchmarks complete and report figures."""
    from benchmarks import bench_batch

    results = bench_batch.run(quick=True)
    assert results["asyncio"]["batch runner"] > 0
    assert results["stream"]["items"] == 5_000
    assert len(bench_batch.table(results)) > 4


def test_per_call_benchmarks_run() -> None:
    """The per-call table has batch rows per size and backend, execute rows, and client creation."""
    from benchmarks import bench_per_call

    results = bench_per_call.run(quick=True)
    rows = bench_per_call.table(results)
    assert set(results["batch"]) == {"asyncio", "trio"}
    assert all(
        size["loopai batch_execute"]["cpu_us_per_item"] > 0 for size in results["batch"]["trio"].values()
    )
    assert set(results["execute"]["asyncio"]) == {"1", "50"}
    assert any(row.startswith("| create and close a LoopaiClient | trio |") for row in rows)


def test_rate_budget_benchmark_runs() -> None:
    """The rate-budget run counts 429 answers and reports the time against the ideal on both backends."""
    from benchmarks import bench_rate_budget

    results = bench_rate_budget.run(quick=True)
    for backend in ("asyncio", "trio"):
        assert results[backend]["ideal_seconds"] >= bench_rate_budget.QUICK.period
        outcome = results[backend]["variants"][bench_rate_budget.NO_PACE]
        assert outcome["requests"] >= outcome["items"] // bench_rate_budget.QUICK.chunk_size
        assert outcome["answers_429"] >= 0
    assert len(bench_rate_budget.table(results)) > 4


def test_soak_benchmark_runs() -> None:
    """A small soak reports every item exactly once on both backends, with the faults that fired."""
    from benchmarks import bench_soak

    results = bench_soak.run(items=2_000)
    for backend in ("asyncio", "trio"):
        soak = results[backend]
        assert soak["succeeded"] + soak["failed"] + soak["missing"] == 2_000
        assert soak["duplicates"] == 0
        assert sum(soak["faults"].values()) > 0
    assert len(bench_soak.table(results)) > 4
