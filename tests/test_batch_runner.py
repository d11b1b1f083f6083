"""The batch runner: exactly one result per input, whatever fails, on asyncio and trio."""

from __future__ import annotations

import dataclasses
import functools
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopai import (
    BatchException,
    BatchExecuteItem,
    BatchOptions,
    BatchProgress,
    InvalidArgumentException,
    LoopaiClient,
    RetryPolicy,
    Task,
)

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup
from loopai._batch._pacing import Pacer
from loopai.testing import Fault, LocalServer

BATCH_ROUTE = "/api/v1/batch/execute"
PROPERTY_SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

fault_schedules = st.lists(
    st.sampled_from(
        [
            Fault("status", route=BATCH_ROUTE, status=503, times=1),
            Fault("status", route=BATCH_ROUTE, status=429, retry_after="0", times=1),
            Fault("status", route=BATCH_ROUTE, status=500, code="BATCH_EXECUTION_ERROR", times=1),
            Fault("drop", route=BATCH_ROUTE, times=1),
            Fault("truncated", route=BATCH_ROUTE, times=1),
            Fault("status", route=BATCH_ROUTE, status=502, times=5),
        ]
    ),
    max_size=3,
)


def inputs(count: int) -> list[dict[str, str]]:
    return [{"text": "free money" if n % 3 == 0 else f"hello {n}"} for n in range(count)]


def program_faults(server: LocalServer, faults: list[Fault]) -> None:
    """Give a server (shared by hypothesis examples) fresh copies of these faults only."""
    server.faults.clear()
    for fault in faults:
        server.faults.add(dataclasses.replace(fault, fired=0))
    server.reset_records()


def runner_tasks() -> list[str]:
    """Names of the batch runner's tasks still alive."""
    return [t.name for t in anyio.get_running_tasks() if t.name and "loopai._batch" in t.name]


