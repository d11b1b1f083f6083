"""Models: wire names, omitted nulls, .NET timestamps, round trips."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopai import InvalidArgumentException
from loopai.models import (
    BatchExecuteItem,
    BatchExecuteRequest,
    BatchExecuteResponse,
    BatchExecuteResult,
    CreateTaskRequest,
    ExecuteRequest,
    ExecutionResult,
    ExecutionStatus,
    ProgramArtifact,
    Task,
)
from loopai.testing import strategies as loopai_st
from loopai.testing._wire import render

MODEL_STRATEGIES = [
    loopai_st.tasks(),
    loopai_st.create_task_requests(),
    loopai_st.execute_requests(),
    loopai_st.execution_results(),
    loopai_st.batch_execute_requests(),
    loopai_st.batch_execute_responses(),
    loopai_st.batch_validate_requests(),
    loopai_st.batch_validate_responses(),
    loopai_st.program_artifacts(),
    loopai_st.health_responses(),
    loopai_st.detailed_health_responses(),
    loopai_st.readiness_responses(),
    loopai_st.liveness_responses(),
]

TASK_WIRE: dict[str, Any] = {
    "id": "6f1c0a9e-3c55-4b0a-9d7e-2f4a1c3b5d7e",
    "name": "spam",
    "description": "d",
    "input_schema": {"type": "object"},
    "output_schema": {"type": "string"},
    "accuracy_target": 0.949999988079071,
    "latency_target_ms": 10,
    "sampling_rate": 0.1,
    "total_versions": 0,
    "created_at": "2025-10-27T12:34:56.1234567",
}


@given(st.one_of(MODEL_STRATEGIES))
def test_every_model_round_trips_through_json(model: msgspec.Struct) -> None:
    """Encoding a model and decoding the bytes gives an equal model."""
    decoded = msgspec.json.decode(msgspec.json.encode(model), type=type(model))
    assert decoded == model


@given(st.one_of(MODEL_STRATEGIES))
def test_every_model_decodes_from_the_servers_pretty_escaped_json(model: msgspec.Struct) -> None:
    """The deployed server's indented, \\u-escaped JSON decodes to the same model."""
    wire = render(msgspec.to_builtins(model), pretty=True)
    assert msgspec.json.decode(wire, type=type(model)) == model


@given(loopai_st.execution_results())
def test_optional_fields_may_be_missing_from_the_wire(result: ExecutionResult) -> None:
    """The server omits nulls; every nullable field then decodes to None."""
    wire = msgspec.to_builtins(result)
    for optional in ("output", "error_message", "memory_usage_mb"):
        wire.pop(optional, None)
    decoded = msgspec.json.decode(msgspec.json.encode(wire), type=ExecutionResult)
    assert decoded.output is None
    assert decoded.error_message is None
    assert decoded.memory_usage_mb is None


def test_execution_result_id_is_the_wires_execution_id() -> None:
    """The documented name ExecutionResult.id maps to the wire's execution_id."""
    execution_id = uuid.uuid4()
    wire = {
        "execution_id": str(execution_id),
        "task_id": str(uuid.uuid4()),
        "program_id": str(uuid.uuid4()),
        "version": 1,
        "status": "success",
        "output": "spam",
        "latency_ms": 1.5,
        "sampled_for_validation": False,
        "executed_at": "2025-10-27T12:34:56.1234567Z",
    }
    result = msgspec.json.decode(json.dumps(wire), type=ExecutionResult)
    assert result.id == execution_id
    assert b'"execution_id"' in msgspec.json.encode(result)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-27T12:34:56.1234567Z", datetime(2025, 10, 27, 12, 34, 56, 123457, timezone.utc)),
        ("2025-10-27T12:34:56.1234567", datetime(2025, 10, 27, 12, 34, 56, 123457, timezone.utc)),
        ("2025-10-27T12:34:56.12", datetime(2025, 10, 27, 12, 34, 56, 120000, timezone.utc)),
        ("2025-10-27T12:34:56", datetime(2025, 10, 27, 12, 34, 56, tzinfo=timezone.utc)),
        ("2025-10-27T12:34:56Z", datetime(2025, 10, 27, 12, 34, 56, tzinfo=timezone.utc)),
        ("2025-10-27T14:34:56.5+02:00", datetime(2025, 10, 27, 12, 34, 56, 500000, timezone.utc)),
    ],
)
def test_timestamps_with_and_without_offset_are_utc(text: str, expected: datetime) -> None:
    """Up to 7 fractional digits, with or without Z; offset-less values are UTC, never local."""
    task = msgspec.json.decode(json.dumps({**TASK_WIRE, "created_at": text}), type=Task)
    assert task.created_at == expected
    assert task.created_at.utcoffset() is not None


