"""Hypothesis strategies for loopai's models, task specs and inputs.

Use them to property-test code that consumes loopai results:

    from hypothesis import given
    from loopai.testing import strategies as st_loopai

    @given(st_loopai.batch_execute_responses())
    def test_report_counts_every_item(response): ...

Every model strategy builds valid instances as the server could send them:
optional fields sometimes None, timestamps in UTC, ids unique in a batch.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hypothesis import strategies as st

from .._models import (
    BatchExecuteItem,
    BatchExecuteRequest,
    BatchExecuteResponse,
    BatchExecuteResult,
    BatchValidateItem,
    BatchValidateRequest,
    BatchValidateResponse,
    BatchValidateResult,
    ComplexityMetrics,
    ComponentHealth,
    CreateTaskRequest,
    DetailedHealthResponse,
    ExecuteRequest,
    ExecutionResult,
    HealthResponse,
    LivenessResponse,
    ProgramArtifact,
    ReadinessResponse,
    Task,
)

__all__ = [
    "batch_execute_items",
    "batch_execute_requests",
    "batch_execute_responses",
    "batch_execute_results",
    "batch_validate_requests",
    "batch_validate_responses",
    "create_task_requests",
    "detailed_health_responses",
    "execute_requests",
    "execution_results",
    "health_responses",
    "inputs_for",
    "json_objects",
    "json_values",
    "liveness_responses",
    "program_artifacts",
    "readiness_responses",
    "task_names",
    "task_specs",
    "tasks",
]

_NAME_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"


def json_values(max_leaves: int = 10) -> st.SearchStrategy[Any]:
    """Any JSON value (finite floats, text keys)."""
    scalars: st.SearchStrategy[Any] = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**53), 2**53),
        st.text(max_size=20),
        st.floats(allow_nan=False, allow_infinity=False),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=max_leaves,
    )


def json_objects(max_leaves: int = 10) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object."""
    return st.dictionaries(st.text(max_size=10), json_values(max_leaves), max_size=5)


def _timestamps() -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(timezone.utc),
    )


def _fractions() -> st.SearchStrategy[float]:
    return st.floats(0.0, 1.0, allow_nan=False)


def task_names() -> st.SearchStrategy[str]:
    """Task names the server accepts (1-100 characters of ``[A-Za-z0-9_.-]``)."""
    return st.text(_NAME_ALPHABET, min_size=1, max_size=100)


_PROPERTY_TYPES: dict[str, st.SearchStrategy[Any]] = {
    "string": st.text(max_size=30),
    "integer": st.integers(-1000, 1000),
    "number": st.floats(-1e6, 1e6, allow_nan=False),
    "boolean": st.booleans(),
}