def client_sockets_to(url: str) -> int:
    """This process's established client-side connections to the server at url."""
    port = int(url.rsplit(":", 1)[1])
    return sum(
        1
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


@pytest.fixture
async def batch_client(loopai_url: str) -> AsyncIterator[LoopaiClient]:
    async with LoopaiClient(loopai_url, retry_policy=RetryPolicy(max_retries=2)) as client:
        yield client


@PROPERTY_SETTINGS
@given(
    size=st.integers(0, 60),
    chunk_size=st.integers(1, 15),
    concurrency=st.integers(1, 4),
    faults=fault_schedules,
)
async def test_every_input_gets_exactly_one_result_in_order(
    loopai_server: LocalServer,
    batch_client: LoopaiClient,
    spam_task: Task,
    size: int,
    chunk_size: int,
    concurrency: int,
    faults: list[Fault],
) -> None:
    """Any size, chunking, concurrency and fault mix: one result per input, in input order."""
    program_faults(loopai_server, faults)
    options = BatchOptions(chunk_size=chunk_size, concurrency=concurrency)
    response = await batch_client.batch_execute(spam_task.id, inputs(size), options=options)
    assert [r.id for r in response.results] == [str(n) for n in range(size)]
    assert response.total_items == size
    assert response.success_count + response.failure_count == size
    assert response.failure_count == sum(1 for r in response.results if not r.success)
    assert all(r.error_message for r in response.results if not r.success)
    assert loopai_server.peak_in_flight <= concurrency
    sent = loopai_server.requests_to(BATCH_ROUTE)
    assert len(sent) >= -(-size // chunk_size)
    if not faults:
        assert response.failure_count == 0
        assert [r.output for r in response.results] == [
            "spam" if n % 3 == 0 else "not_spam" for n in range(size)
        ]


@PROPERTY_SETTINGS
@given(
    size=st.integers(0, 50),
    chunk_size=st.integers(1, 10),
    concurrency=st.integers(1, 4),
    ordered=st.booleans(),
    faults=fault_schedules,
)
async def test_streams_yield_each_input_once(
    loopai_server: LocalServer,
    batch_client: LoopaiClient,
    spam_task: Task,
    size: int,
    chunk_size: int,
    concurrency: int,
    ordered: bool,
    faults: list[Fault],
) -> None:
    """A stream of an async iterable yields each id once; in input order when asked."""
    program_faults(loopai_server, faults)

    async def source() -> AsyncIterator[BatchExecuteItem]:
        for n in range(size):
            yield BatchExecuteItem(id=f"item-{n}", input={"text": "x"})

    options = BatchOptions(chunk_size=chunk_size, concurrency=concurrency)
    async with batch_client.stream_batch(spam_task.id, source(), ordered=ordered, options=options) as stream:
        ids = [result.id async for result in stream]
    expected = [f"item-{n}" for n in range(size)]
    assert sorted(ids) == sorted(expected)
    assert len(ids) == len(set(ids))
    if ordered:
        assert ids == expected
    assert loopai_server.peak_in_flight <= concurrency


@PROPERTY_SETTINGS
@given(size=st.integers(2, 80), fail_at=st.integers(0, 79), chunk_size=st.integers(1, 8))
async def test_stop_on_first_error_stops_early_and_reports_every_item(
    loopai_server: LocalServer,
    batch_client: LoopaiClient,
    spam_task: Task,
    size: int,
    fail_at: int,
    chunk_size: int,
) -> None:
    """The runner stops at the first failed item; unrun items are failed with a reason."""
    fail_at %= size
    loopai_server.faults.clear()
    loopai_server.reset_records()

    async def program(data: dict[str, Any]) -> str:
        if data["text"] == "boom":
            raise ValueError("boom")
        await anyio.lowlevel.checkpoint()
        return "spam"

    loopai_server.register_program("spam-classifier", program)
    items = [{"id": f"i{n}", "input": {"text": "boom" if n == fail_at else "ok"}} for n in range(size)]
    options = BatchOptions(chunk_size=chunk_size, concurrency=1)
    response = await batch_client.batch_execute_advanced(
        task_id=spam_task.id, items=items, stop_on_first_error=True, options=options
    )
    assert [r.id for r in response.results] == [f"i{n}" for n in range(size)]
    failing_chunk = fail_at // chunk_size
    assert len(loopai_server.requests_to(BATCH_ROUTE)) == failing_chunk + 1
    assert response.results[fail_at].error_message == "boom"
    for result in response.results[(failing_chunk + 1) * chunk_size :]:
        assert not result.success
        assert "the batch stopped at the first error (item 'i" in (result.error_message or "")
    assert response.results[0].success is (fail_at != 0)


async def test_stop_cancels_requests_in_flight(
    loopai_server: LocalServer, batch_client: LoopaiClient, spam_task: Task
) -> None:
    """Chunks in flight when the stop comes are cancelled, not waited for."""

    async def program(data: dict[str, Any]) -> str:
        if data["text"] == "boom":
            raise ValueError("boom")
        await anyio.sleep(30)
        return "spam"

    loopai_server.register_program("spam-classifier", program)
    items = [{"id": f"i{n}", "input": {"text": "boom" if n == 0 else "slow"}} for n in range(4)]
    options = BatchOptions(chunk_size=1, concurrency=4)
    with anyio.fail_after(10):
        response = await batch_client.batch_execute_advanced(
            task_id=spam_task.id, items=items, stop_on_first_error=True, options=options
        )
    assert response.results[0].error_message == "boom"
    for result in response.results[1:]:
        assert "cancelled in flight" in (result.error_message or "")


async def test_caller_cancellation_leaves_nothing_running(
    loopai_server: LocalServer, loopai_url: str, batch_client: LoopaiClient, spam_task: Task
) -> None:
    """Cancelling mid-job tears down requests, leaves no task or connection, and the client still works."""
    loopai_server.faults.add(Fault("latency", route=BATCH_ROUTE, delay=30.0))
    options = BatchOptions(chunk_size=10, concurrency=3)
    idle_sockets = client_sockets_to(loopai_url)  # the fixtures' own client
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:
            group.start_soon(
                functools.partial(batch_client.batch_execute, spam_task.id, inputs(500), options=options)
            )
            await loopai_server.wait_for_requests(3, BATCH_ROUTE)
            assert client_sockets_to(loopai_url) == idle_sockets + 3
            scope.cancel()
    assert scope.cancelled_caught
    assert runner_tasks() == []
    assert client_sockets_to(loopai_url) == idle_sockets
    loopai_server.faults.clear()
    response = await batch_client.batch_execute(spam_task.id, inputs(25), options=options)
    assert response.success_count == 25


async def test_leaving_a_stream_early_cancels_the_rest(
    loopai_server: LocalServer, batch_client: LoopaiClient, spam_task: Task
) -> None:
    """Breaking out of a stream stops the job; its tasks are gone when the block ends."""
    options = BatchOptions(chunk_size=5, concurrency=2)
    async with batch_client.stream_batch(spam_task.id, inputs(1000), options=options) as stream:
        async for _ in stream:
            break
    assert runner_tasks() == []
    assert len(loopai_server.requests_to(BATCH_ROUTE)) < 1000 // 5


async def test_lazy_inputs_are_read_as_needed(batch_client: LoopaiClient, spam_task: Task) -> None:
    """A generator input is consumed lazily: reading stays within the window ahead of results."""
    produced = 0

    def source() -> Any:
        nonlocal produced
        for n in range(10_000):
            produced += 1
            yield {"text": str(n)}

    options = BatchOptions(chunk_size=10, concurrency=2)
    async with batch_client.stream_batch(spam_task.id, source(), ordered=True, options=options) as stream:
        first = await stream.__anext__()
        assert first.id == "0"
        assert produced <= (options.window + 2) * options.chunk_size


async def test_duplicate_caller_ids_are_refused_before_sending(
    loopai_server: LocalServer, batch_client: LoopaiClient, spam_task: Task
) -> None:
    """Duplicate ids raise InvalidArgumentException naming the second one; nothing is sent."""
    items = [{"id": "a", "input": {}}, {"id": "b", "input": {}}, {"id": "a", "input": {}}]
    with pytest.raises(InvalidArgumentException, match=r"items\[2\]\.id.*duplicate item id 'a'"):
        await batch_client.batch_execute_advanced(task_id=spam_task.id, items=items)
    assert loopai_server.requests_to(BATCH_ROUTE) == []


async def test_duplicate_ids_in_a_stream_raise_one_batch_exception(
    batch_client: LoopaiClient, spam_task: Task
) -> None:
    """Found mid-stream, a duplicate ends the job with one BatchException from the group."""
    items = [BatchExecuteItem(id=str(n % 5), input={"text": "x"}) for n in range(8)]
    with pytest.raises(BatchException, match="duplicate item id '0'") as caught:
        async with batch_client.stream_batch(spam_task.id, items) as stream:
            async for _ in stream:
                pass
    assert isinstance(caught.value.__cause__, BaseExceptionGroup)


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({"input": {}}, "needs keys id, input"),
        ({"id": "", "input": {}}, "non-empty string"),
        ({"id": "a", "input": [1]}, "must be a dict"),
        ("text", "must be a dict or BatchExecuteItem"),
    ],
)
async def test_malformed_items_are_refused(
    batch_client: LoopaiClient, spam_task: Task, item: object, words: str
) -> None:
    """Each malformed item is refused with its position."""
    with pytest.raises(InvalidArgumentException, match=r"items\[0\]") as caught:
        await batch_client.batch_execute_advanced(task_id=spam_task.id, items=[item])  # type: ignore[list-item]
    assert words in str(caught.value)


