"""The file job's pure parts, without I/O: lines, the job record, the resume scan, failures, statuses."""

from __future__ import annotations

import argparse
import json
import uuid
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopai import (
    BatchException,
    ConflictException,
    ConnectionException,
    ExecutionException,
    InvalidArgumentException,
    NotFoundException,
    RateLimitException,
    ServerException,
    TimeoutException,
    ValidationException,
)
from loopai._cli import _status
from loopai._cli._progress import status_line, summary_lines
from loopai._cli._tasks import SpecError, task_fields
from loopai._jobs._failures import BAD_INPUT, PROGRAM_ERROR, REFUSED, failure_kind, request_failure
from loopai._jobs._lines import BadLine, Item, check_header, item_id, parse_csv_row, parse_json_line
from loopai._jobs._record import Fingerprint, JobRecord, notes, refusal
from loopai._jobs._report import JobReport
from loopai._jobs._resume import DamagedOutputError, LineSet, OutputScanner
from loopai.jobs import InputFileException, ResumeRefusedException

# --- lines ---------------------------------------------------------------------------------------


def test_a_json_object_line_is_an_item_with_its_line_number_as_id() -> None:
    """Ids are 1-based line numbers unless an id field is named."""
    assert parse_json_line(b'{"text": "hi"}\n', 7) == Item(7, "7", {"text": "hi"})


def test_blank_lines_are_skipped() -> None:
    """Blank and whitespace-only lines parse to None."""
    assert parse_json_line(b"\n", 3) is None
    assert parse_json_line(b"  \r\n", 3) is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"{bad\n", "line 4: invalid JSON"),
        (b"[1, 2]\n", "line 4: not a JSON object (an array)"),
        (b'"text"\n', "line 4: not a JSON object (a string)"),
        (b"12\n", "line 4: not a JSON object (a number)"),
        (b"\xff\xfe{}\n", "line 4: invalid JSON"),
    ],
)
def test_a_bad_line_names_its_number_and_problem(raw: bytes, problem: str) -> None:
    """Invalid JSON and non-objects become BadLine results, never items."""
    parsed = parse_json_line(raw, 4)
    assert isinstance(parsed, BadLine)
    assert parsed.message.startswith(problem)
    assert parsed.id == "4"


def test_a_utf8_bom_on_the_first_line_is_ignored() -> None:
    """Files saved by editors that write a BOM still parse."""
    assert parse_json_line(b'\xef\xbb\xbf{"a": 1}\n', 1) == Item(1, "1", {"a": 1})


def test_the_id_field_gives_the_id_and_leaves_the_input() -> None:
    """--id-field takes the id from the object and removes it from the input."""
    assert parse_json_line(b'{"key": "a-1", "text": "x"}', 2, "key") == Item(2, "a-1", {"text": "x"})
    assert parse_json_line(b'{"key": 42, "text": "x"}', 2, "key") == Item(2, "42", {"text": "x"})
    missing = parse_json_line(b'{"text": "x"}', 2, "key")
    assert isinstance(missing, BadLine)
    assert "no 'key' field" in missing.message
    wrong = parse_json_line(b'{"key": true}', 2, "key")
    assert isinstance(wrong, BadLine)
    assert "non-empty string or an integer" in wrong.message


def test_item_ids_are_strings_or_integers() -> None:
    """Booleans, empty strings and other values are refused as ids."""
    assert item_id("x") == "x"
    assert item_id(5) == "5"
    assert item_id("") is None
    assert item_id(True) is None
    assert item_id(1.5) is None


def test_csv_rows_become_string_inputs() -> None:
    """A CSV record maps the header's names to its values."""
    header = ["id", "text"]
    assert parse_csv_row(["a", "hi"], header, 2, "id") == Item(2, "a", {"text": "hi"})
    assert parse_csv_row([], header, 3) is None
    short = parse_csv_row(["only"], header, 4)
    assert isinstance(short, BadLine)
    assert short.message == "line 4: 1 fields, the header has 2"
    undecodable = parse_csv_row(["a", "\udcff"], header, 5)
    assert isinstance(undecodable, BadLine)
    assert "UTF-8" in undecodable.message


