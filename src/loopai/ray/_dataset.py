"""`execute_dataset`: run a Loopai task on every row of a Ray Dataset."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import Any

import ray
import ray.data

from ._budget_actor import budget_actor
from ._columns import InputSpec, check_input_spec
from ._secret import Secret, SecretRef
from ._worker import BlockExecutor, WorkerConfig

__all__ = ["execute_dataset"]


def execute_dataset(
    ds: ray.data.Dataset,
    task_id: str,
    *,
    input: InputSpec,
    concurrency: int | tuple[int, int] = 2,
    batch_size: int | None = None,
    chunk_size: int = 1000,
    requests_in_flight: int = 2,
    base_url: str | None = None,
    api_key: str | Secret | None = None,
    timeout: float = 30.0,
    max_retries: int = 3,
    max_concurrency: int = 10,
    version: int | None = None,
    timeout_ms: int | None = None,
    requests_per_second: float | None = None,
    items_per_second: float | None = None,
    rate_limit_retries: int = 10,
    budget_name: str | None = None,
    headers: Mapping[str, str] | None = None,
    ray_remote_args: Mapping[str, Any] | None = None,
) -> ray.data.Dataset:
    """Run task ``task_id`` on every row of ``ds``; the result is one row per input row.

    The returned dataset (lazy, like every Ray Dataset) has all of ``ds``'s
    columns plus:

    ====================== =======  ==============================================
    ``loopai_success``     bool     whether the execution succeeded
    ``loopai_output``      string   the output as JSON text (``json.loads`` it);
                                    null when the row failed
    ``loopai_error``       string   why the row failed (also a request that failed
                                    after its retries), else null
    ``loopai_latency_ms``  float64  the server's execution latency
    ``loopai_execution_id`` string  the execution's id; null if it never ran
    ====================== =======  ==============================================

    It runs as ``map_batches`` on a pool of ``concurrency`` actors.  Each
    actor holds one `loopai.LoopaiClient` (one connection pool) for its
    lifetime and sends each batch of ``batch_size`` rows as batch requests
    of ``chunk_size`` rows, ``requests_in_flight`` at a time.  Every request
    first takes a permit from one rate budget for the whole cluster (a named
    actor): ``requests_per_second`` and ``items_per_second`` hold across all
    actors together, and a 429 pauses every actor until its ``Retry-After``
    and lowers the request rate to what the server let through.

    Args:
        ds: The input rows.
        task_id: The task to run.
        input: How a row becomes the task's input: a list of column names
            (sent under their own names), or a function of the row (a dict)
            returning the input dict.  The function runs in the actors, so it
            must pickle.
        concurrency: At most this many actors (Ray starts one and adds more while
            batches queue), or ``(min, max)``; ``(n, n)`` is a fixed pool of ``n``,
            which Ray refuses when the dataset has fewer than ``n`` blocks.
        batch_size: Rows per ``map_batches`` call; default ``4 * chunk_size``, so
            that a batch splits into whole requests.
        chunk_size: Rows per batch request (at most the client's 1000-item default is a good fit).
        requests_in_flight: Requests each actor has in flight at once.
        base_url: The API's address; default ``$LOOPAI_BASE_URL`` on the actors, then
            ``http://localhost:8080``.
        api_key: The key, as a str or `Secret`; default ``$LOOPAI_API_KEY`` here on the
            driver.  It reaches the actors through Ray's object store, so it is never
            an argument Ray prints, shows or logs.
        timeout: Seconds per request attempt.
        max_retries: Retries of transient failures per request (429s excepted:
            the cluster budget waits them out, up to ``rate_limit_retries`` times).
        max_concurrency: The server's parallelism within one request (1-100).
        version: The task version to run, or None for the active one.
        timeout_ms: The server's per-item timeout.
        requests_per_second: The cluster's request rate at the start, or None.
        items_per_second: The cluster's item rate, or None.
        rate_limit_retries: How often a request answered 429 is sent again.
        budget_name: The budget actor's name; jobs that give the same name share
            one budget (the first one's rates apply).  Default: a fresh one.
            ``ray.get(ray.get_actor(name).stats.remote())`` is its `BudgetStats`.
        headers: Extra headers on every request (do not put secrets here).
        ray_remote_args: Passed to ``map_batches``.  Default ``num_cpus=0.25``: an
            actor mostly waits on the network, and actors that reserved every CPU
            would starve the tasks that read the input.

    Raises:
        ValueError: ``task_id`` is not a UUID, ``input`` is neither a list of column
            names nor a function, or a size is below 1.
    """
    spec = check_input_spec(input)
    try:
        task = str(uuid.UUID(str(task_id)))
    except ValueError:
        raise ValueError(f"task_id must be a task's UUID, got {task_id!r}") from None
    for name, value in (
        ("chunk_size", chunk_size),
        ("requests_in_flight", requests_in_flight),
        ("batch_size", 4 * chunk_size if batch_size is None else batch_size),
    ):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if api_key is None:
        api_key = os.environ.get("LOOPAI_API_KEY") or None
    secret = Secret(api_key) if isinstance(api_key, str) else api_key
    if not ray.is_initialized():
        ray.init()
    budget = budget_actor(
        budget_name or f"loopai-budget-{uuid.uuid4().hex[:12]}", requests_per_second, items_per_second
    )
    config = WorkerConfig(
        task_id=task,
        input=spec,
        budget=budget,
        base_url=base_url,
        api_key=SecretRef.put(secret) if secret is not None else None,
        timeout=timeout,
        max_retries=max_retries,
        chunk_size=chunk_size,
        requests_in_flight=requests_in_flight,
        max_concurrency=max_concurrency,
        version=version,
        timeout_ms=timeout_ms,
        rate_limit_retries=rate_limit_retries,
        headers=dict(headers or {}),
    )
    return ds.map_batches(
        BlockExecutor,
        fn_constructor_args=(config,),
        batch_size=4 * chunk_size if batch_size is None else batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(
            min_size=concurrency[0] if isinstance(concurrency, tuple) else 1,
            max_size=concurrency[1] if isinstance(concurrency, tuple) else concurrency,
        ),
        **{"num_cpus": 0.25, **dict(ray_remote_args or {})},
    )
