"""``loopai batch run TASK_ID INPUT -o OUTPUT``: a thin shell over `loopai.jobs.run_file`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from . import _status
from ._options import client_options, make_client, print_json, run_async, usage_error

if TYPE_CHECKING:
    from ..jobs import JobReport
    from ._progress import Display

__all__ = ["add_parser"]

_DESCRIPTION = """\
Run TASK_ID on every line of INPUT and write one JSON result line per input
line to OUTPUT, as chunks complete.

INPUT is JSONL (one input object per line), CSV (the header row names the
fields; values are strings; a .csv name or --format csv), or - for JSONL on
stdin.  Blank lines are skipped.  Item ids are line numbers (1-based, as
editors show them) unless --id-field takes them from a field (which is then
removed from the input).  A line that is not a valid input becomes a failed
result line naming the line and the problem; the job goes on.

Each OUTPUT line has id, line, success, output, error_message, latency_ms
and execution_id.  Results are flushed and synced to disk as they land, and
OUTPUT.loopai-job.json ties OUTPUT to its input and task: if the job is
killed, run the same command again and it resumes where OUTPUT ends (lines
already there are not sent again).  Another input, task or --id-field is
refused, with the reason.

Ctrl-C cancels what is in flight and exits with what is safely on disk; a
second Ctrl-C exits at once.
"""


def add_parser(commands: Any) -> None:
    """Add ``batch run`` to the command's subparsers."""
    batch = commands.add_parser("batch", help="batch jobs from files", description="Batch jobs from files.")
    actions = batch.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run",
        parents=[client_options()],
        help="run a task on every line of a file, durably and resumably",
        description=_DESCRIPTION,
        epilog=_status.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("task_id", metavar="TASK_ID")
    run.add_argument("input", metavar="INPUT", help="JSONL or CSV file, or - for JSONL on stdin")
    run.add_argument(
        "-o", "--output", required=True, metavar="OUTPUT", help="JSONL results (created or resumed)"
    )
    run.add_argument(
        "--format", choices=("jsonl", "csv"), default=None, help="input format (default: by name)"
    )
    run.add_argument("--id-field", metavar="NAME", default=None, help="take item ids from this input field")
    run.add_argument("--ordered", action="store_true", help="write results in input order")
    job = run.add_argument_group("the job")
    job.add_argument(
        "--chunk-size", type=int, default=1000, metavar="N", help="items per request (default 1000)"
    )
    job.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="chunk requests in flight (default 4)"
    )
    job.add_argument(
        "--max-concurrency",
        type=int,
        default=10,
        metavar="N",
        help="the server's parallelism per request (1-100)",
    )
    job.add_argument("--requests-per-second", type=float, default=None, metavar="R", help="pace of requests")
    job.add_argument("--items-per-second", type=float, default=None, metavar="R", help="pace of items")
    job.add_argument(
        "--timeout-ms", type=int, default=None, metavar="MS", help="server-side limit of each item"
    )
    job.add_argument("--version", type=int, default=None, help="program version (default: the active one)")
    job.add_argument("--no-fsync", action="store_true", help="flush results but do not sync them to disk")
    shown = run.add_argument_group("progress")
    shown.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary")
    shown.add_argument(
        "--status-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="off a terminal, seconds between status lines (default 5)",
    )
    run.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from .. import BatchOptions, InvalidArgumentException

    if args.output == "-":
        return usage_error("OUTPUT must be a file (it is appended to and resumed)")
    try:
        args.options = BatchOptions(
            chunk_size=args.chunk_size,
            concurrency=args.concurrency,
            requests_per_second=args.requests_per_second,
            items_per_second=args.items_per_second,
        )
    except InvalidArgumentException as exc:
        return usage_error(f"--{exc.argument.replace('_', '-')}: {exc.message.split(': ', 1)[-1]}")
    return run_async(_batch, args)


def _display(args: argparse.Namespace) -> Display:
    from ._progress import QuietDisplay, StatusLines, TerminalBar

    if args.quiet:
        return QuietDisplay()
    if sys.stderr.isatty():
        return TerminalBar(sys.stderr)
    return StatusLines(sys.stderr, args.status_interval)


async def _batch(args: argparse.Namespace) -> int:
    import anyio

    from .. import LoopaiException
    from ..jobs import run_file
    from ._progress import summary_lines

    display = _display(args)
    last: list[JobReport] = []

    def progress(report: JobReport) -> None:
        last[:] = [report]
        display.update(report)

    interrupted = False
    error: LoopaiException | None = None
    write_error: OSError | None = None
    try:
        async with make_client(args) as client, anyio.create_task_group() as group:
            with anyio.CancelScope() as job_scope:

                async def watch_signals() -> None:
                    nonlocal interrupted
                    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                        async for _ in signals:
                            if interrupted:
                                os._exit(_status.INTERRUPTED)  # the second Ctrl-C: at once
                            interrupted = True
                            display.note("interrupted: finishing the output; Ctrl-C again to exit at once")
                            job_scope.cancel()

                group.start_soon(watch_signals)
                try:
                    await run_file(
                        client,
                        args.task_id,
                        args.input,
                        args.output,
                        input_format=args.format,
                        id_field=args.id_field,
                        ordered=args.ordered,
                        max_concurrency=args.max_concurrency,
                        timeout_ms=args.timeout_ms,
                        version=args.version,
                        options=args.options,
                        progress=progress,
                        notify=display.note,
                        fsync=not args.no_fsync,
                    )
                except LoopaiException as exc:  # raised before anything was sent
                    error = exc
                except OSError as exc:  # the output could not be written any more (a full disk)
                    write_error = exc
            group.cancel_scope.cancel()
    finally:
        display.close()
    if error is not None:
        raise error
    if write_error is not None:
        print(
            f"loopai: cannot write {args.output!r}: {write_error}; it holds whole lines only", file=sys.stderr
        )
        return _status.JOB_STOPPED
    if not last:  # cancelled before the job started
        print("loopai: interrupted before anything was sent", file=sys.stderr)
        return _status.INTERRUPTED
    report = last[0]
    if args.json:
        print_json({**_report_fields(report), "exit_status": _status.batch_status(report)})
    elif not args.quiet:
        for line in summary_lines(report):
            print(line, file=sys.stderr)
    return _status.batch_status(report)


def _report_fields(report: JobReport) -> dict[str, Any]:
    return {
        "output": report.output,
        "total": report.total,
        "done": report.done,
        "succeeded": report.succeeded,
        "failed": report.failed,
        "failures": dict(report.failures),
        "earlier": report.earlier,
        "sent": report.sent,
        "elapsed_s": round(report.elapsed, 3),
        "items_per_second": round(report.items_per_second, 1),
        "complete": report.complete,
        "stopped": report.stopped,
    }
