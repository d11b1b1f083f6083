"""Type-checked, never run: the public API as a user writes it (mypy --strict checks this file).

If a signature or return type regresses, this file stops type-checking.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import httpx2

import loopai
from loopai import BatchOptions, BatchProgress, LoopaiClient, RetryPolicy
from loopai.exceptions import (
    ConnectionException,
    ExecutionException,
    LoopaiException,
    RateLimitException,
    ValidationException,
)
from loopai.models import (
    BatchExecuteItem,
    BatchExecuteRequest,
    BatchExecuteResponse,
    BatchExecuteResult,
    ExecutionResult,
    HealthResponse,
    ProgramArtifact,
    Task,
)


async def quick_start() -> str:
    async with LoopaiClient("http://localhost:8080") as client:
        task: Task = await client.create_task(
            name="spam-classifier",
            description="Classify emails as spam or not spam",
            input_schema={"type": "object", "properties": {"text": {"type": "string"}}},
            output_schema={"type": "string", "enum": ["spam", "not_spam"]},
            accuracy_target=0.95,
            latency_target_ms=50,
        )
        result: ExecutionResult = await client.execute(task_id=task.id, input_data={"text": "Buy now!"})
        created: datetime = task.created_at
        assert created.tzinfo is not None
        execution_id: UUID = result.id
        assert execution_id
        return str(result.output)


async def batches(client: LoopaiClient, task_id: UUID) -> None:
    simple: BatchExecuteResponse = await client.batch_execute(
        task_id=task_id, inputs=[{"text": "a"}], max_concurrency=10
    )
    first: BatchExecuteResult = simple.results[0]
    print(first.id, first.success, first.output, first.error_message)
    request = BatchExecuteRequest(
        task_id=task_id,
        items=[BatchExecuteItem(id="email-001", input={"text": "x"}, force_validation=True)],
        max_concurrency=5,
        stop_on_first_error=False,
        timeout_ms=30000,
    )
    advanced: BatchExecuteResponse = await client.batch_execute_advanced(request)
    keyword = await client.batch_execute_advanced(
        task_id=task_id, items=[{"id": "a", "input": {}}], stop_on_first_error=True, version=2
    )
    print(advanced.success_count, keyword.failure_count)

    def report(progress: BatchProgress) -> None:
        print(progress.done, progress.total, progress.items_per_second)

    options = BatchOptions(chunk_size=500, concurrency=8, requests_per_second=0.5)
    async with client.stream_batch(task_id, ({"n": n} for n in range(10)), ordered=True,
                                   options=options, progress=report) as stream:  # fmt: skip
        async for item in stream:
            print(item.id)


async def errors(client: LoopaiClient, task_id: str, input_data: dict[str, Any]) -> None:
    try:
        await client.execute(task_id, input_data)
    except ValidationException as exc:
        errors: dict[str, list[str]] = exc.errors
        print(exc.message, errors)
    except ExecutionException as exc:
        print(exc.message, exc.execution_id)
    except RateLimitException as exc:
        wait: float | None = exc.retry_after
        print(wait)
    except ConnectionException as exc:
        print(exc.message)
    except LoopaiException as exc:
        print(exc.status_code, exc.code, exc.trace_id, exc.method, exc.url, exc.attempts)


async def configuration() -> None:
    client = LoopaiClient(
        base_url="http://localhost:8080",
        api_key="sk-...",
        timeout=httpx2.Timeout(30.0, connect=5.0),
        max_retries=3,
        headers={"X-Team": "search"},
        retry_policy=RetryPolicy(max_retries=3, timeout=120.0, max_retry_after=30.0),
    )
    patient = client.with_options(timeout=120.0, max_retries=5)
    health: HealthResponse = await patient.get_health(timeout=2.0, headers={"X-Probe": "1"})
    artifacts: list[ProgramArtifact] = await client.list_artifacts("6f1c0a9e-3c55-4b0a-9d7e-2f4a1c3b5d7e")
    print(health.status, artifacts, loopai.__version__)
    await client.aclose()


def blocking(inputs: list[dict[str, Any]]) -> None:
    with loopai.SyncLoopaiClient("http://localhost:8080", max_retries=2, backend="trio") as client:
        task: Task = client.get_task("6f1c0a9e-3c55-4b0a-9d7e-2f4a1c3b5d7e")
        result: ExecutionResult = client.execute(task.id, {"text": "hi"}, timeout=5.0)
        response: BatchExecuteResponse = client.batch_execute(task.id, inputs, max_concurrency=5)
        patient: loopai.SyncLoopaiClient = client.with_options(timeout=120.0)
        stream: loopai.SyncBatchStream = patient.stream_batch(task.id, inputs, ordered=True)
        with stream as results:
            for item in results:
                checked: BatchExecuteResult = item
                print(checked.id)
        print(result.output, response.success_count, client.base_url, client.is_closed)


def seed_compat(task: Task, result: ExecutionResult) -> str:
    as_python: dict[str, Any] = task.model_dump()
    as_json: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    text: str = result.model_dump_json(indent=2, include={"id", "output"})
    print(as_python, as_json)
    return text