async def test_a_chunk_that_fails_for_good_fails_only_its_items(
    loopai_server: LocalServer, batch_client: LoopaiClient, spam_task: Task
) -> None:
    """A deterministic 500 on one chunk marks its items failed; the job goes on."""
    loopai_server.faults.add(
        Fault("status", route=BATCH_ROUTE, status=500, code="BATCH_EXECUTION_ERROR", times=1)
    )
    options = BatchOptions(chunk_size=5, concurrency=1)
    response = await batch_client.batch_execute(spam_task.id, inputs(20), options=options)
    assert response.failure_count == 5
    assert all("the chunk request failed" in (r.error_message or "") for r in response.results[:5])
    assert all(r.success for r in response.results[5:])
    assert len(response.chunk_batch_ids) == 3


async def test_chunks_respect_the_byte_limit(
    loopai_server: LocalServer, batch_client: LoopaiClient, spam_task: Task
) -> None:
    """Large inputs are split by encoded size, each request under max_chunk_bytes."""
    big = [{"text": "x" * 900} for _ in range(30)]
    options = BatchOptions(chunk_size=1000, max_chunk_bytes=5_000)
    response = await batch_client.batch_execute(spam_task.id, big, options=options)
    assert response.success_count == 30
    bodies = [len(r.body) for r in loopai_server.requests_to(BATCH_ROUTE)]
    assert len(bodies) > 1
    assert max(bodies) <= 5_000 + 1024


async def test_results_merge_across_chunks(batch_client: LoopaiClient, spam_task: Task) -> None:
    """One response for many chunks: a client batch id, the server's ids, UTC times."""
    options = BatchOptions(chunk_size=4)
    response = await batch_client.batch_execute(spam_task.id, inputs(10), options=options)
    assert len(response.chunk_batch_ids) == 3
    assert response.batch_id not in response.chunk_batch_ids
    assert response.completed_at >= response.started_at
    assert response.started_at.tzinfo is not None
    assert response.avg_latency_ms >= 0


