"""The ledger of a batch, without a server: one result per id, stop rule, bounded reorder window, totals."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopai._batch._ledger import MISSING, ReorderWindow, StopRule, Totals, chunk_failed, match
from loopai.exceptions import TimeoutException
from loopai.models import BatchExecuteResponse, BatchExecuteResult

chunk_ids = st.lists(st.text(min_size=1, max_size=3), max_size=12, unique=True)


def answer(item_id: str, n: int) -> BatchExecuteResult:
    """A server result for item_id, told apart from others by its output."""
    return BatchExecuteResult(id=item_id, success=n % 2 == 0, output=n)


@given(ids=chunk_ids, data=st.data())
def test_every_id_gets_exactly_one_result_whatever_the_answer(ids: list[str], data: st.DataObject) -> None:
    """Answers in any order, repeated, unknown or missing: one result per id, in the ids' order."""
    answered = data.draw(st.lists(st.sampled_from([*ids, "stranger"]), max_size=30))
    results = [answer(item_id, n) for n, item_id in enumerate(answered)]
    matched = match(ids, results)
    assert [r.id for r in matched] == ids
    for result in matched:
        firsts = [r for r in results if r.id == result.id]
        if firsts:
            assert result is firsts[0]
        else:
            assert not result.success
            assert result.error_message == MISSING


def test_an_answer_in_order_is_taken_as_it_is() -> None:
    """The common case costs no copy: the server's list comes back as it is."""
    results = [answer("a", 0), answer("b", 1)]
    assert match(["a", "b"], results) is results


def test_a_failed_chunk_fails_each_of_its_items_with_the_reason() -> None:
    """chunk_failed gives each id a failure naming the exception's type and message."""
    failures = chunk_failed(["a", "b"], TimeoutException("no answer in time"))
    assert [r.id for r in failures] == ["a", "b"]
    assert {r.error_message for r in failures} == {
        "the chunk request failed: TimeoutException: no answer in time"
    }


@given(
    chunks=st.integers(0, 40),
    bound=st.integers(1, 6),
    ordered=st.booleans(),
    data=st.data(),
)
def test_the_reorder_window_delivers_each_chunk_once_and_never_holds_more_than_its_bound(
    chunks: int, bound: int, ordered: bool, data: st.DataObject
) -> None:
    """Chunks opened while there is room and closed in any order: each delivered once, within the bound."""
    window = ReorderWindow(bound, ordered=ordered)
    delivered: list[int] = []
    in_flight: list[int] = []
    opened = 0
    while opened < chunks or in_flight:
        if opened < chunks and window.has_room and (not in_flight or data.draw(st.booleans())):
            assert window.open() == opened
            in_flight.append(opened)
            opened += 1
        else:
            seq = in_flight.pop(data.draw(st.integers(0, len(in_flight) - 1)))
            delivered.extend(int(ready[0].id) for ready in window.close(seq, [answer(str(seq), seq)]))
        assert window.held <= window.open_chunks <= bound
    assert sorted(delivered) == list(range(chunks))
    if ordered:
        assert delivered == list(range(chunks))
    assert window.open_chunks == 0


def test_the_reorder_window_refuses_to_grow_past_its_bound() -> None:
    """Opening a chunk with no room, or closing one that is not open, is a bug and raises."""
    window = ReorderWindow(2, ordered=True)
    window.open()
    window.open()
    with pytest.raises(RuntimeError, match="full"):
        window.open()
    assert window.close(1, [answer("1", 1)]) == []
    with pytest.raises(RuntimeError, match="not open"):
        window.close(1, [])
    assert [r[0].id for r in window.close(0, [answer("0", 0)])] == ["0", "1"]
    with pytest.raises(ValueError, match="bound"):
        ReorderWindow(0, ordered=False)


@given(outcomes=st.lists(st.lists(st.booleans(), min_size=1, max_size=5), max_size=8), enabled=st.booleans())
def test_the_stop_rule_stops_at_the_first_failed_item_only(outcomes: list[list[bool]], enabled: bool) -> None:
    """With the rule on, the first chunk with a failure stops the job, once, naming its first failed item."""
    rule = StopRule(enabled=enabled)
    stops = []
    for chunk, successes in enumerate(outcomes):
        results = [BatchExecuteResult(id=f"{chunk}-{n}", success=ok) for n, ok in enumerate(successes)]
        if rule.check(results):
            stops.append(chunk)
    first = next((f"{c}-{n}" for c, oks in enumerate(outcomes) for n, ok in enumerate(oks) if not ok), None)
    if not enabled or first is None:
        assert (stops, rule.stopped_by) == ([], None)
    else:
        assert len(stops) == 1
        assert rule.stopped_by == first


def test_items_that_never_ran_say_why() -> None:
    """Not-run and cancelled items fail with the stopping item's id in the reason."""
    rule = StopRule(enabled=True)
    rule.check([BatchExecuteResult(id="x", success=False)])
    [not_run] = rule.not_run(["a"])
    [cancelled] = rule.cancelled(["b"])
    assert not_run.error_message == "not run: the batch stopped at the first error (item 'x')"
    assert (cancelled.error_message or "").startswith(
        "cancelled in flight: the batch stopped at the first error"
    )


def chunk_response(seq: int, count: int, latency: float) -> BatchExecuteResponse:
    """A server's answer to chunk seq with count items at the given mean latency."""
    now = datetime.now(timezone.utc)
    return BatchExecuteResponse(
        batch_id=uuid.UUID(int=seq + 1),
        task_id=uuid.UUID(int=0),
        version=3,
        total_items=count,
        success_count=count,
        failure_count=0,
        total_duration_ms=1.0,
        avg_latency_ms=latency,
        results=[],
        started_at=now,
        completed_at=now,
    )


def test_totals_merge_the_chunks_into_one_response() -> None:
    """The merged response counts the results, weights latency by items and lists batch ids in chunk order."""
    totals = Totals(total=4)
    totals.record(1, chunk_response(1, 1, 4.0))
    totals.record(0, chunk_response(0, 3, 2.0))
    results = [BatchExecuteResult(id=str(n), success=n != 2) for n in range(4)]
    totals.count(results)
    assert (totals.done, totals.failed) == (4, 1)
    now = datetime.now(timezone.utc)
    merged = totals.merge(
        results,
        task_id=uuid.UUID(int=0),
        version=None,
        new_batch_id=uuid.UUID(int=99),
        started_at=now,
        completed_at=now,
        duration_ms=5.0,
    )
    assert merged.batch_id == uuid.UUID(int=99)
    assert merged.chunk_batch_ids == [uuid.UUID(int=1), uuid.UUID(int=2)]
    assert (merged.total_items, merged.success_count, merged.failure_count) == (4, 3, 1)
    assert merged.avg_latency_ms == pytest.approx(2.5)
    assert merged.version == 3


def test_a_single_chunk_keeps_the_servers_batch_id() -> None:
    """With one answered chunk the merged batch id is the server's; with none, the version asked for."""
    totals = Totals(total=None)
    now = datetime.now(timezone.utc)

    def merged(version: int | None) -> BatchExecuteResponse:
        return totals.merge(
            [],
            task_id=uuid.UUID(int=0),
            version=version,
            new_batch_id=uuid.UUID(int=7),
            started_at=now,
            completed_at=now,
            duration_ms=0.0,
        )

    empty = merged(2)
    assert (empty.batch_id, empty.version, empty.avg_latency_ms) == (uuid.UUID(int=7), 2, 0.0)
    totals.record(0, chunk_response(0, 1, 1.0))
    assert merged(None).batch_id == uuid.UUID(int=1)
