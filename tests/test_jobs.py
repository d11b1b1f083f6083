"""`loopai.jobs.run_file` against the local server: durable, resumable, on asyncio and trio."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from loopai import BatchException, BatchOptions, LoopaiClient, NotFoundException, Task
from loopai.jobs import (
    InputFileException,
    JobReport,
    OutputFileException,
    ResumeRefusedException,
    record_path,
    run_file,
)
from loopai.testing import Fault, LocalServer

from .conftest import SPAM_TASK

BATCH_ROUTE = "/api/v1/batch/execute"
SMALL = BatchOptions(chunk_size=10, concurrency=2)


def text_of(n: int) -> str:
    return f"free money {n}" if n % 3 == 0 else f"hello {n}"


def label_of(n: int) -> str:
    return "spam" if n % 3 == 0 else "not_spam"


def write_jsonl(path: Path, count: int) -> None:
    path.write_text("".join(json.dumps({"text": text_of(n)}) + "\n" for n in range(1, count + 1)))


def read_output(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def items_sent(server: LocalServer) -> int:
    return sum(len(json.loads(r.body)["items"]) for r in server.requests_to(BATCH_ROUTE))


async def test_every_line_gets_one_result_and_bad_lines_name_their_number(
    loopai_server: LocalServer, loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """Good lines are sent and answered, blank ones skipped, bad ones become failed lines; none sent twice."""
    source = tmp_path / "in.jsonl"
    lines = [json.dumps({"text": text_of(n)}) for n in range(1, 26)]
    lines[4] = "{not json"
    lines[9] = "[1, 2]"
    lines[14] = ""
    source.write_text("\n".join(lines) + "\n")
    output = tmp_path / "out.jsonl"
    reports: list[JobReport] = []
    report = await run_file(
        loopai_client, spam_task.id, source, output, options=SMALL, progress=reports.append
    )
    results = {r["line"]: r for r in read_output(output)}
    assert len(read_output(output)) == 24 == len(results)
    assert set(results) == set(range(1, 26)) - {15}
    assert results[5]["success"] is False
    assert results[5]["error_message"].startswith("line 5: invalid JSON")
    assert results[10]["error_message"] == "line 10: not a JSON object (an array)"
    for line, result in results.items():
        assert result["id"] == str(line)
        assert set(result) == {
            "id",
            "line",
            "success",
            "output",
            "error_message",
            "latency_ms",
            "execution_id",
        }
        if line not in (5, 10):
            assert result["success"] is True, result
            assert result["output"] == label_of(line)
            assert result["execution_id"]
    assert items_sent(loopai_server) == 22
    assert (report.total, report.succeeded, report.failed, report.complete) == (24, 22, 2, True)
    assert report.failures == {"invalid input line": 2}
    assert reports[-1] == report
    assert record_path(output).is_file()


async def test_ordered_output_follows_the_input_with_bad_lines_in_place(
    loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """With ordered=True the output's line numbers ascend, bad lines included."""
    source = tmp_path / "in.jsonl"
    lines = [json.dumps({"text": text_of(n)}) if n % 7 else "oops" for n in range(1, 60)]
    source.write_text("\n".join(lines) + "\n")
    output = tmp_path / "out.jsonl"
    options = BatchOptions(chunk_size=4, concurrency=3)
    await run_file(loopai_client, spam_task.id, source, output, ordered=True, options=options)
    numbers = [r["line"] for r in read_output(output)]
    assert numbers == list(range(1, 60))