async def test_progress_is_reported_per_chunk(batch_client: LoopaiClient, spam_task: Task) -> None:
    """progress gets done/failed/total after each chunk, ending at the total."""
    reports: list[BatchProgress] = []
    options = BatchOptions(chunk_size=7, concurrency=2)
    await batch_client.batch_execute(spam_task.id, inputs(30), options=options, progress=reports.append)
    assert [r.done for r in reports] == sorted(r.done for r in reports)
    assert reports[-1].done == 30
    assert {r.total for r in reports} == {30}
    assert len(reports) == 5
    assert reports[-1].items_per_second > 0


async def test_a_failing_progress_hook_ends_the_job_with_one_exception(
    batch_client: LoopaiClient, spam_task: Task
) -> None:
    """An error inside the job's task group surfaces as one BatchException, whatever its timing."""

    def hook(progress: BatchProgress) -> None:
        raise RuntimeError("hook failed")

    with pytest.raises(BatchException, match="RuntimeError: hook failed"):
        await batch_client.batch_execute(
            spam_task.id, inputs(10), options=BatchOptions(chunk_size=2), progress=hook
        )


async def test_paced_jobs_complete(batch_client: LoopaiClient, spam_task: Task) -> None:
    """With a client-side pace the job still returns every result."""
    options = BatchOptions(chunk_size=2, requests_per_second=500.0, items_per_second=1000.0)
    response = await batch_client.batch_execute(spam_task.id, inputs(10), options=options)
    assert response.success_count == 10


async def test_pacer_reserves_slots_at_the_configured_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each send is scheduled one interval after the previous one."""
    now = 100.0
    waits: list[float] = []
    monkeypatch.setattr(anyio, "current_time", lambda: now)

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(anyio, "sleep", fake_sleep)
    pacer = Pacer(requests_per_second=10.0, items_per_second=100.0)
    for _ in range(3):
        await pacer.wait(5)
    assert waits == pytest.approx([0.1, 0.2])
    assert not Pacer(None, None).active


def test_batch_options_are_checked() -> None:
    """Out-of-range options are refused with their names."""
    with pytest.raises(InvalidArgumentException, match="chunk_size"):
        BatchOptions(chunk_size=0)
    with pytest.raises(InvalidArgumentException, match="max_chunk_bytes"):
        BatchOptions(max_chunk_bytes=20_000_000)
    with pytest.raises(InvalidArgumentException, match="concurrency"):
        BatchOptions(concurrency=0)
    with pytest.raises(InvalidArgumentException, match="items_per_second"):
        BatchOptions(items_per_second=0)
    with pytest.raises(InvalidArgumentException, match="reorder_window"):
        BatchOptions(concurrency=4, reorder_window=2)
    assert BatchOptions(concurrency=3).window == 6


async def test_max_concurrency_is_the_servers_and_is_checked(
    loopai_server: LocalServer, batch_client: LoopaiClient, spam_task: Task
) -> None:
    """max_concurrency goes to the server per request; outside 1-100 it is refused."""
    await batch_client.batch_execute(spam_task.id, inputs(3), max_concurrency=7)
    assert b'"max_concurrency":7' in loopai_server.requests_to(BATCH_ROUTE)[0].body
    with pytest.raises(InvalidArgumentException, match="max_concurrency"):
        await batch_client.batch_execute(spam_task.id, inputs(3), max_concurrency=101)


async def test_unknown_task_batch_fails_every_item_without_raising(
    batch_client: LoopaiClient,
) -> None:
    """Batch items never raise: an unknown task gives failed items."""
    response = await batch_client.batch_execute(uuid.uuid4(), inputs(5), options=BatchOptions(chunk_size=2))
    assert response.failure_count == 5


class CallerError(Exception):
    """An error of the caller's own code."""


class CallerBaseError(BaseException):
    """A BaseException of the caller's own code (not KeyboardInterrupt, which pytest would act on)."""


@pytest.mark.parametrize("error", [KeyError("missing"), CallerError("mine"), CallerBaseError("base")])
async def test_errors_raised_in_the_block_propagate_unchanged(
    batch_client: LoopaiClient, spam_task: Task, error: BaseException
) -> None:
    """The caller's own exception leaves `async with stream_batch(...)` as it was raised, and the job ends."""
    options = BatchOptions(chunk_size=5, concurrency=2)
    with anyio.fail_after(10), pytest.raises(type(error)) as caught:
        async with batch_client.stream_batch(spam_task.id, inputs(1000), options=options) as stream:
            async for _ in stream:
                raise error
    assert caught.value is error
    assert runner_tasks() == []