def test_csv_headers_are_checked_before_the_job() -> None:
    """An empty header, a repeated name or a missing id field is reported."""
    assert check_header(["a", "b"], None) is None
    assert check_header([], None) is not None
    assert "twice" in str(check_header(["a", "a"], None))
    assert "'id'" in str(check_header(["a"], "id"))


# --- the job record --------------------------------------------------------------------------------


def _record(**changes: object) -> JobRecord:
    fields: dict[str, object] = {
        "task_id": "6f1c0a9e-3c55-4b0a-9d7e-2f4a1c3b5d7e",
        "input_format": "jsonl",
        "id_field": None,
        "version": None,
        "input": Fingerprint(path="/data/in.jsonl", size=100, mtime_ns=1, head_sha256="h", tail_sha256="t"),
    }
    fields.update(changes)
    return JobRecord(**fields)  # type: ignore[arg-type]


def _fingerprint(**changes: object) -> Fingerprint:
    fields: dict[str, object] = {
        "path": "/data/in.jsonl",
        "size": 100,
        "mtime_ns": 1,
        "head_sha256": "h",
        "tail_sha256": "t",
    }
    fields.update(changes)
    return Fingerprint(**fields)  # type: ignore[arg-type]


def test_the_same_job_resumes() -> None:
    """An identical record is no reason to refuse, and has nothing to note."""
    assert refusal(_record(), _record()) is None
    assert notes(_record(), _record()) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"task_id": "00000000-0000-0000-0000-000000000000"}, "results of task"),
        ({"input_format": "csv"}, "made from JSONL input; this run reads CSV"),
        ({"id_field": "key"}, "line numbers as ids; this run uses --id-field key"),
        ({"version": 2}, "asks for version 2"),
        ({"input": _fingerprint(size=101)}, "had 100 bytes"),
        ({"input": _fingerprint(head_sha256="x")}, "first MiB"),
        ({"input": _fingerprint(tail_sha256="x")}, "last MiB"),
    ],
)
def test_another_task_or_input_is_refused_with_the_reason(changes: dict[str, object], reason: str) -> None:
    """Each difference that changes what a line's result means is named."""
    assert reason in str(refusal(_record(), _record(**changes)))


def test_a_moved_or_touched_input_with_the_same_content_resumes_with_a_note() -> None:
    """Path and mtime are noted, not refused: the size and sampled content decide."""
    moved = _record(input=_fingerprint(path="/elsewhere/in.jsonl"))
    assert refusal(_record(), moved) is None
    assert "matches its size" in notes(_record(), moved)[0]
    touched = _record(input=_fingerprint(mtime_ns=2))
    assert "modified" in notes(_record(), touched)[0]


def test_stdin_is_checked_by_its_first_mib() -> None:
    """A stdin job has no size or tail; the head digest still tells inputs apart."""
    stdin = _fingerprint(path="-", size=None, mtime_ns=None, tail_sha256=None)
    assert refusal(_record(input=stdin), _record(input=stdin)) is None
    assert refusal(_record(input=stdin), _record(input=_fingerprint(head_sha256="other"))) is not None


# --- the resume scan ------------------------------------------------------------------------------------


def _result(line: int, *, success: bool = True, message: str | None = None, execution: bool = True) -> bytes:
    return (
        json.dumps(
            {
                "id": str(line),
                "line": line,
                "success": success,
                "output": "spam" if success else None,
                "error_message": message,
                "latency_ms": 0.1,
                "execution_id": str(uuid.UUID(int=line)) if execution else None,
            }
        ).encode()
        + b"\n"
    )


def _scan(data: bytes, block: int = 7) -> OutputScanner:
    scanner = OutputScanner()
    for start in range(0, len(data), block):
        scanner.feed(data[start : start + block])
    return scanner


def test_the_scan_finds_done_lines_and_counts_by_kind() -> None:
    """Every result line's number is done; failures are counted by kind."""
    data = (
        _result(1)
        + _result(3, success=False, message="boom", execution=True)
        + _result(4, success=False, message="line 4: invalid JSON: x", execution=False)
        + _result(5, success=False, message="text: is required", execution=False)
    )
    plan = _scan(data).finish()
    assert [n for n in range(7) if n in plan.done] == [1, 3, 4, 5]
    assert plan.succeeded == 1
    assert plan.failures == Counter({PROGRAM_ERROR: 1, BAD_INPUT: 1, REFUSED: 1})
    assert plan.keep_bytes == plan.size == len(data)


