"""execute_dataset on a local Ray cluster against the local server in its own process."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import ServerProcess, expected_output, text_of

ray = pytest.importorskip("ray")

import loopai.ray  # noqa: E402

pytestmark = pytest.mark.usefixtures("ray_cluster")


def emails(rows: int, blocks: int) -> Any:
    """A dataset of ``rows`` emails (columns id and text) in ``blocks`` blocks."""
    return ray.data.range(rows, override_num_blocks=blocks).map_batches(
        lambda batch: {"id": batch["id"], "text": [text_of(int(i)) for i in batch["id"]]},
        batch_format="numpy",
    )


def check_every_row_once(found: list[dict[str, Any]], rows: int) -> None:
    """Each input row appears once, with the classifier's answer or the server's refusal."""
    assert len(found) == rows
    assert sorted(row["id"] for row in found) == list(range(rows))
    for row in found:
        want = expected_output(row["id"])
        assert row["loopai_output"] == want, row
        assert row["loopai_success"] is (want is not None), row
        if want is None:
            assert "text" in row["loopai_error"], row
            assert row["loopai_execution_id"] is None
        else:
            assert row["loopai_error"] is None
            assert uuid.UUID(row["loopai_execution_id"])


def test_import_loopai_does_not_import_ray() -> None:
    """`import loopai` leaves Ray (and pyarrow) unimported; `import loopai.ray` brings it."""
    code = "import sys, loopai; assert 'ray' not in sys.modules and 'pyarrow' not in sys.modules, 'ray'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_bad_arguments_are_refused_before_ray_runs_anything() -> None:
    """A task id that is no UUID, an empty input list or a zero size: ValueError at the call."""
    ds = ray.data.from_items([{"text": "x"}])
    task = str(uuid.uuid4())
    with pytest.raises(ValueError, match="task_id"):
        loopai.ray.execute_dataset(ds, "not-a-task", input=["text"])
    with pytest.raises(ValueError, match="input"):
        loopai.ray.execute_dataset(ds, task, input=[])
    with pytest.raises(ValueError, match="chunk_size"):
        loopai.ray.execute_dataset(ds, task, input=["text"], chunk_size=0)


def test_100k_rows_each_once_with_failed_rows_kept(start_server: Callable[..., ServerProcess]) -> None:
    """100,000 rows come back once each, outputs right, refused rows kept as success=False."""
    server = start_server()
    rows = 100_000
    out = loopai.ray.execute_dataset(
        emails(rows, blocks=20), server.task_id, input=["text"], base_url=server.url, concurrency=2
    )
    found = out.take_all()
    check_every_row_once(found, rows)
    assert list(found[0]) == ["id", "text", *(name for name, _ in loopai.ray.RESULT_COLUMNS)]
    assert sum(not row["loopai_success"] for row in found) == rows // 101


@ray.remote
class Assassin:
    """From the ``nth`` batch reported on, kills (once) an actor other than the reporter.

    The victim is then busy with a batch of its own, most likely with requests in flight.
    """

    def __init__(self, nth: int) -> None:
        self.nth = nth
        self.seen = 0
        self.actors: dict[str, Any] = {}
        self.killed: str | None = None

    def report(self, actor: Any) -> None:
        me = actor._actor_id.hex()
        self.actors[me] = actor
        self.seen += 1
        others = [key for key in self.actors if key != me]
        if self.killed is None and self.seen >= self.nth and others:
            self.killed = others[0]
            ray.kill(self.actors[others[0]], no_restart=False)

    def victim(self) -> str | None:
        return self.killed


def test_killed_actor_still_yields_every_row_once(start_server: Callable[..., ServerProcess]) -> None:
    """An actor killed by ray.kill mid-job (2 batches a block): Ray re-runs its task, no row lost or twice."""
    server = start_server()
    rows = 20_000
    assassin = Assassin.remote(nth=3)  # type: ignore[attr-defined]

    def input_of(row: dict[str, Any]) -> dict[str, Any]:
        if row["id"] % 1000 == 0:  # once per batch: report this actor, maybe get killed here
            ray.get(assassin.report.remote(ray.get_runtime_context().current_actor))
        return {"text": row["text"]}

    out = loopai.ray.execute_dataset(
        emails(rows, blocks=10),
        server.task_id,
        input=input_of,
        base_url=server.url,
        batch_size=1000,
        concurrency=(2, 2),
    )
    found = out.take_all()
    assert ray.get(assassin.victim.remote()) is not None
    check_every_row_once(found, rows)


def windows_of(answers: list[tuple[float, str, str, int, str]], seconds: float) -> list[list[int]]:
    """The statuses grouped by the server's fixed windows (one starts at the first request after one ends)."""
    windows: list[list[int]] = []
    start = None
    for when, _, _, status, _ in sorted(answers):
        if start is None or when - start >= seconds:
            start = when
            windows.append([])
        windows[-1].append(status)
    return windows


def test_two_actors_share_one_budget_and_learn_the_limit(start_server: Callable[..., ServerProcess]) -> None:
    """Against 10 requests per 2 s, two actors starting at 8/s see at most one 429 per window."""
    server = start_server("--rate-limit", "10/2s@/api/v1/batch/execute", "--log-requests")
    rows = 2_000
    budget = f"test-budget-{uuid.uuid4().hex[:8]}"
    out = loopai.ray.execute_dataset(
        emails(rows, blocks=10),
        server.task_id,
        input=["text"],
        base_url=server.url,
        concurrency=(2, 2),
        batch_size=200,
        chunk_size=50,
        requests_per_second=8,
        budget_name=budget,
    )
    found = out.take_all()
    check_every_row_once(found, rows)
    windows = windows_of([a for a in server.answers() if a[2] == "/api/v1/batch/execute"], 2.0)
    refused = [window.count(429) for window in windows]
    assert sum(refused) >= 1, "the server never limited: the test proves nothing"
    assert max(refused) <= 1, [(window.count(200), window.count(429)) for window in windows]
    assert all(window.count(200) <= 10 for window in windows)
    stats = ray.get(ray.get_actor(budget).stats.remote())
    assert stats.rate_limited == sum(refused)
    assert stats.requests_per_second <= 5
