"""benchmarks/bench_cli.py runs once at a tiny size, so it cannot rot (speed is not asserted)."""

from __future__ import annotations

import sys

import pytest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS is read from /proc")
def test_cli_benchmark_runs() -> None:
    """The batch-run, stream_batch and resume figures are all measured."""
    from benchmarks import bench_cli

    results = bench_cli.run(lines=2_000)
    assert results["cli"]["items_per_second"] > 0
    assert results["stream_batch"]["peak_rss_mib"] > 0
    assert results["resume_kept"] == 1_000
    assert 0 < results["resume"]["scan_s"] <= results["resume"]["first_result_s"]
    assert len(bench_cli.table(results)) > 6
