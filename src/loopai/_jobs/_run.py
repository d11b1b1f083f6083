"""`run_file`: a batch job from an input file to an output file that survives a crash.

The anyio shell around the pure parts: it checks everything it can before
sending (input readable, output writable, the job record matching, the task
existing), reads what the output already holds, then streams the remaining
lines through `LoopaiClient.stream_batch` and appends each chunk's results.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
import msgspec

from .. import BatchOptions, BatchProgress, LoopaiClient
from ..exceptions import InvalidArgumentException
from ..models import BatchExecuteResult
from ._errors import InputFileException, OutputFileException, ResumeRefusedException
from ._failures import BAD_INPUT, failure_kind, request_failure
from ._lines import BadLine
from ._output import OutputLine, OutputWriter
from ._record import JobRecord, notes, read_record, record_path, refusal, write_record
from ._report import JobReport
from ._resume import DamagedOutputError, OutputScanner, ResumePlan
from ._source import InputProblemError, InputReader, count_lines, input_format, open_input

__all__ = ["run_file"]

_SCAN_BLOCK = 1 << 20


async def run_file(
    client: LoopaiClient,
    task_id: str | UUID,
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    input_format: str | None = None,
    id_field: str | None = None,
    ordered: bool = False,
    max_concurrency: int = 10,
    timeout_ms: int | None = None,
    version: int | None = None,
    options: BatchOptions | None = None,
    progress: Callable[[JobReport], object] | None = None,
    notify: Callable[[str], object] | None = None,
    fsync: bool = True,
) -> JobReport:
    """Run ``task_id`` on every line of ``input``, appending one result line per input line to ``output``.

    The input is JSONL (one input object per line), CSV (the header row
    names the fields; values are strings) or ``"-"`` for JSONL on stdin.
    Blank lines are skipped.  Item ids are line numbers (1-based) unless
    ``id_field`` names a field to take them from (it is removed from the
    input).  Each output line is a JSON object with ``id``, ``line``,
    ``success``, ``output``, ``error_message``, ``latency_ms`` and
    ``execution_id``; a line that is not a valid input becomes a failed
    result naming the line and the problem, and is never sent.

    Results are written as chunks complete and synced to disk (``fsync``).
    ``OUTPUT.loopai-job.json`` records the task and the input; calling
    again with the same arguments resumes: lines already in the output are
    not sent again, and at the end the output holds every input line once.
    A stopped or cancelled job leaves only whole result lines behind.

    Args:
        client: The client to send through (its retries and timeout apply
            to each chunk request).
        task_id: The task to run.
        input: The input file, or ``"-"`` for stdin.
        output: The output file (JSONL); created or resumed.
        input_format: ``"jsonl"`` or ``"csv"``; default from the file name.
        id_field: A field holding each item's id, instead of line numbers.
        ordered: Write results in input order (else as chunks complete).
        max_concurrency: The server's parallelism within one request (1-100).
        timeout_ms: The server-side limit of each item's run.
        version: A program version; default the active one.
        options: Chunking, requests in flight and pacing; default the client's.
        progress: Called with a `JobReport` after each chunk is written, and
            once more at the end (also when stopped or cancelled).
        notify: Called with a sentence about something the caller may want
            to know (a resumed job, a cut torn line, a moved input).
        fsync: Sync the output to disk as results land (default).

    Returns:
        The final `JobReport`; ``complete`` is False when the job stopped
        because a chunk request failed after the client's retries (then
        ``stopped`` says why; run again to resume).

    Raises:
        InputFileException: the input cannot be read.
        OutputFileException: the output or its job record cannot be written.
        ResumeRefusedException: the output belongs to another job.
        InvalidArgumentException: an argument is out of range.
        LoopaiException: the task (or version) cannot be fetched (for
            example `NotFoundException`), before anything is sent.
    """
    job = _FileJob(
        client,
        _task_uuid(task_id),
        os.fspath(input),
        Path(os.fspath(output)),
        input_format=input_format,
        id_field=id_field,
        ordered=ordered,
        max_concurrency=max_concurrency,
        timeout_ms=timeout_ms,
        version=version,
        options=options,
        progress=progress,
        notify=notify,
        fsync=fsync,
    )
    return await job.run()


def _task_uuid(task_id: str | UUID) -> UUID:
    if isinstance(task_id, UUID):
        return task_id
    try:
        return UUID(str(task_id))
    except ValueError:
        raise InvalidArgumentException("task_id", f"must be a UUID, got {task_id!r}") from None


class _FileJob:
    """One run of a file job: its checks, its counters and its tasks."""

    def __init__(
        self,
        client: LoopaiClient,
        task_id: UUID,
        input: str,
        output: Path,
        *,
        input_format: str | None,
        id_field: str | None,
        ordered: bool,
        max_concurrency: int,
        timeout_ms: int | None,
        version: int | None,
        options: BatchOptions | None,
        progress: Callable[[JobReport], object] | None,
        notify: Callable[[str], object] | None,
        fsync: bool,
    ) -> None:
        self.client = client
        self.task_id = task_id
        self.input = input
        self.output = output
        self.format_given = input_format
        self.id_field = id_field
        self.ordered = ordered
        self.max_concurrency = max_concurrency
        self.timeout_ms = timeout_ms
        self.version = version
        self.options = options
        self.progress = progress
        self.notify = notify or (lambda _: None)
        self.fsync = fsync
        self.total: int | None = None
        self.earlier = 0
        self.succeeded = 0
        self.failures: Counter[str] = Counter()
        self.sent = 0
        self.started = 0.0
        self.stopped: str | None = None
        self.complete = False
        self._pending: dict[int, tuple[int, str]] = {}  # position in the stream -> (line, id)
        self._next_position = 0
        self._bad_lines: deque[BadLine] = deque()  # ordered mode: waiting for earlier results
        self._emitted = 0  # results the runner has delivered (from its progress reports)
        self._received = 0
        self._writer: OutputWriter | None = None
        self._reader: InputReader | None = None
        self._sync_error: OSError | None = None
        self._stream_scope: anyio.CancelScope | None = None

    # --- the whole run ---------------------------------------------------------------------

    async def run(self) -> JobReport:
        reader, record = await self._open_input()
        try:
            fd, created = self._open_output()
            try:
                plan = await self._prepare(reader, record, fd)
            except BaseException:
                os.close(fd)
                if created:
                    self.output.unlink(missing_ok=True)
                raise
            try:
                return await self._run(reader, fd, plan)
            finally:
                os.close(fd)
        finally:
            reader.close()

    async def _open_input(self) -> tuple[InputReader, JobRecord]:
        try:
            fmt = input_format(self.input, self.format_given)
            # Abandoned on cancel: reading stdin's first MiB may wait for a writer that never comes.
            reader = await anyio.to_thread.run_sync(
                open_input, self.input, fmt, self.id_field, abandon_on_cancel=True
            )
        except InputProblemError as exc:
            raise InputFileException(str(exc)) from None
        try:
            await anyio.to_thread.run_sync(reader.prepare)
        except InputProblemError as exc:
            reader.close()
            raise InputFileException(str(exc)) from None
        except BaseException:
            reader.close()
            raise
        record = JobRecord(
            task_id=str(self.task_id),
            input_format=fmt,
            id_field=self.id_field,
            version=self.version,
            input=reader.fingerprint,
        )
        return reader, record

    def _open_output(self) -> tuple[int, bool]:
        created = not self.output.exists()
        try:
            if self.output.is_dir():
                raise IsADirectoryError(21, "Is a directory")
            fd = os.open(self.output, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputFileException(
                f"cannot write the output {str(self.output)!r}: {exc.strerror or exc}"
            ) from None
        if not _lock(fd):
            os.close(fd)
            raise OutputFileException(
                f"another process is writing {str(self.output)!r} (a job still running?)"
            )
        return fd, created

    async def _prepare(self, reader: InputReader, record: JobRecord, fd: int) -> ResumePlan:
        sidecar = record_path(self.output)
        try:
            saved = read_record(sidecar)
        except OSError as exc:
            raise OutputFileException(
                f"cannot read the job record {str(sidecar)!r}: {exc.strerror}"
            ) from None
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise OutputFileException(f"{str(sidecar)!r} is not a loopai job record: {exc}") from None
        size = os.fstat(fd).st_size
        if size == 0:
            saved = None  # an empty output resumes nothing: a stale record is replaced
        if saved is None and size > 0:
            raise ResumeRefusedException(
                f"{str(self.output)!r} exists and is not the output of a loopai job"
                f" (there is no {sidecar.name}); remove it or choose another output"
            )
        if saved is not None:
            reason = refusal(saved, record)
            if reason is not None:
                raise ResumeRefusedException(f"cannot resume {str(self.output)!r}: {reason}")
        # The task (and version) must exist: a wrong id would otherwise fill the output with failures.
        await self.client.get_task(self.task_id)
        if self.version is not None:
            await self.client.get_artifact(self.task_id, self.version)
        try:
            plan = await anyio.to_thread.run_sync(_scan, fd)
        except DamagedOutputError as exc:
            raise ResumeRefusedException(f"cannot resume {str(self.output)!r}: {exc}") from None
        try:
            if plan.cut_bytes:
                os.ftruncate(fd, plan.keep_bytes)
                self.notify(f"cut a torn last line ({plan.cut_bytes:,} bytes) from {str(self.output)!r}")
            os.lseek(fd, 0, os.SEEK_END)
            if saved is None:
                await anyio.to_thread.run_sync(write_record, sidecar, record)
        except OSError as exc:
            raise OutputFileException(f"cannot write {str(sidecar)!r}: {exc.strerror or exc}") from None
        if saved is not None:
            for note in notes(saved, record):
                self.notify(note)
        if len(plan.done):
            self.notify(f"resuming {str(self.output)!r}: {len(plan.done):,} lines already done")
        return plan

    async def _run(self, reader: InputReader, fd: int, plan: ResumePlan) -> JobReport:
        self.earlier = len(plan.done)
        self.succeeded = plan.succeeded
        self.failures = Counter(plan.failures)
        self.started = anyio.current_time()
        self._writer = OutputWriter(fd, fsync=self.fsync)
        reader.start(plan.done)
        self._reader = reader
        try:
            await self._run_tasks(reader)
        except anyio.get_cancelled_exc_class():
            if self.stopped is None:
                self.stopped = "cancelled"
            raise
        except BaseException as exc:
            if self.stopped is None:
                self.stopped = f"the job failed: {type(exc).__name__}: {exc}"
            raise
        finally:
            final = self._finish()  # no await in it: it runs to the end even when cancelled
        return final

    async def _run_tasks(self, reader: InputReader) -> None:
        """The stream, and beside it the disk syncer and the line counter; errors raised as themselves."""
        assert self._writer is not None
        error: Exception | None = None
        async with anyio.create_task_group() as group:
            if self.fsync:
                group.start_soon(self._sync_forever)
            if reader.regular:
                group.start_soon(self._count_total, reader.format)
            try:
                await self._stream()
            except Exception as exc:  # not wrapped in a group of one
                error = exc
            group.cancel_scope.cancel()
        error = error or self._sync_error
        if error is not None:
            raise error

    def _finish(self) -> JobReport:
        assert self._writer is not None
        if self.stopped is None:
            while self._bad_lines:
                self._write_bad(self._bad_lines.popleft())
            self.complete = True
        try:
            self._writer.sync()
        finally:
            final = self.report()
            if self.progress is not None:
                self.progress(final)
        return final

    async def _count_total(self, fmt: str) -> None:
        try:
            total = await anyio.to_thread.run_sync(count_lines, self.input, fmt, abandon_on_cancel=True)
        except OSError:  # the total is for the display only
            return
        if self.total is None:
            self.total = total

    async def _sync_forever(self) -> None:
        assert self._writer is not None
        try:
            await self._writer.sync_forever()
        except OSError as exc:  # the disk failed: stop the job, and say why
            self._sync_error = exc
            self.stopped = f"the output cannot be synced to disk: {exc}"
            if self._stream_scope is not None:
                self._stream_scope.cancel()

    # --- streaming ---------------------------------------------------------------------------

    async def _stream(self) -> None:
        with anyio.CancelScope() as self._stream_scope:
            await self._stream_results()

    async def _stream_results(self) -> None:
        # The runner does not close an async iterable it is given; closing it here keeps trio happy.
        async with (
            aclosing(self._inputs()) as inputs,
            self.client.stream_batch(
                self.task_id,
                inputs,
                ordered=self.ordered,
                max_concurrency=self.max_concurrency,
                timeout_ms=self.timeout_ms,
                version=self.version,
                options=self.options,
                progress=self._on_chunk,
            ) as results,
        ):
            async for result in results:
                failed_request = request_failure(result.success, result.execution_id, result.error_message)
                if failed_request is not None:
                    self.stopped = f"a chunk request failed after retries: {result.error_message}"
                    return
                self._write_result(result)

    async def _inputs(self) -> AsyncGenerator[dict[str, Any], None]:
        reader = self._reader
        assert reader is not None
        while True:
            batch = await anyio.to_thread.run_sync(reader.next_batch, abandon_on_cancel=True)
            if not batch:
                break
            for line, parsed in batch:
                if isinstance(parsed, BadLine):
                    if self.ordered:
                        self._bad_lines.append(parsed)
                    else:
                        self._write_bad(parsed)
                    continue
                assert parsed is not None
                self._pending[self._next_position] = (line, parsed.id)
                self._next_position += 1
                self.sent += 1
                yield parsed.input
        if not reader.regular:
            self.total = reader.content_lines

    def _on_chunk(self, progress: BatchProgress) -> None:
        # The runner reports a chunk after handing it over: if it is all written already, flush now.
        self._emitted = progress.done
        if self._received == self._emitted:
            self._flush_chunk()

    def _flush_chunk(self) -> None:
        """Every result delivered so far is written: make them durable, and report."""
        assert self._writer is not None
        self._writer.flush()
        self._report_progress()

    def _write_result(self, result: BatchExecuteResult) -> None:
        assert self._writer is not None
        line, ident = self._pending.pop(int(result.id))
        while self._bad_lines and self._bad_lines[0].line < line:
            self._write_bad(self._bad_lines.popleft())
        self._writer.add(
            OutputLine(
                id=ident,
                line=line,
                success=result.success,
                output=result.output,
                error_message=result.error_message,
                latency_ms=result.latency_ms,
                execution_id=result.execution_id,
            )
        )
        if result.success:
            self.succeeded += 1
        else:
            self.failures[failure_kind(result.execution_id, result.error_message)] += 1
        self._received += 1
        if self._received == self._emitted:  # the chunk is all written: make it durable
            self._flush_chunk()

    def _write_bad(self, bad: BadLine) -> None:
        assert self._writer is not None
        self._writer.add(
            OutputLine(
                id=bad.id,
                line=bad.line,
                success=False,
                output=None,
                error_message=bad.message,
                latency_ms=0.0,
                execution_id=None,
            )
        )
        self.failures[BAD_INPUT] += 1
        if self._writer.queued >= 1000:
            self._writer.flush()

    # --- reports -----------------------------------------------------------------------------

    def report(self) -> JobReport:
        """The job's state now."""
        return JobReport(
            output=str(self.output),
            total=self.total,
            earlier=self.earlier,
            succeeded=self.succeeded,
            failed=sum(self.failures.values()),
            failures=dict(self.failures),
            sent=self.sent,
            elapsed=anyio.current_time() - self.started,
            stopped=self.stopped,
            complete=self.complete,
        )

    def _report_progress(self) -> None:
        if self.progress is not None:
            self.progress(self.report())


def _scan(fd: int) -> ResumePlan:
    """Read the output from its start and plan the resume (in a worker thread)."""
    scanner = OutputScanner()
    os.lseek(fd, 0, os.SEEK_SET)
    while block := os.read(fd, _SCAN_BLOCK):
        scanner.feed(block)
    return scanner.finish()


def _lock(fd: int) -> bool:
    """Take an exclusive advisory lock on the output; False if another process holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
