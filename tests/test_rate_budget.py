"""The client's rate budget: its pure bookkeeping, and one budget shared by every call on a client."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopai import BatchOptions, LoopaiClient, Task
from loopai._rate_budget import RateBudget
from loopai.testing import LocalServer, RateLimitRule

from .conftest import SPAM_TASK

KEY = ("POST", "/api/v1/batch/execute")
WALL = 1_800_000_000.0


def limit_headers(remaining: int, resets_in: float) -> dict[str, str]:
    reset = datetime.fromtimestamp(WALL + resets_in, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    return {"x-rate-limit-remaining": str(remaining), "x-rate-limit-reset": reset, "x-rate-limit-limit": "1m"}


def granted_now(budget: RateBudget, now: float, count: int) -> int:
    """How many sends the budget lets go at ``now`` out of ``count`` asked."""
    granted = 0
    for _ in range(count):
        reservation = budget.reserve(KEY, 1, now)
        if not reservation.granted:
            break
        granted += 1
    return granted


def test_an_unknown_route_is_not_held_back() -> None:
    """With nothing heard from the server, sends go at once."""
    budget = RateBudget(None, None)
    assert granted_now(budget, 0.0, 50) == 50
    assert budget.state(KEY, 0.0) is None


def test_remaining_counts_sends_still_in_flight() -> None:
    """Remaining=5 heard while 3 other sends are in flight leaves 2 sends until the reset."""
    budget = RateBudget(None, None)
    assert granted_now(budget, 0.0, 4) == 4
    budget.finish(KEY, 0.1, WALL, status=200, headers=limit_headers(5, 10.0))
    assert granted_now(budget, 0.2, 10) == 2
    state = budget.state(KEY, 0.2)
    assert state is not None and state.remaining == 0
    held = budget.reserve(KEY, 1, 0.2)
    assert not held.granted and held.wait == pytest.approx(9.9, abs=0.01)


def test_a_new_window_restores_the_learned_capacity() -> None:
    """After the reset, as many sends go as the window held (less those still in flight)."""
    budget = RateBudget(None, None)
    granted_now(budget, 0.0, 1)
    budget.finish(KEY, 0.0, WALL, status=200, headers=limit_headers(9, 1.0))
    assert granted_now(budget, 0.5, 20) == 9
    assert granted_now(budget, 1.0, 20) == 10 - 9  # nine are still in flight


def test_a_429_holds_every_send_back_for_its_retry_after() -> None:
    """A 429 with Retry-After 3 holds the route for 3 s; other routes go on."""
    budget = RateBudget(None, None)
    granted_now(budget, 0.0, 1)
    budget.finish(KEY, 0.0, WALL, status=429, headers={}, retry_after=3.0)
    held = budget.reserve(KEY, 1, 1.0)
    assert not held.granted and held.wait == pytest.approx(2.0)
    assert budget.reserve(("GET", "/api/v1/health"), 1, 1.0).granted
    assert budget.reserve(KEY, 1, 3.0).granted


@given(
    requests_per_second=st.floats(0.5, 1000),
    items_per_second=st.one_of(st.none(), st.floats(1, 100_000)),
    sizes=st.lists(st.integers(1, 1000), min_size=1, max_size=40),
)
def test_pacing_spaces_sends_by_the_tighter_budget(
    requests_per_second: float, items_per_second: float | None, sizes: list[int]
) -> None:
    """Sends asked for at once are spaced so that neither pace is exceeded."""
    budget = RateBudget(requests_per_second, items_per_second)
    starts = [budget.reserve(KEY, size, 0.0).wait for size in sizes]
    assert starts[0] == 0.0
    for index in range(1, len(sizes)):
        gap = starts[index] - starts[index - 1]
        wanted = max(1 / requests_per_second, sizes[index - 1] / items_per_second if items_per_second else 0)
        assert gap == pytest.approx(wanted, rel=1e-6, abs=1e-9)


@given(
    capacity=st.integers(1, 30),
    in_flight=st.integers(0, 30),
    answers=st.lists(st.integers(0, 30), min_size=1, max_size=10),
)
def test_sends_granted_in_a_window_never_exceed_what_the_server_said_was_left(
    capacity: int, in_flight: int, answers: list[int]
) -> None:
    """Whatever order the answers come in, the budget grants no more than the lowest Remaining allows."""
    budget = RateBudget(None, None)
    granted_now(budget, 0.0, in_flight + len(answers))
    lowest = capacity
    for answer in answers:
        remaining = min(answer, capacity - 1)
        lowest = min(lowest, remaining)
        budget.finish(KEY, 0.1, WALL, status=200, headers=limit_headers(remaining, 60.0))
    assert granted_now(budget, 0.2, 100) <= lowest


async def test_two_jobs_and_single_calls_share_one_budget_and_meet_few_429s() -> None:
    """Two jobs of 15 chunks and 10 executes, 10 requests/s per path: all succeed, a 429 a window at most."""
    limited = LocalServer(seed=0, rate_limits=[RateLimitRule(10, "1s")])
    with anyio.fail_after(60):
        async with limited.serve() as url, LoopaiClient(url) as client:
            task: Task = await client.create_task(**SPAM_TASK)
            limited.reset_records()
            options = BatchOptions(chunk_size=10, concurrency=4)
            inputs = [{"text": f"message {n}"} for n in range(150)]
            outcomes: list[bool] = []

            async def job() -> None:
                response = await client.batch_execute(task.id, inputs, options=options)
                outcomes.extend(result.success for result in response.results)

            async def execute() -> None:
                result = await client.execute(task.id, {"text": "hello"})
                outcomes.append(result.succeeded)

            async with anyio.create_task_group() as group:
                group.start_soon(job)
                group.start_soon(job)
                for _ in range(10):
                    group.start_soon(execute)
    assert outcomes.count(True) == 310
    refusals: dict[str, list[float]] = {}
    for refusal in limited.rate_limited:
        refusals.setdefault(refusal.path, []).append(refusal.time)
    for times in refusals.values():
        assert all(later - earlier >= 0.9 for earlier, later in itertools.pairwise(times))


def test_nothing_left_and_no_reset_heard_lets_one_request_learn() -> None:
    """Remaining 0 without a usable reset, and nothing in flight: the route is not held forever."""
    budget = RateBudget(None, None)
    granted_now(budget, 0.0, 1)
    budget.finish(KEY, 0.0, WALL, status=200, headers={"x-rate-limit-remaining": "0"})
    assert budget.reserve(KEY, 1, 5000.0).granted


def test_a_dotnet_reset_with_seven_digits_and_no_offset_is_read_as_utc() -> None:
    """2025-...56.1234567 (as .NET writes it) is understood on every Python, as UTC."""
    budget = RateBudget(None, None)
    granted_now(budget, 0.0, 1)
    reset = datetime.fromtimestamp(WALL + 30, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.1234567")
    budget.finish(
        KEY, 0.0, WALL, status=200, headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
    )
    state = budget.state(KEY, 0.0)
    assert state is not None and state.resets_in == pytest.approx(30.12, abs=0.01)


def test_routes_nothing_is_known_of_are_forgotten() -> None:
    """One route per task id does not pile up when the server sends no rate-limit headers."""
    budget = RateBudget(None, None)
    for n in range(1000):
        key = ("GET", f"/api/v1/tasks/{n}")
        assert budget.reserve(key, 1, 0.0).granted
        budget.finish(key, 0.0, WALL, status=200, headers={})
    assert not budget._routes


async def test_a_call_cancelled_while_paced_gives_its_permit_back() -> None:
    """Cancelled during the client's own pace: the route is not left with a send in flight."""
    from loopai._rate_budget import RateGate

    gate = RateGate(RateBudget(1.0, None))
    await gate.acquire(KEY)
    gate.finish(KEY, status=200, headers={})
    with anyio.move_on_after(0.01):
        await gate.acquire(KEY)  # paced a second out: cancelled while it waits
    assert gate.budget.reserve(KEY, 1, anyio.current_time() + 5).granted
    assert gate.budget._routes[KEY].in_flight == 1
