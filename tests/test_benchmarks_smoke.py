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
