"""RateBudget's decisions as a function of a fake clock: pacing, pauses, learning from 429s."""

from __future__ import annotations

import pytest

pytest.importorskip("ray")

from loopai.ray import RateBudget


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_no_rates_grant_everything() -> None:
    """Without rates and without 429s every request is granted at once."""
    budget = RateBudget(clock=Clock())
    assert all(budget.acquire(1000) == 0.0 for _ in range(1000))
    assert budget.stats().granted_items == 1_000_000


def test_request_rate_spaces_requests() -> None:
    """At 4 requests/s the second request waits 0.25 s, and a refused ask takes nothing."""
    clock = Clock()
    budget = RateBudget(requests_per_second=4, clock=clock)
    assert budget.acquire() == 0.0
    assert budget.acquire() == pytest.approx(0.25)
    clock.now += 0.25
    assert budget.acquire() == 0.0
    assert budget.stats().granted_requests == 2


def test_item_rate_lets_a_big_chunk_go_into_debt() -> None:
    """At 100 items/s a 500-item chunk goes when the bucket is full, then the next waits 5 s."""
    clock = Clock()
    budget = RateBudget(items_per_second=100, clock=clock)
    assert budget.acquire(500) == 0.0
    assert budget.acquire(10) == pytest.approx(4.1)
    clock.now += 5.0
    assert budget.acquire(500) == 0.0


def test_429_pauses_and_learns_the_window() -> None:
    """10 requests pass in a 2 s window, the 11th gets 429: pause until reset, then 4.5 requests/s."""
    clock = Clock()
    budget = RateBudget(clock=clock)
    for _ in range(11):
        assert budget.acquire() == 0.0
        clock.now += 0.01
    budget.rate_limited(retry_after=1.89)
    assert budget.acquire() == pytest.approx(1.89)
    clock.now += 1.89
    assert budget.stats().requests_per_second == pytest.approx(0.9 * 10 / 2.0)
    granted = 0
    end = clock.now + 2.0
    while clock.now < end:
        granted += budget.acquire() == 0.0
        clock.now += 0.001
    assert granted <= 10


def test_a_straggler_429_extends_the_pause_without_relearning() -> None:
    """A 429 for a request that was in flight during the pause does not lower the rate again."""
    clock = Clock()
    budget = RateBudget(requests_per_second=10, clock=clock)
    for _ in range(5):
        clock.now += 0.1
        budget.acquire()
    budget.rate_limited(retry_after=1.0)
    learned = budget.stats().requests_per_second
    clock.now += 0.5
    budget.rate_limited(retry_after=1.0)
    assert budget.stats().requests_per_second == learned
    assert budget.stats().rate_limited == 2
    assert budget.acquire() == pytest.approx(1.0)


def test_a_429_without_retry_after_pauses_one_second_and_learns() -> None:
    """No Retry-After: a 1 s pause, and the rate becomes 90% of what passed (1 request in 2 s)."""
    clock = Clock()
    budget = RateBudget(requests_per_second=1, clock=clock)
    budget.acquire()
    clock.now += 1.0
    budget.acquire()
    budget.rate_limited(retry_after=None)
    assert budget.stats().requests_per_second == pytest.approx(0.45)


def test_bad_rates_are_refused() -> None:
    """Zero, negative and infinite rates raise ValueError naming the argument."""
    for bad in (0, -1, float("inf")):
        with pytest.raises(ValueError, match="requests_per_second"):
            RateBudget(requests_per_second=bad)