async def test_an_error_raised_before_iterating_propagates_unchanged(
    batch_client: LoopaiClient, spam_task: Task
) -> None:
    """A KeyError raised in the block before any result is read is not wrapped either."""
    with anyio.fail_after(10), pytest.raises(KeyError):
        async with batch_client.stream_batch(spam_task.id, inputs(50)):
            raise KeyError("early")
    assert runner_tasks() == []


async def test_a_stream_of_input_dicts_refuses_a_batch_item_later(
    batch_client: LoopaiClient, spam_task: Task
) -> None:
    """The first item decides the id rule: input dicts, then a BatchExecuteItem, end the job."""
    items: list[Any] = [{"text": "x"}, BatchExecuteItem(id="0", input={"text": "y"})]
    with pytest.raises(BatchException, match=r"items\[1\].*input dict"):
        async with batch_client.stream_batch(spam_task.id, items) as stream:
            async for _ in stream:
                pass


async def test_an_item_too_large_for_the_server_fails_alone_unsent(
    loopai_server: LocalServer, batch_client: LoopaiClient, spam_task: Task
) -> None:
    """An item over the server's body limit fails with the reason; the items around it succeed."""
    loopai_server.reset_records()
    items = [{"text": "a"}, {"text": "x" * 30_000_000}, {"text": "b"}]
    response = await batch_client.batch_execute(spam_task.id, items)
    assert [r.success for r in response.results] == [True, False, True]
    assert "exceeds the server's 30,000,000-byte body limit" in (response.results[1].error_message or "")
    assert max(len(r.body) for r in loopai_server.requests_to(BATCH_ROUTE)) < 10_000


@pytest.mark.parametrize(
    ("argument", "value"),
    [("timeout", -1), ("timeout", 0), ("timeout", float("nan")), ("timeout", "5"), ("max_retries", -1)],
)
async def test_a_bad_per_call_argument_is_refused_before_sending(
    loopai_server: LocalServer, batch_client: LoopaiClient, spam_task: Task, argument: str, value: Any
) -> None:
    """batch_execute(..., timeout=-1) raises InvalidArgumentException and sends nothing."""
    loopai_server.reset_records()
    with pytest.raises(InvalidArgumentException, match=argument):
        await batch_client.batch_execute(spam_task.id, inputs(30), **{argument: value})
    with pytest.raises(InvalidArgumentException, match=argument):
        batch_client.stream_batch(spam_task.id, inputs(30), **{argument: value})
    assert loopai_server.requests_to(BATCH_ROUTE) == []


async def test_per_call_max_retries_applies_to_each_chunk(
    loopai_server: LocalServer, batch_client: LoopaiClient, spam_task: Task
) -> None:
    """max_retries=0 on a batch call: a chunk that meets a 503 fails at once, the others succeed."""
    loopai_server.faults.add(Fault("status", route=BATCH_ROUTE, status=503, times=1))
    options = BatchOptions(chunk_size=5, concurrency=1)
    response = await batch_client.batch_execute(spam_task.id, inputs(15), options=options, max_retries=0)
    assert [r.success for r in response.results] == [False] * 5 + [True] * 10
    assert len(loopai_server.requests_to(BATCH_ROUTE)) == 3


@pytest.mark.parametrize("bad", [{"text": "x"}, "text", 42])
async def test_inputs_that_are_not_a_collection_of_items_are_refused(
    batch_client: LoopaiClient, spam_task: Task, bad: Any
) -> None:
    """A single dict, a string or a number as inputs is refused up front, naming `inputs`."""
    with pytest.raises(InvalidArgumentException, match="inputs"):
        await batch_client.batch_execute(spam_task.id, bad)
    with pytest.raises(InvalidArgumentException, match="inputs"):
        batch_client.stream_batch(spam_task.id, bad)


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
async def test_an_undecodable_chunk_answer_fails_only_that_chunk(
    loopai_server: LocalServer, batch_client: LoopaiClient, spam_task: Task, kind: str
) -> None:
    """A chunk whose answers stay broken after the retries fails its own items; the job completes."""
    loopai_server.faults.add(Fault(kind, route=BATCH_ROUTE, times=3))
    options = BatchOptions(chunk_size=5, concurrency=1)
    async with batch_client.stream_batch(spam_task.id, inputs(20), ordered=True, options=options) as stream:
        results = [result async for result in stream]
    assert [r.id for r in results] == [str(n) for n in range(20)]
    failed_chunks = {int(r.id) // 5 for r in results if not r.success}
    assert failed_chunks
    for result in results:
        assert result.success is (int(result.id) // 5 not in failed_chunks)
        if not result.success:
            assert (result.error_message or "").startswith("the chunk request failed: ")
