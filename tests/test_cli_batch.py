"""``loopai batch run`` as a subprocess against a local server.

Kill -9 and resume, stdin, CSV, bad lines, refusals, statuses, Ctrl-C.
"""

from __future__ import annotations

import json
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from loopai import LoopaiClient, Task
from loopai.testing import Fault, LocalServer, ServerQuirks

from .conftest import SPAM_TASK

BATCH_ROUTE = "/api/v1/batch/execute"
LOOPAI = [sys.executable, "-m", "loopai"]


def text_of(n: int) -> str:
    return f"free money {n}" if n % 3 == 0 else f"hello {n}"


def label_of(n: int) -> str:
    return "spam" if n % 3 == 0 else "not_spam"


def jsonl(count: int) -> bytes:
    return "".join(json.dumps({"text": text_of(n)}) + "\n" for n in range(1, count + 1)).encode()


def read_output(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def items_sent(server: LocalServer) -> int:
    return sum(len(body["items"]) for body in bodies(server))


def bodies(server: LocalServer) -> list[Any]:
    """The batch requests' bodies; a body cut short by the kill is left out (the server refused it)."""
    return [body for request in server.requests_to(BATCH_ROUTE) if (body := parsed(request.body)) is not None]


def parsed(body: bytes) -> Any:
    """A JSON body, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def lines_sent(server: LocalServer) -> Counter[int]:
    """How often each input line reached the server (its number is in its text)."""
    return Counter(
        int(item["input"]["text"].rsplit(" ", 1)[1]) for body in bodies(server) for item in body["items"]
    )


async def loopai(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run the command; its exit status, stdout and stderr."""
    with anyio.fail_after(60):
        done = await anyio.run_process([*LOOPAI, *args], input=stdin, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


@pytest.fixture
async def served() -> AsyncIterator[tuple[LocalServer, str, Task]]:
    """A quirk-free local server over TCP, its URL and the spam task on it."""
    server = LocalServer(seed=0, quirks=ServerQuirks.none())
    async with server.serve() as url, LoopaiClient(url) as client:
        task = await client.create_task(**SPAM_TASK)
        yield server, url, task


async def has_lines(path: anyio.Path, count: int) -> bool:
    """Whether ``path`` holds at least ``count`` whole lines (a result line is over 100 bytes)."""
    if not await path.exists() or (await path.stat()).st_size < 100 * count:
        return False
    return (await path.read_bytes()).count(b"\n") >= count


async def wait_for_lines(path: Path, count: int) -> None:
    """Wait until the output has grown to ``count`` whole lines."""
    # Another process writes the file: there is no event to wait on, so its size is polled.
    while not await has_lines(anyio.Path(path), count):  # noqa: ASYNC110
        await anyio.sleep(0.01)


async def test_a_job_killed_with_sigkill_resumes_with_every_line_exactly_once(
    served: tuple[LocalServer, str, Task], tmp_path: Path, anyio_backend: str
) -> None:
    """100,000 lines, kill -9 part-way, rerun: each line once, right outputs, only in-flight items rerun."""
    server, url, task = served
    lines, chunk, concurrency = 100_000, 1000, 4
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_bytes(jsonl(lines))
    command = [*LOOPAI, "batch", "run", str(task.id), str(source), "-o", str(output), "--quiet"]
    command += ["--base-url", url, "--backend", anyio_backend, "--chunk-size", str(chunk)]
    command += ["--concurrency", str(concurrency)]
    process = await anyio.open_process(command)
    try:
        with anyio.fail_after(60):
            await wait_for_lines(output, 5 * chunk)
        process.kill()
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
        await process.aclose()
    assert process.returncode == -signal.SIGKILL
    killed = output.read_bytes()
    done_at_kill = {
        json.loads(line)["line"] for line in killed.splitlines(keepends=True) if line.endswith(b"\n")
    }
    assert 0 < len(done_at_kill) < lines, "the job ended before the kill; make it bigger"

    with anyio.fail_after(120):
        resumed = await anyio.run_process(command, check=False)
    assert resumed.returncode == 0, resumed.stderr
    results = read_output(output)
    assert sorted(r["line"] for r in results) == list(range(1, lines + 1))
    assert all(r["success"] and r["output"] == label_of(r["line"]) for r in results)
    # Which lines reached the server, and how often: once each, but for those in flight at the kill.
    sent = lines_sent(server)
    assert set(sent) == set(range(1, lines + 1))
    assert all(sent[line] == 1 for line in done_at_kill)
    twice = [line for line, count in sent.items() if count > 1]
    assert max(sent.values()) <= 2
    # In flight: chunks being answered, delivered but not yet consumed, consumed but not yet flushed.
    assert len(twice) <= (2 * concurrency + 1) * chunk
    assert server.executions <= lines + len(twice)


async def test_stdin_input_resumes_and_refuses_other_data(
    served: tuple[LocalServer, str, Task], tmp_path: Path
) -> None:
    """JSONL on stdin works; the same data again resumes (nothing sent); other data is refused with exit 2."""
    server, url, task = served
    output = tmp_path / "out.jsonl"
    args = ["batch", "run", str(task.id), "-", "-o", str(output), "--base-url", url]
    status, _, err = await loopai(*args, stdin=jsonl(30))
    assert status == 0, err
    assert "30 succeeded, 0 failed" in err
    assert sorted(r["line"] for r in read_output(output)) == list(range(1, 31))
    server.reset_records()
    status, _, err = await loopai(*args, stdin=jsonl(30))
    assert status == 0, err
    assert items_sent(server) == 0
    status, _, err = await loopai(*args, stdin=b'{"text": "something else"}\n')
    assert status == 2
    assert err.count("\n") == 1
    assert "differs from this input's: a different input" in err
    assert items_sent(server) == 0


async def test_bad_lines_fail_alone_and_the_summary_counts_them(
    served: tuple[LocalServer, str, Task], tmp_path: Path
) -> None:
    """Invalid lines become failed results naming the line; the job goes on; exit status 1."""
    _, url, task = served
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_bytes(b'{"text": "hi"}\n{oops\n\n[1]\n{"text": "free money"}\n')
    status, out, _ = await loopai(
        "batch", "run", str(task.id), str(source), "-o", str(output), "--base-url", url, "--ordered", "--json"
    )
    assert status == 1
    summary = json.loads(out)
    assert summary["succeeded"] == 2
    assert summary["failures"] == {"invalid input line": 2}
    assert summary["exit_status"] == 1
    results = read_output(output)
    assert [r["line"] for r in results] == [1, 2, 4, 5]
    assert results[1]["error_message"].startswith("line 2: invalid JSON")
    assert results[2]["error_message"] == "line 4: not a JSON object (an array)"


async def test_csv_input_by_its_name(served: tuple[LocalServer, str, Task], tmp_path: Path) -> None:
    """A .csv input is read as CSV: header names, quoted fields, ids from --id-field."""
    _, url, task = served
    source, output = tmp_path / "in.csv", tmp_path / "out.jsonl"
    source.write_text('id,text\na,"free money, now"\nb,see you at 2pm\n')
    status, _, err = await loopai(
        "batch", "run", str(task.id), str(source), "-o", str(output), "--base-url", url, "--id-field", "id"
    )
    assert status == 0, err
    results = {r["id"]: r for r in read_output(output)}
    assert (results["a"]["output"], results["a"]["line"]) == ("spam", 2)
    assert (results["b"]["output"], results["b"]["line"]) == ("not_spam", 3)


async def test_another_input_is_refused_with_the_reason(
    served: tuple[LocalServer, str, Task], tmp_path: Path
) -> None:
    """Rerunning into the same output with another file exits 2 with one line saying why; nothing is sent."""
    server, url, task = served
    first, second, output = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "out.jsonl"
    first.write_bytes(jsonl(10))
    second.write_bytes(jsonl(11))
    status, _, err = await loopai(
        "batch", "run", str(task.id), str(first), "-o", str(output), "--base-url", url
    )
    assert status == 0, err
    before = output.read_bytes()
    server.reset_records()
    status, _, err = await loopai(
        "batch", "run", str(task.id), str(second), "-o", str(output), "--base-url", url
    )
    assert status == 2
    assert err.strip().count("\n") == 0
    assert "cannot resume" in err
    assert "a different input" in err
    assert output.read_bytes() == before
    assert items_sent(server) == 0


async def test_failures_before_sending_have_their_statuses(
    served: tuple[LocalServer, str, Task], tmp_path: Path
) -> None:
    """An unknown task exits 6, a missing input 2, an unwritable output 2; nothing sent, no output left."""
    server, url, task = served
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(3))
    output = tmp_path / "out.jsonl"
    unknown = "00000000-0000-0000-0000-000000000001"
    status, _, err = await loopai("batch", "run", unknown, str(source), "-o", str(output), "--base-url", url)
    assert (status, err.count("\n")) == (6, 1)
    assert "404 TASK_NOT_FOUND" in err
    assert "trace_id" in err
    status, _, err = await loopai(
        "batch", "run", str(task.id), "nope.jsonl", "-o", str(output), "--base-url", url
    )
    assert (status, err.count("\n")) == (2, 1)
    status, _, err = await loopai(
        "batch", "run", str(task.id), str(source), "-o", str(tmp_path / "x" / "o.jsonl"), "--base-url", url
    )
    assert (status, err.count("\n")) == (2, 1)
    assert not output.exists()
    assert items_sent(server) == 0


async def test_a_job_whose_requests_keep_failing_stops_with_status_3(
    served: tuple[LocalServer, str, Task], tmp_path: Path
) -> None:
    """When a chunk request fails after retries the job stops, says how to resume, and exits 3."""
    server, url, task = served
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_bytes(jsonl(20))
    server.faults.add(Fault("status", route=BATCH_ROUTE, status=503))
    args = [
        "batch",
        "run",
        str(task.id),
        str(source),
        "-o",
        str(output),
        "--base-url",
        url,
        "--max-retries",
        "0",
    ]
    status, _, err = await loopai(*args)
    assert status == 3, err
    assert "stopped" in err
    assert "run the same command again to resume" in err
    server.faults.clear()
    status, _, err = await loopai(*args)
    assert status == 0, err
    assert len(read_output(output)) == 20


async def test_ctrl_c_exits_130_with_whole_lines_on_disk(
    served: tuple[LocalServer, str, Task], tmp_path: Path, anyio_backend: str
) -> None:
    """SIGINT cancels what is in flight, flushes, prints the summary and exits 130; a rerun completes."""
    _, url, task = served
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_bytes(jsonl(5_000))
    command = [*LOOPAI, "batch", "run", str(task.id), str(source), "-o", str(output), "--base-url", url]
    command += ["--chunk-size", "100", "--items-per-second", "2000", "--backend", anyio_backend]
    process = await anyio.open_process(command)
    try:
        with anyio.fail_after(30):
            await wait_for_lines(output, 200)
            process.send_signal(signal.SIGINT)
            status = await process.wait()
            assert process.stderr is not None
            err = (await process.stderr.receive(65536)).decode()
    finally:
        if process.returncode is None:
            process.kill()
        await process.aclose()
    assert status == 130
    assert "interrupted" in err
    data = output.read_bytes()
    assert data.endswith(b"\n")
    assert 200 <= data.count(b"\n") < 5_000
    status, _, err = await loopai(*command[3:], "--items-per-second", "1000000")
    assert status == 0, err
    assert sorted(r["line"] for r in read_output(output)) == list(range(1, 5_001))