def test_offsetless_timestamp_is_not_read_as_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the machine's timezone, a stored timestamp means UTC."""
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        task = msgspec.json.decode(json.dumps(TASK_WIRE), type=Task)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert task.created_at.utcoffset() == timedelta(0)
    assert task.created_at.hour == 12


def test_unknown_fields_are_ignored() -> None:
    """A field the server adds later never breaks decoding."""
    task = msgspec.json.decode(json.dumps({**TASK_WIRE, "owner": "x", "tags": [1]}), type=Task)
    assert task.name == "spam"


def test_a_new_status_value_still_decodes() -> None:
    """Enums are plain strings: an unknown status is kept, not rejected."""
    result = ExecutionResult(
        id=uuid.uuid4(), task_id=uuid.uuid4(), program_id=uuid.uuid4(), version=1,
        status="queued", latency_ms=0.0, executed_at=datetime.now(timezone.utc),
    )  # fmt: skip
    decoded = msgspec.json.decode(msgspec.json.encode(result), type=ExecutionResult)
    assert decoded.status == "queued"
    assert not decoded.succeeded
    assert ExecutionStatus.SUCCESS == "success"


def test_requests_leave_unset_fields_out() -> None:
    """The server rejects null for non-nullable fields, so requests omit them."""
    request = ExecuteRequest(task_id=uuid.uuid4(), input={"text": "hi"})
    body = msgspec.json.decode(msgspec.json.encode(request))
    assert set(body) == {"task_id", "input"}
    assert b"null" not in msgspec.json.encode(CreateTaskRequest(
        name="n", description="d", input_schema={}, output_schema={},
    ))  # fmt: skip


def test_spec_keyword_construction_of_batch_requests() -> None:
    """BatchExecuteItem and BatchExecuteRequest build exactly as the spec's example does."""
    task_id = uuid.uuid4()
    items = [
        BatchExecuteItem(id="email-001", input={"text": "Spam email"}, force_validation=False),
        BatchExecuteItem(id="email-002", input={"text": "Legitimate email"}, force_validation=True),
    ]
    request = BatchExecuteRequest(
        task_id=task_id, items=items, max_concurrency=5, stop_on_first_error=False, timeout_ms=30000
    )
    body = msgspec.json.decode(msgspec.json.encode(request))
    assert body["task_id"] == str(task_id)
    assert body["items"][1] == {
        "id": "email-002",
        "input": {"text": "Legitimate email"},
        "force_validation": True,
    }
    assert body["max_concurrency"] == 5
    assert body["timeout_ms"] == 30000


def test_request_task_id_accepts_a_string_and_refuses_garbage() -> None:
    """A string task id becomes a UUID; a non-UUID is refused, naming task_id."""
    task_id = uuid.uuid4()
    assert BatchExecuteRequest(task_id=str(task_id), items=[]).task_id == task_id  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentException, match="task_id"):
        BatchExecuteRequest(task_id="not-a-uuid", items=[])  # type: ignore[arg-type]


def test_batch_result_without_execution_id_decodes() -> None:
    """An item that failed before it ran has no execution_id on the wire."""
    wire = (
        b'{"id":"a","success":false,"error_message":"Task not found",'
        b'"latency_ms":0,"sampled_for_validation":false}'
    )
    result = msgspec.json.decode(wire, type=BatchExecuteResult)
    assert result.execution_id is None
    assert result.error_message == "Task not found"


def test_artifact_decodes_the_contracts_shape() -> None:
    """A ProgramArtifact with nested metrics and offset-less timestamps decodes."""
    wire = {
        "id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "version": 1, "language": "typescript",
        "code": "x", "synthesis_strategy": "rule", "confidence_score": 0.9,
        "complexity_metrics": {"lines_of_code": 3}, "generation_cost": 0, "generation_time_sec": 1,
        "status": "active", "deployment_percentage": 100, "created_at": "2025-10-27T12:34:56.1",
    }  # fmt: skip
    artifact = msgspec.json.decode(json.dumps(wire), type=ProgramArtifact)
    assert artifact.complexity_metrics is not None
    assert artifact.complexity_metrics.lines_of_code == 3
    assert artifact.complexity_metrics.cyclomatic_complexity is None
    assert artifact.created_at.tzinfo is not None


@given(loopai_st.batch_execute_responses())
def test_strategy_responses_have_consistent_counts(response: BatchExecuteResponse) -> None:
    """The strategies make responses whose totals agree with their results."""
    assert response.total_items == len(response.results)
    assert response.success_count + response.failure_count == response.total_items
    assert len({r.id for r in response.results}) == len(response.results)
