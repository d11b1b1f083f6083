"""model_dump / model_dump_json on every model: the seed SDK's pydantic calls keep working."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import loopai.models
from loopai.models import BatchExecuteResponse, BatchExecuteResult, ExecutionResult, Task

from .test_models import MODEL_STRATEGIES

WHEN = datetime(2025, 10, 27, 12, 34, 56, 123456, tzinfo=timezone.utc)


def _result(**changes: Any) -> ExecutionResult:
    fields: dict[str, Any] = {
        "id": uuid.UUID(int=1),
        "task_id": uuid.UUID(int=2),
        "program_id": uuid.UUID(int=3),
        "version": 1,
        "output": {"label": "spam", "scores": [0.9, 0.1]},
        "latency_ms": 1.5,
        "executed_at": WHEN,
    }
    return ExecutionResult(**{**fields, **changes})


def test_every_model_class_has_the_dump_methods() -> None:
    """Each Struct exported by loopai.models has model_dump and model_dump_json."""
    structs = [
        getattr(loopai.models, name)
        for name in loopai.models.__all__
        if issubclass(getattr(loopai.models, name), msgspec.Struct)
    ]
    assert len(structs) >= 20
    for model in structs:
        assert callable(model.model_dump), model
        assert callable(model.model_dump_json), model


@given(st.one_of(MODEL_STRATEGIES))
def test_json_mode_is_json_ready_and_matches_model_dump_json(model: Any) -> None:
    """json.dumps accepts model_dump(mode="json"), and model_dump_json says the same."""
    data = model.model_dump(mode="json")
    assert json.loads(json.dumps(data)) == json.loads(model.model_dump_json())


@given(st.one_of(MODEL_STRATEGIES))
def test_by_alias_dump_decodes_back_to_the_model(model: Any) -> None:
    """With the wire's names, a JSON dump is a body the model decodes back to itself."""
    body = model.model_dump_json(by_alias=True)
    assert msgspec.json.decode(body, type=type(model)) == model


def test_python_mode_keeps_uuids_and_datetimes_as_objects() -> None:
    """The default mode, like pydantic's python mode, keeps UUID and datetime values."""
    data = _result().model_dump()
    assert data["id"] == uuid.UUID(int=1)
    assert data["executed_at"] == WHEN
    assert data["output"] == {"label": "spam", "scores": [0.9, 0.1]}


def test_every_field_is_included_by_attribute_name() -> None:
    """Defaults and None are dumped, under the seed's names (id, not execution_id)."""
    data = _result().model_dump()
    assert list(data) == [f.name for f in msgspec.structs.fields(ExecutionResult)]
    assert data["error_message"] is None
    assert data["status"] == "success"
    assert "execution_id" not in data


def test_json_mode_writes_uuids_and_datetimes_as_pydantic_does() -> None:
    """UUIDs as canonical strings, UTC datetimes in ISO 8601 with a Z."""
    data = _result().model_dump(mode="json")
    assert data["id"] == "00000000-0000-0000-0000-000000000001"
    assert data["executed_at"] == "2025-10-27T12:34:56.123456Z"


def test_options_by_alias_exclude_none_include_exclude() -> None:
    """by_alias, exclude_none, include and exclude behave as in pydantic."""
    result = _result()
    assert "execution_id" in result.model_dump(by_alias=True)
    assert "error_message" not in result.model_dump(exclude_none=True)
    assert list(result.model_dump(include={"id", "version"})) == ["id", "version"]
    assert "output" not in result.model_dump(exclude={"output"})
    with pytest.raises(ValueError, match="mode"):
        result.model_dump(mode="yaml")  # type: ignore[arg-type]


def test_nested_models_become_dicts() -> None:
    """A batch response dumps its results as a list of dicts."""
    response = BatchExecuteResponse(
        batch_id=uuid.UUID(int=9),
        task_id=uuid.UUID(int=2),
        total_items=1,
        success_count=1,
        failure_count=0,
        total_duration_ms=1.0,
        avg_latency_ms=1.0,
        results=[BatchExecuteResult(id="0", execution_id=uuid.UUID(int=5), success=True, output="spam")],
        started_at=WHEN,
        completed_at=WHEN,
    )
    data = response.model_dump(mode="json")
    assert data["results"] == [
        {
            "id": "0",
            "execution_id": "00000000-0000-0000-0000-000000000005",
            "success": True,
            "output": "spam",
            "error_message": None,
            "latency_ms": 0.0,
            "sampled_for_validation": False,
        }
    ]
    assert json.loads(response.model_dump_json(indent=2)) == data


def test_same_output_as_a_pydantic_model_of_the_seed() -> None:
    """For the seed's Task model, both modes give what pydantic v2 gives."""
    pytest.importorskip("pydantic")
    from pydantic import BaseModel

    class SeedTask(BaseModel):
        id: uuid.UUID
        name: str
        description: str
        input_schema: dict[str, Any]
        output_schema: dict[str, Any]
        accuracy_target: float
        latency_target_ms: int
        sampling_rate: float
        created_at: datetime

    task = Task(
        id=uuid.UUID(int=7),
        name="spam",
        description="d",
        input_schema={"type": "object"},
        output_schema={"type": "string"},
        accuracy_target=0.95,
        latency_target_ms=50,
        sampling_rate=0.1,
        created_at=WHEN,
    )
    seed_fields = set(SeedTask.model_fields)
    seed = SeedTask(**task.model_dump(include=seed_fields))
    assert task.model_dump(include=seed_fields) == seed.model_dump()
    assert task.model_dump(mode="json", include=seed_fields) == seed.model_dump(mode="json")
    assert task.model_dump_json(include=seed_fields) == seed.model_dump_json()