def test_a_torn_last_line_is_cut() -> None:
    """A line without its newline (killed mid-write) is not done and is cut off."""
    whole = _result(1) + _result(2)
    plan = _scan(whole + _result(3)[:20]).finish()
    assert 3 not in plan.done
    assert plan.keep_bytes == len(whole)
    assert plan.cut_bytes == 20


def test_trailing_garbage_is_cut() -> None:
    """Zeros or junk after the last result (a lost machine) are cut, with their newlines."""
    whole = _result(1)
    plan = _scan(whole + b"\x00\x00\x00\n\x00\x00").finish()
    assert plan.keep_bytes == len(whole)
    assert len(plan.done) == 1


def test_a_broken_line_followed_by_results_is_damage() -> None:
    """Garbage in the middle is not a crash's trace: the scan refuses."""
    with pytest.raises(DamagedOutputError, match="output line 2"):
        _scan(_result(1) + b"not json\n" + _result(3)).finish()


def test_duplicate_lines_count_once() -> None:
    """A line number seen twice is counted once."""
    plan = _scan(_result(1) + _result(1)).finish()
    assert plan.succeeded == 1
    assert plan.duplicates == 1


@given(st.lists(st.integers(min_value=1, max_value=5000)))
def test_lineset_is_a_set_of_line_numbers(lines: list[int]) -> None:
    """The bitmap agrees with a set, and takes an eighth of a byte per line."""
    bitmap = LineSet()
    reference: set[int] = set()
    for line in lines:
        assert bitmap.add(line) == (line not in reference)
        reference.add(line)
    assert len(bitmap) == len(reference)
    assert all(n in bitmap for n in reference)
    assert not any(n in bitmap for n in range(5001) if n not in reference)
    assert bitmap.nbytes <= 2 * (max(lines, default=0) // 8 + 1)


# --- failures -----------------------------------------------------------------------------------------


def test_a_failed_chunk_request_is_told_apart_from_an_item_failure() -> None:
    """Only the runner's chunk-request failures stop the job; the exception's name is kept."""
    message = "the chunk request failed: ServerException: 503 SERVICE_UNAVAILABLE"
    assert request_failure(success=False, execution_id=None, error_message=message) == "ServerException"
    assert request_failure(success=False, execution_id=uuid.uuid4(), error_message=message) is None
    assert request_failure(success=False, execution_id=None, error_message="Version not found") is None
    assert request_failure(success=True, execution_id=None, error_message=None) is None
    assert failure_kind(None, message) == "request failed (ServerException)"
    assert failure_kind(uuid.uuid4(), "Execution timed out") == "program timeout"
    assert failure_kind(None, "not sent: the item exceeds the server's body limit") == "too large to send"


# --- exit statuses and messages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidArgumentException("x", "bad"), _status.USAGE),
        (InputFileException("cannot read"), _status.USAGE),
        (ResumeRefusedException("other input"), _status.USAGE),
        (ValidationException("bad", status_code=400), _status.INVALID_REQUEST),
        (NotFoundException("gone", status_code=404), _status.NOT_FOUND),
        (ConflictException("taken", status_code=409), _status.CONFLICT),
        (RateLimitException("slow down", status_code=429), _status.RATE_LIMITED),
        (ConnectionException("refused"), _status.UNREACHABLE),
        (TimeoutException("slow"), _status.UNREACHABLE),
        (ServerException("oops", status_code=503), _status.SERVER_ERROR),
        (ExecutionException("failed", execution_id=uuid.uuid4()), _status.ITEMS_FAILED),
        (BatchException("stopped"), _status.JOB_STOPPED),
        (KeyboardInterrupt(), _status.INTERRUPTED),
    ],
)
def test_each_kind_of_failure_has_its_exit_status(error: BaseException, status: int) -> None:
    """The documented table, one row per kind."""
    assert _status.status_for(error) == status
    assert any(code == status for code, _ in _status.STATUSES)


def test_the_status_table_is_in_the_help_epilog() -> None:
    """Every status appears in the epilog that each command's help shows."""
    text = _status.epilog()
    flat = " ".join(text.split())
    for code, meaning in _status.STATUSES:
        assert f"{code} {meaning}" in flat
    assert max(len(line) for line in text.splitlines()) <= 78


