"""Request and response bodies of the Loopai API, as msgspec Structs.

Field names are the wire's (snake_case); where the documented API names a
field differently the Struct maps it (``ExecutionResult.id`` is the wire's
``execution_id``).  Response fields the server may omit default to None,
unknown fields are ignored, timestamps without an offset are read as UTC,
and requests leave unset fields out instead of sending ``null``.
"""

from collections.abc import Collection
from datetime import datetime, timezone
from typing import Any, Final
from uuid import UUID

import msgspec

from ._exceptions import InvalidArgumentException
from ._model_dump import DumpMode, dump, dump_json

__all__ = [
    "ArtifactStatus",
    "BatchExecuteItem",
    "BatchExecuteRequest",
    "BatchExecuteResponse",
    "BatchExecuteResult",
    "BatchValidateItem",
    "BatchValidateRequest",
    "BatchValidateResponse",
    "BatchValidateResult",
    "ComplexityMetrics",
    "ComponentHealth",
    "CreateTaskRequest",
    "DetailedHealthResponse",
    "ErrorResponse",
    "ExecuteRequest",
    "ExecutionResult",
    "ExecutionStatus",
    "FieldError",
    "HealthResponse",
    "LivenessResponse",
    "ProblemDetails",
    "ProgramArtifact",
    "ReadinessResponse",
    "SynthesisStrategy",
    "Task",
]