async def test_csv_input_with_an_id_field(
    loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """CSV records keep their first physical line number; ids come from the named column."""
    source = tmp_path / "in.csv"
    source.write_text('key,text\nk1,free money\nk2,"see you\nat 2pm"\n\nk3\nk4,hello\n', encoding="utf-8")
    output = tmp_path / "out.jsonl"
    report = await run_file(loopai_client, spam_task.id, source, output, id_field="key")
    results = {r["id"]: r for r in read_output(output)}
    assert results["k1"]["line"] == 2
    assert results["k1"]["output"] == "spam"
    assert results["k2"]["line"] == 3
    assert results["k2"]["output"] == "not_spam"
    assert results["6"]["error_message"] == "line 6: 1 fields, the header has 2"
    assert results["k4"]["line"] == 7
    assert (report.succeeded, report.failed) == (3, 1)


async def test_a_csv_header_without_the_id_field_fails_before_sending(
    loopai_server: LocalServer, loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """The header is checked first; nothing is sent and no output is left behind."""
    source = tmp_path / "in.csv"
    source.write_text("text\nhello\n")
    output = tmp_path / "out.jsonl"
    with pytest.raises(InputFileException, match="no 'key' field"):
        await run_file(loopai_client, spam_task.id, source, output, id_field="key")
    assert not output.exists()
    assert loopai_server.requests_to(BATCH_ROUTE) == []


async def test_a_torn_output_resumes_sending_only_the_missing_lines(
    loopai_server: LocalServer, loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """A crash's torn last line is cut; lines already there are not sent again; each line ends up once."""
    source = tmp_path / "in.jsonl"
    write_jsonl(source, 100)
    output = tmp_path / "out.jsonl"
    await run_file(loopai_client, spam_task.id, source, output, options=SMALL)
    kept = output.read_bytes().splitlines(keepends=True)
    output.write_bytes(b"".join(kept[:37]) + kept[37][:25])  # 37 whole lines and a torn one
    loopai_server.reset_records()
    notes: list[str] = []
    report = await run_file(loopai_client, spam_task.id, source, output, options=SMALL, notify=notes.append)
    assert items_sent(loopai_server) == 63
    results = read_output(output)
    assert sorted(r["line"] for r in results) == list(range(1, 101))
    assert all(r["output"] == label_of(r["line"]) for r in results)
    assert (report.earlier, report.succeeded, report.complete) == (37, 100, True)
    assert any("torn" in note for note in notes)
    assert any("37 lines already done" in note for note in notes)


async def test_resuming_with_another_input_task_or_id_field_is_refused(
    loopai_server: LocalServer, loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """Each mismatch is refused with its reason, before anything is sent, and the output is untouched."""
    source = tmp_path / "in.jsonl"
    write_jsonl(source, 20)
    output = tmp_path / "out.jsonl"
    await run_file(loopai_client, spam_task.id, source, output)
    before = output.read_bytes()
    other = tmp_path / "other.jsonl"
    write_jsonl(other, 21)
    other_task = await loopai_client.create_task(**{**SPAM_TASK, "name": "other-task"})
    loopai_server.reset_records()
    with pytest.raises(ResumeRefusedException, match="a different input"):
        await run_file(loopai_client, spam_task.id, other, output)
    with pytest.raises(ResumeRefusedException, match="results of task"):
        await run_file(loopai_client, other_task.id, source, output)
    with pytest.raises(ResumeRefusedException, match="--id-field"):
        await run_file(loopai_client, spam_task.id, source, output, id_field="text")
    stranger = tmp_path / "stranger.jsonl"
    stranger.write_text('{"x": 1}\n')
    with pytest.raises(ResumeRefusedException, match="not the output of a loopai job"):
        await run_file(loopai_client, spam_task.id, source, stranger)
    assert output.read_bytes() == before
    assert loopai_server.requests_to(BATCH_ROUTE) == []


async def test_unreadable_input_or_unwritable_output_fails_before_sending(
    loopai_server: LocalServer, loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """A missing input, an output in a missing folder or on a folder: errors, nothing sent."""
    source = tmp_path / "in.jsonl"
    write_jsonl(source, 3)
    loopai_server.reset_records()
    with pytest.raises(InputFileException, match="No such file"):
        await run_file(loopai_client, spam_task.id, tmp_path / "missing.jsonl", tmp_path / "out.jsonl")
    with pytest.raises(OutputFileException, match="No such file"):
        await run_file(loopai_client, spam_task.id, source, tmp_path / "no" / "out.jsonl")
    with pytest.raises(OutputFileException, match="directory"):
        await run_file(loopai_client, spam_task.id, source, tmp_path)
    assert loopai_server.requests == []
    assert not (tmp_path / "out.jsonl").exists()


async def test_an_unknown_task_fails_before_any_output(
    loopai_server: LocalServer, loopai_client: LoopaiClient, tmp_path: Path
) -> None:
    """The task is fetched first: a wrong id does not fill the output with failures."""
    source = tmp_path / "in.jsonl"
    write_jsonl(source, 3)
    with pytest.raises(NotFoundException):
        await run_file(loopai_client, "00000000-0000-0000-0000-000000000001", source, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()
    assert loopai_server.requests_to(BATCH_ROUTE) == []


async def test_a_failed_chunk_request_stops_the_job_and_a_rerun_completes_it(
    loopai_server: LocalServer, loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """After retries run out the job stops with whole lines on disk; that chunk's items are not recorded."""
    source = tmp_path / "in.jsonl"
    write_jsonl(source, 50)
    output = tmp_path / "out.jsonl"
    options = BatchOptions(chunk_size=10, concurrency=1)

    def break_the_server(report: JobReport) -> None:
        if report.done == 10 and not loopai_server.faults.rules:
            loopai_server.faults.add(Fault("status", route=BATCH_ROUTE, status=503, times=4))

    report = await run_file(
        loopai_client, spam_task.id, source, output, options=options, progress=break_the_server
    )
    assert not report.complete
    assert report.stopped is not None
    assert "503" in report.stopped
    written = read_output(output)
    assert 10 <= len(written) < 50
    assert all(r["success"] for r in written)
    report = await run_file(loopai_client, spam_task.id, source, output, options=options)
    assert report.complete
    assert sorted(r["line"] for r in read_output(output)) == list(range(1, 51))


async def test_a_cancelled_job_leaves_whole_lines_and_resumes(
    loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """Cancelling (what Ctrl-C does) reports "cancelled" once more and leaves only whole result lines."""
    source = tmp_path / "in.jsonl"
    write_jsonl(source, 200)
    output = tmp_path / "out.jsonl"
    reports: list[JobReport] = []
    with anyio.CancelScope() as scope:

        def cancel_after_a_chunk(report: JobReport) -> None:
            reports.append(report)
            if report.done >= 10:
                scope.cancel()

        await run_file(
            loopai_client, spam_task.id, source, output, options=SMALL, progress=cancel_after_a_chunk
        )
    assert reports[-1].stopped == "cancelled"
    assert not reports[-1].complete
    data = output.read_bytes()
    assert data.endswith(b"\n")
    for line in data.splitlines():
        msgspec.json.decode(line)
    report = await run_file(loopai_client, spam_task.id, source, output, options=SMALL)
    assert report.complete
    assert sorted(r["line"] for r in read_output(output)) == list(range(1, 201))


async def test_an_output_another_process_writes_is_refused(
    loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """Two jobs never write one output: the second finds it locked and stops before sending."""
    fcntl = pytest.importorskip("fcntl")
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, 3)
    with output.open("wb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(OutputFileException, match="another process is writing"):
            await run_file(loopai_client, spam_task.id, source, output)


async def test_a_deleted_output_starts_afresh_whatever_its_old_record_says(
    loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """A job record next to a missing or empty output is stale: it is replaced, not a reason to refuse."""
    first, second, output = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "out.jsonl"
    write_jsonl(first, 3)
    write_jsonl(second, 5)
    await run_file(loopai_client, spam_task.id, first, output)
    output.unlink()
    report = await run_file(loopai_client, spam_task.id, second, output)
    assert (report.succeeded, report.earlier) == (5, 0)
    assert json.loads(record_path(output).read_text())["input"]["path"] == str(second.resolve())


async def test_an_error_in_the_callers_code_is_raised_as_itself_with_whole_lines_on_disk(
    loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """A progress callback that raises stops the job; the error is not wrapped in an exception group."""
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(source, 100)

    def explode(report: JobReport) -> None:
        if report.done and not report.stopped:
            raise ZeroDivisionError("from the callback")

    with pytest.raises((ZeroDivisionError, BatchException)) as caught:
        await run_file(loopai_client, spam_task.id, source, output, options=SMALL, progress=explode)
    assert "from the callback" in str(caught.value)
    assert output.read_bytes().endswith(b"\n")
    report = await run_file(loopai_client, spam_task.id, source, output, options=SMALL)
    assert report.complete
    assert sorted(r["line"] for r in read_output(output)) == list(range(1, 101))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
async def test_a_named_pipe_is_read_once_and_checked_by_its_first_mib(
    loopai_server: LocalServer, loopai_client: LoopaiClient, spam_task: Task, tmp_path: Path
) -> None:
    """A pipe (as from `<(zcat ...)`) is not counted ahead or seeked; a rerun with the same data resumes."""
    fifo, output = tmp_path / "in.fifo", tmp_path / "out.jsonl"
    os.mkfifo(fifo)
    data = "".join(json.dumps({"text": text_of(n)}) + "\n" for n in range(1, 41)).encode()

    async def run_with_writer() -> JobReport:
        reports: list[JobReport] = []
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, fifo.write_bytes, data)
            reports.append(await run_file(loopai_client, spam_task.id, fifo, output, options=SMALL))
        return reports[0]

    report = await run_with_writer()
    assert (report.total, report.succeeded, report.complete) == (40, 40, True)
    assert json.loads(record_path(output).read_text())["input"]["size"] is None
    loopai_server.reset_records()
    report = await run_with_writer()
    assert (report.earlier, report.complete) == (40, True)
    assert items_sent(loopai_server) == 0