def _report(**changes: object) -> JobReport:
    fields: dict[str, object] = {
        "output": "out.jsonl",
        "total": 10,
        "earlier": 0,
        "succeeded": 10,
        "failed": 0,
    }
    fields.update(changes)
    return JobReport(**fields)  # type: ignore[arg-type]


def test_a_batch_run_exits_by_how_it_ended() -> None:
    """0 all succeeded, 1 some failed, 3 stopped, 130 interrupted."""
    assert _status.batch_status(_report(complete=True)) == _status.OK
    assert _status.batch_status(_report(complete=True, succeeded=9, failed=1)) == _status.ITEMS_FAILED
    assert _status.batch_status(_report(stopped="a chunk request failed")) == _status.JOB_STOPPED
    assert _status.batch_status(_report(stopped="cancelled")) == _status.INTERRUPTED


def test_an_error_is_one_line_with_code_message_and_trace_id() -> None:
    """Status, code, message and trace id, on one line, however long the message."""
    error = NotFoundException(
        "Task x\nnot found", status_code=404, code="TASK_NOT_FOUND", trace_id="0HN:1", url="http://h/x"
    )
    assert _status.format_error(error) == "loopai: 404 TASK_NOT_FOUND: Task x not found (trace_id 0HN:1)"
    long = _status.format_error(ServerException("x" * 5000))
    assert "\n" not in long
    assert len(long) <= 500


def test_progress_and_summary_lines() -> None:
    """The status line shows done of total, failed, pace and ETA; the summary counts failures by kind."""
    report = _report(
        total=1000, succeeded=400, failed=100, failures={"program error": 60, BAD_INPUT: 40}, elapsed=10.0
    )
    assert status_line(report) == "loopai: 500/1,000 done (50.0%), 100 failed, 50 items/s, ETA 0:10"
    summary = summary_lines(report)
    assert summary[0].startswith("loopai: stopped") or summary[0].startswith("loopai: done")
    assert "100 failed (60 program error, 40 invalid input line)" in summary[0]
    assert summary[-1] == "loopai: run the same command again to resume"
    resumed = summary_lines(_report(earlier=4, complete=True))
    assert "4 from an earlier run" in resumed[1]
    assert "resume" not in resumed[-1]


# --- tasks create --------------------------------------------------------------------------------------


def _task_args(**flags: object) -> argparse.Namespace:
    names = ["name", "description", "input_schema", "output_schema", "example"]
    names += ["accuracy_target", "latency_target_ms", "sampling_rate"]
    values: dict[str, object] = dict.fromkeys(names)
    values.update(flags)
    return argparse.Namespace(**values)


def test_task_flags_override_the_spec() -> None:
    """A spec file gives the fields; flags replace them; JSON flags are parsed."""
    spec = {"name": "a", "description": "d", "input_schema": {}, "output_schema": {}}
    fields = task_fields(spec, _task_args(name="b", output_schema='{"type": "string"}', example=['{"x": 1}']))
    assert fields["name"] == "b"
    assert fields["output_schema"] == {"type": "string"}
    assert fields["examples"] == [{"x": 1}]


def test_task_specs_name_what_is_wrong() -> None:
    """Unknown fields, missing ones and bad JSON are usage errors with the field's name."""
    with pytest.raises(SpecError, match="unknown field"):
        task_fields({"nme": "x"}, _task_args())
    with pytest.raises(SpecError, match="missing description"):
        task_fields(None, _task_args(name="a", input_schema="{}", output_schema="{}"))
    with pytest.raises(SpecError, match="--input-schema is not valid JSON"):
        task_fields(None, _task_args(input_schema="{"))


def test_loopai_jobs_exports_a_sorted_complete_all() -> None:
    """loopai.jobs lists its public names, sorted, and its classes report loopai.jobs as their module."""
    import loopai.jobs

    names = loopai.jobs.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert {n for n in vars(loopai.jobs) if n[0] not in "_@"} - {"annotations"} <= set(names)
    for name in names:
        value = getattr(loopai.jobs, name)
        if isinstance(value, type):
            assert value.__module__ == "loopai.jobs"
    assert loopai.jobs.run_file.__doc__