def _utc(value: datetime) -> datetime:
    # The server writes values read back from storage without an offset; they are UTC.
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _uuid(value: UUID | str, argument: str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidArgumentException(argument, f"{value!r} is not a UUID") from None


class ExecutionStatus:
    """Values of `ExecutionResult.status` (kept as plain strings)."""

    SUCCESS: Final = "success"
    ERROR: Final = "error"
    TIMEOUT: Final = "timeout"


class ArtifactStatus:
    """Values of `ProgramArtifact.status`."""

    DRAFT: Final = "draft"
    VALIDATED: Final = "validated"
    ACTIVE: Final = "active"
    DEPRECATED: Final = "deprecated"
    FAILED: Final = "failed"


class SynthesisStrategy:
    """Values of `ProgramArtifact.synthesis_strategy`."""

    RULE: Final = "rule"
    ML: Final = "ml"
    HYBRID: Final = "hybrid"
    DSL: Final = "dsl"
    AUTO: Final = "auto"


class _Body(msgspec.Struct, omit_defaults=True):
    """Common configuration: keyword construction, unset fields left out; pydantic's dump methods."""

    def model_dump(
        self,
        *,
        mode: DumpMode = "python",
        by_alias: bool = False,
        exclude_none: bool = False,
        include: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
    ) -> dict[str, Any]:
        """The model as a dict, as pydantic's ``model_dump`` gives it.

        Every field by its attribute name (the wire's name with
        ``by_alias=True``), nested models as dicts.  ``mode="json"`` makes
        the values JSON-ready (UUIDs and datetimes as strings), so
        ``json.dumps(model.model_dump(mode="json"))`` works; the default
        ``mode="python"`` keeps them as `UUID` and `datetime` objects.
        ``include``/``exclude`` name top-level fields.
        """
        return dump(
            self, mode=mode, by_alias=by_alias, exclude_none=exclude_none, include=include, exclude=exclude
        )

    def model_dump_json(
        self,
        *,
        indent: int | None = None,
        by_alias: bool = False,
        exclude_none: bool = False,
        include: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
    ) -> str:
        """The model as a JSON string, as pydantic's ``model_dump_json`` gives it (compact by default)."""
        return dump_json(
            self,
            indent=indent,
            by_alias=by_alias,
            exclude_none=exclude_none,
            include=include,
            exclude=exclude,
        )


# --- tasks -----------------------------------------------------------------


class CreateTaskRequest(_Body, kw_only=True):
    """Body of ``POST /api/v1/tasks``."""

    name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    examples: list[Any] | None = None
    accuracy_target: float = 0.9
    latency_target_ms: int = 10
    sampling_rate: float = 0.1


class Task(_Body, kw_only=True):
    """A task: what a program must do, its schemas and its targets."""

    id: UUID
    name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    examples: list[Any] = msgspec.field(default_factory=list)
    accuracy_target: float
    latency_target_ms: int
    sampling_rate: float
    active_version: int | None = None
    total_versions: int = 0
    created_at: datetime
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        self.created_at = _utc(self.created_at)
        if self.updated_at is not None:
            self.updated_at = _utc(self.updated_at)


# --- execution ---------------------------------------------------------------


class ExecuteRequest(_Body, kw_only=True):
    """Body of ``POST /api/v1/tasks/{task_id}/execute``."""

    task_id: UUID
    input: dict[str, Any]
    version: int | None = None
    force_validation: bool = False
    timeout_ms: int | None = None

    def __post_init__(self) -> None:
        self.task_id = _uuid(self.task_id, "task_id")


class ExecutionResult(_Body, kw_only=True):
    """The outcome of one execution.

    ``id`` is the execution id (the wire's ``execution_id``).  ``status`` is
    one of `ExecutionStatus`; on failure ``error_message`` says why.
    """

    id: UUID = msgspec.field(name="execution_id")
    task_id: UUID
    program_id: UUID
    version: int
    status: str = ExecutionStatus.SUCCESS
    output: Any = None
    error_message: str | None = None
    latency_ms: float
    memory_usage_mb: float | None = None
    sampled_for_validation: bool = False
    executed_at: datetime

    def __post_init__(self) -> None:
        self.executed_at = _utc(self.executed_at)

    @property
    def succeeded(self) -> bool:
        """Whether the program ran and returned an output."""
        return self.status == ExecutionStatus.SUCCESS


# --- batch execution ---------------------------------------------------------


class BatchExecuteItem(_Body, kw_only=True):
    """One input of a batch: a caller-chosen ``id``, the ``input`` and options."""

    id: str
    input: dict[str, Any]
    force_validation: bool = False


class BatchExecuteRequest(_Body, kw_only=True):
    """Body of ``POST /api/v1/batch/execute``.

    ``max_concurrency`` is the server's own parallelism within one request
    (1-100).  ``timeout_ms`` applies per item.
    """

    task_id: UUID
    items: list[BatchExecuteItem]
    version: int | None = None
    max_concurrency: int = 10
    stop_on_first_error: bool = False
    timeout_ms: int | None = None

    def __post_init__(self) -> None:
        self.task_id = _uuid(self.task_id, "task_id")


class BatchExecuteResult(_Body, kw_only=True, gc=False):
    """The outcome of one batch item, matched to its input by ``id``.

    ``execution_id`` is None for an item that failed before it ran.
    """

    id: str
    execution_id: UUID | None = None
    success: bool
    output: Any = None
    error_message: str | None = None
    latency_ms: float = 0.0
    sampled_for_validation: bool = False


class BatchExecuteResponse(_Body, kw_only=True):
    """The outcome of a batch: one result per item, in input order, and totals.

    ``version`` is the requested version, or 0 when none was given.  A
    response assembled by the client from several requests has a
    client-generated ``batch_id`` and lists the server's in ``chunk_batch_ids``.
    """

    batch_id: UUID
    task_id: UUID
    version: int = 0
    total_items: int
    success_count: int
    failure_count: int
    total_duration_ms: float
    avg_latency_ms: float
    results: list[BatchExecuteResult]
    started_at: datetime
    completed_at: datetime
    chunk_batch_ids: list[UUID] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        self.started_at = _utc(self.started_at)
        self.completed_at = _utc(self.completed_at)


# --- batch validation ----------------------------------------------------------


class BatchValidateItem(_Body, kw_only=True):
    """One output to check against its expected value."""

    id: str
    input: dict[str, Any]
    output: Any
    expected_output: Any


class BatchValidateRequest(_Body, kw_only=True):
    """Body of ``POST /api/v1/batch/validate``."""

    task_id: UUID
    items: list[BatchValidateItem]

    def __post_init__(self) -> None:
        self.task_id = _uuid(self.task_id, "task_id")


class BatchValidateResult(_Body, kw_only=True, gc=False):
    """Whether one item's output matched its expected output."""

    id: str
    is_valid: bool
    message: str | None = None
    confidence_score: float | None = None


class BatchValidateResponse(_Body, kw_only=True):
    """The outcome of a validation batch."""

    batch_id: UUID
    task_id: UUID
    total_items: int
    valid_count: int
    invalid_count: int
    accuracy_rate: float
    results: list[BatchValidateResult]
    total_duration_ms: float


# --- artifacts -------------------------------------------------------------------


class ComplexityMetrics(_Body, kw_only=True):
    """Size and cost figures of a generated program."""

    cyclomatic_complexity: int | None = None
    lines_of_code: int | None = None
    estimated_latency_ms: float | None = None


class ProgramArtifact(_Body, kw_only=True):
    """One version of a task's generated program."""

    id: UUID
    task_id: UUID
    version: int
    language: str
    code: str
    synthesis_strategy: str
    confidence_score: float
    complexity_metrics: ComplexityMetrics | None = None
    llm_provider: str | None = None
    llm_model: str | None = None
    generation_cost: float = 0.0
    generation_time_sec: float = 0.0
    status: str
    deployment_percentage: float = 0.0
    created_at: datetime
    deployed_at: datetime | None = None

    def __post_init__(self) -> None:
        self.created_at = _utc(self.created_at)
        if self.deployed_at is not None:
            self.deployed_at = _utc(self.deployed_at)


# --- health ------------------------------------------------------------------------


class HealthResponse(_Body, kw_only=True):
    """Body of ``GET /api/v1/health``."""

    status: str
    timestamp: datetime
    version: str | None = None
    environment: str | None = None

    def __post_init__(self) -> None:
        self.timestamp = _utc(self.timestamp)


class ComponentHealth(_Body, kw_only=True):
    """The health of one dependency of the server."""

    status: str
    response_time: float | str | None = None
    message: str | None = None


class DetailedHealthResponse(HealthResponse, kw_only=True):
    """Body of ``GET /api/v1/health/detailed`` (``status`` may be ``"degraded"``)."""

    components: dict[str, ComponentHealth] = msgspec.field(default_factory=dict)


class ReadinessResponse(_Body, kw_only=True):
    """Body of ``GET /api/v1/health/ready`` (``status`` ``"ready"`` or ``"not_ready"``)."""

    status: str
    database: bool = False
    redis: bool = False

    @property
    def ready(self) -> bool:
        """Whether the server is ready for traffic."""
        return self.status == "ready"


class LivenessResponse(_Body, kw_only=True):
    """Body of ``GET /api/v1/health/live``."""

    status: str


# --- error bodies --------------------------------------------------------------------


class FieldError(_Body, kw_only=True):
    """One entry of a VALIDATION_ERROR's ``details``."""

    property_name: str
    error_message: str


class ErrorResponse(_Body, kw_only=True):
    """The controllers' error body: ``{code, message, details?, trace_id?, timestamp}``."""

    code: str
    message: str
    details: Any = None
    trace_id: str | None = None
    timestamp: datetime | None = None


class ProblemDetails(_Body, kw_only=True):
    """The framework's error body (``application/problem+json``)."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    errors: dict[str, list[str]] = msgspec.field(default_factory=dict)
    trace_id: str | None = msgspec.field(default=None, name="traceId")
