"""Type-checked, never run: `loopai.jobs` as a user writes it (mypy --strict checks this file)."""

from __future__ import annotations

from pathlib import Path

from loopai import BatchOptions, LoopaiClient
from loopai.jobs import JobReport, ResumeRefusedException, record_path, run_file


async def nightly(client: LoopaiClient, task_id: str) -> int:
    def show(report: JobReport) -> None:
        eta = report.eta
        print(report.done, report.total, report.failed, report.items_per_second, eta)

    try:
        report: JobReport = await run_file(
            client,
            task_id,
            "inputs.csv",
            Path("results.jsonl"),
            id_field="key",
            ordered=True,
            options=BatchOptions(chunk_size=500, concurrency=8),
            progress=show,
            notify=print,
        )
    except ResumeRefusedException as exc:
        print(exc.message, record_path(Path("results.jsonl")))
        return 2
    failures: dict[str, int] = dict(report.failures)
    print(failures, report.stopped, report.earlier, report.done_this_run)
    return 0 if report.complete and not report.failed else 1