@st.composite
def _object_schemas(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(
        st.lists(st.from_regex(r"[a-z][a-z_]{0,9}", fullmatch=True), min_size=1, max_size=4, unique=True)
    )
    properties = {name: {"type": draw(st.sampled_from(sorted(_PROPERTY_TYPES)))} for name in names}
    required = draw(st.lists(st.sampled_from(names), unique=True))
    return {"type": "object", "properties": properties, "required": sorted(required)}


@st.composite
def task_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments of `LoopaiClient.create_task` that the server accepts.

    The input schema is an object of simple typed properties (see
    `inputs_for`); the output schema an enum of labels or a simple type.
    """
    labels = st.lists(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), min_size=2, max_size=4, unique=True)
    output_schema = draw(
        labels.map(lambda values: {"type": "string", "enum": values})
        | st.sampled_from(sorted(_PROPERTY_TYPES)).map(lambda kind: {"type": kind})
    )
    return {
        "name": draw(task_names()),
        "description": draw(st.text(min_size=1, max_size=200).filter(str.strip)),
        "input_schema": draw(_object_schemas()),
        "output_schema": output_schema,
        "accuracy_target": draw(_fractions()),
        "latency_target_ms": draw(st.integers(1, 60_000)),
        "sampling_rate": draw(_fractions()),
    }


def inputs_for(input_schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Inputs valid for an input schema made by `task_specs`."""
    properties: dict[str, Any] = input_schema.get("properties", {})
    required = set(input_schema.get("required", []))
    values = {name: _PROPERTY_TYPES[spec["type"]] for name, spec in properties.items()}
    return st.fixed_dictionaries(
        {name: values[name] for name in properties if name in required},
        optional={name: values[name] for name in properties if name not in required},
    )


def create_task_requests() -> st.SearchStrategy[CreateTaskRequest]:
    """`CreateTaskRequest` bodies."""
    return task_specs().map(lambda spec: CreateTaskRequest(**spec))


def tasks() -> st.SearchStrategy[Task]:
    """`Task` responses, with and without an active version."""
    return st.builds(
        Task,
        id=st.uuids(),
        name=task_names(),
        description=st.text(min_size=1, max_size=50),
        input_schema=_object_schemas(),
        output_schema=st.just({"type": "string"}),
        examples=st.lists(json_values(4), max_size=3),
        accuracy_target=_fractions(),
        latency_target_ms=st.integers(1, 60_000),
        sampling_rate=_fractions(),
        active_version=st.none() | st.integers(1, 100),
        total_versions=st.integers(0, 100),
        created_at=_timestamps(),
        updated_at=st.none() | _timestamps(),
    )


def execute_requests() -> st.SearchStrategy[ExecuteRequest]:
    """`ExecuteRequest` bodies."""
    return st.builds(
        ExecuteRequest,
        task_id=st.uuids(),
        input=json_objects(),
        version=st.none() | st.integers(1, 100),
        force_validation=st.booleans(),
        timeout_ms=st.none() | st.integers(1, 60_000),
    )


@st.composite
def execution_results(draw: st.DrawFn) -> ExecutionResult:
    """`ExecutionResult` responses: successes, errors and timeouts."""
    status = draw(st.sampled_from(["success", "error", "timeout"]))
    return ExecutionResult(
        id=draw(st.uuids()),
        task_id=draw(st.uuids()),
        program_id=draw(st.uuids()),
        version=draw(st.integers(1, 100)),
        status=status,
        output=draw(json_values()) if status == "success" else None,
        error_message=None if status == "success" else draw(st.text(min_size=1, max_size=40)),
        latency_ms=draw(st.floats(0, 1e5, allow_nan=False)),
        memory_usage_mb=draw(st.none() | st.floats(0, 1e4, allow_nan=False)),
        sampled_for_validation=draw(st.booleans()),
        executed_at=draw(_timestamps()),
    )


def batch_execute_items(
    ids: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[BatchExecuteItem]:
    """`BatchExecuteItem` inputs."""
    return st.builds(
        BatchExecuteItem,
        id=ids or st.text(min_size=1, max_size=12),
        input=json_objects(),
        force_validation=st.booleans(),
    )


def batch_execute_requests(max_items: int = 20) -> st.SearchStrategy[BatchExecuteRequest]:
    """`BatchExecuteRequest` bodies with unique item ids."""
    items = st.lists(batch_execute_items(), max_size=max_items, unique_by=lambda item: item.id)
    return st.builds(
        BatchExecuteRequest,
        task_id=st.uuids(),
        items=items,
        version=st.none() | st.integers(1, 100),
        max_concurrency=st.integers(1, 100),
        stop_on_first_error=st.booleans(),
        timeout_ms=st.none() | st.integers(1, 60_000),
    )


@st.composite
def batch_execute_results(draw: st.DrawFn, item_id: str | None = None) -> BatchExecuteResult:
    """One `BatchExecuteResult`: a success, a failed run, or a failure before running."""
    success = draw(st.booleans())
    ran = success or draw(st.booleans())
    return BatchExecuteResult(
        id=item_id if item_id is not None else draw(st.text(min_size=1, max_size=12)),
        execution_id=draw(st.uuids()) if ran else None,
        success=success,
        output=draw(json_values(4)) if success else None,
        error_message=None if success else draw(st.text(min_size=1, max_size=40)),
        latency_ms=draw(st.floats(0, 1e5, allow_nan=False)),
        sampled_for_validation=draw(st.booleans()),
    )


@st.composite
def batch_execute_responses(draw: st.DrawFn, max_items: int = 20) -> BatchExecuteResponse:
    """`BatchExecuteResponse` bodies whose counts agree with their results."""
    ids = draw(st.lists(st.text(min_size=1, max_size=12), max_size=max_items, unique=True))
    results = [draw(batch_execute_results(item_id)) for item_id in ids]
    succeeded = sum(1 for result in results if result.success)
    started = draw(_timestamps())
    return BatchExecuteResponse(
        batch_id=draw(st.uuids()),
        task_id=draw(st.uuids()),
        version=draw(st.integers(0, 100)),
        total_items=len(results),
        success_count=succeeded,
        failure_count=len(results) - succeeded,
        total_duration_ms=draw(st.floats(0, 1e6, allow_nan=False)),
        avg_latency_ms=draw(st.floats(0, 1e5, allow_nan=False)),
        results=results,
        started_at=started,
        completed_at=draw(_timestamps().filter(lambda t: t >= started) | st.just(started)),
    )


def batch_validate_requests(max_items: int = 10) -> st.SearchStrategy[BatchValidateRequest]:
    """`BatchValidateRequest` bodies."""
    item = st.builds(
        BatchValidateItem,
        id=st.text(min_size=1, max_size=12),
        input=json_objects(4),
        output=json_values(4),
        expected_output=json_values(4),
    )
    return st.builds(BatchValidateRequest, task_id=st.uuids(), items=st.lists(item, max_size=max_items))


@st.composite
def batch_validate_responses(draw: st.DrawFn, max_items: int = 10) -> BatchValidateResponse:
    """`BatchValidateResponse` bodies whose counts agree with their results."""
    ids = draw(st.lists(st.text(min_size=1, max_size=12), max_size=max_items, unique=True))
    results = [
        BatchValidateResult(
            id=item_id,
            is_valid=draw(st.booleans()),
            message=draw(st.none() | st.text(max_size=30)),
            confidence_score=draw(st.none() | _fractions()),
        )
        for item_id in ids
    ]
    valid = sum(1 for result in results if result.is_valid)
    return BatchValidateResponse(
        batch_id=draw(st.uuids()),
        task_id=draw(st.uuids()),
        total_items=len(results),
        valid_count=valid,
        invalid_count=len(results) - valid,
        accuracy_rate=valid / len(results) if results else 0.0,
        results=results,
        total_duration_ms=draw(st.floats(0, 1e6, allow_nan=False)),
    )


def program_artifacts() -> st.SearchStrategy[ProgramArtifact]:
    """`ProgramArtifact` bodies."""
    return st.builds(
        ProgramArtifact,
        id=st.uuids(),
        task_id=st.uuids(),
        version=st.integers(1, 100),
        language=st.sampled_from(["typescript", "python"]),
        code=st.text(max_size=100),
        synthesis_strategy=st.sampled_from(["rule", "ml", "hybrid", "dsl", "auto"]),
        confidence_score=_fractions(),
        complexity_metrics=st.none()
        | st.builds(
            ComplexityMetrics,
            cyclomatic_complexity=st.none() | st.integers(0, 100),
            lines_of_code=st.none() | st.integers(0, 10_000),
            estimated_latency_ms=st.none() | st.floats(0, 1e4, allow_nan=False),
        ),
        llm_provider=st.none() | st.text(max_size=10),
        llm_model=st.none() | st.text(max_size=10),
        generation_cost=st.floats(0, 100, allow_nan=False),
        generation_time_sec=st.floats(0, 1000, allow_nan=False),
        status=st.sampled_from(["draft", "validated", "active", "deprecated", "failed"]),
        deployment_percentage=st.floats(0, 100, allow_nan=False),
        created_at=_timestamps(),
        deployed_at=st.none() | _timestamps(),
    )


def health_responses() -> st.SearchStrategy[HealthResponse]:
    """`HealthResponse` bodies."""
    return st.builds(
        HealthResponse,
        status=st.sampled_from(["healthy", "degraded"]),
        timestamp=_timestamps(),
        version=st.none() | st.text(max_size=8),
        environment=st.none() | st.sampled_from(["Development", "Production"]),
    )


def detailed_health_responses() -> st.SearchStrategy[DetailedHealthResponse]:
    """`DetailedHealthResponse` bodies."""
    component = st.builds(
        ComponentHealth,
        status=st.sampled_from(["healthy", "unhealthy"]),
        response_time=st.none() | st.floats(0, 1e4, allow_nan=False),
        message=st.none() | st.text(max_size=20),
    )
    return st.builds(
        DetailedHealthResponse,
        status=st.sampled_from(["healthy", "degraded"]),
        timestamp=_timestamps(),
        version=st.none() | st.text(max_size=8),
        environment=st.none() | st.text(max_size=12),
        components=st.dictionaries(st.sampled_from(["database", "redis", "deno"]), component),
    )


def readiness_responses() -> st.SearchStrategy[ReadinessResponse]:
    """`ReadinessResponse` bodies."""
    return st.builds(
        ReadinessResponse,
        status=st.sampled_from(["ready", "not_ready"]),
        database=st.booleans(),
        redis=st.booleans(),
    )


def liveness_responses() -> st.SearchStrategy[LivenessResponse]:
    """`LivenessResponse` bodies."""
    return st.builds(LivenessResponse, status=st.just("alive"))
