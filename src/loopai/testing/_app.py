"""The Loopai API's endpoints, answered as the real server answers them (Starlette)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ._binding import BindingError, Field, bind, bind_data, parse_guid, problem
from ._quirks import ServerQuirks
from ._store import Store, StoredTask
from ._wire import dto, float32, format_ticks, now_ticks, render

__all__ = ["ApiHost", "build_api"]

Handler = Callable[[Request], Awaitable[Response]]

_CREATE_TASK = {
    "name": Field("string", required=True),
    "description": Field("string", required=True),
    "input_schema": Field("object", required=True),
    "output_schema": Field("object", required=True),
    "examples": Field("array"),
    "accuracy_target": Field("number"),
    "latency_target_ms": Field("integer"),
    "sampling_rate": Field("number"),
}
_EXECUTE = {
    "task_id": Field("guid", required=True),
    "input": Field("object", required=True),
    "version": Field("integer", nullable=True),
    "force_validation": Field("boolean"),
    "timeout_ms": Field("integer", nullable=True),
}
_BATCH_EXECUTE = {
    "task_id": Field("guid", required=True),
    "items": Field("array", required=True),
    "version": Field("integer", nullable=True),
    "max_concurrency": Field("integer"),
    "stop_on_first_error": Field("boolean"),
    "timeout_ms": Field("integer", nullable=True),
}
_BATCH_ITEM = {
    "id": Field("string", required=True),
    "input": Field("object", required=True),
    "force_validation": Field("boolean"),
}
_BATCH_VALIDATE = {"task_id": Field("guid", required=True), "items": Field("array", required=True)}
_VALIDATE_ITEM = {
    "id": Field("string", required=True),
    "input": Field("any", nullable=True),
    "output": Field("any", nullable=True),
    "expected_output": Field("any", nullable=True),
}
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


class ApiError(Exception):
    """An ErrorResponse to send."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def _text(value: Any) -> str:
    """A JSON value as .NET's ToString() writes it; the server compares outputs this way."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return render(value, pretty=False).decode()


class ApiHost(Protocol):
    """What the endpoints read and update on the server that hosts them (a `LocalServer`)."""

    store: Store
    quirks: ServerQuirks
    executions: int
    version: str
    environment: str
    components: dict[str, str]

    def has_async_program(self, task: Any) -> bool:
        """Whether the task's program is async (then batch items run concurrently)."""
        ...


class _Api:
    def __init__(self, server: ApiHost) -> None:
        self.server = server
        self.store = server.store

    # --- plumbing ----------------------------------------------------------------

    def json(self, value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = render(value, pretty=self.server.quirks.pretty_json)
        return Response(body, status, headers=headers, media_type="application/json; charset=utf-8")

    def error(self, exc: ApiError) -> Response:
        body = dto(
            code=exc.code,
            message=exc.message,
            details=exc.details,
            trace_id=f"0HN{uuid.uuid4().hex[:9].upper()}:00000001",
            timestamp=format_ticks(now_ticks(), fresh=True),
        )
        return self.json(body, exc.status)

    def problem(self, errors: dict[str, list[str]]) -> Response:
        body = render(problem(errors), pretty=self.server.quirks.pretty_json)
        return Response(body, 400, media_type="application/problem+json; charset=utf-8")

    def endpoint(self, handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except BindingError as exc:
                return self.problem(exc.errors)
            except ApiError as exc:
                return self.error(exc)

        return wrapped

    def stored_number(self, value: float) -> float:
        return float32(value) if self.server.quirks.single_precision else value

    def task_body(self, task: StoredTask, *, fresh: bool) -> dict[str, Any]:
        number = (lambda v: v) if fresh else self.stored_number
        return dto(
            id=str(task.id),
            name=task.name,
            description=task.description,
            input_schema=task.input_schema,
            output_schema=task.output_schema,
            examples=task.examples,
            accuracy_target=number(task.accuracy_target),
            latency_target_ms=task.latency_target_ms,
            sampling_rate=number(task.sampling_rate),
            active_version=task.artifacts[-1].version if task.artifacts else None,
            total_versions=len(task.artifacts),
            created_at=format_ticks(task.created_ticks, fresh=fresh),
            updated_at=format_ticks(task.updated_ticks, fresh=fresh),
        )

    # --- tasks ---------------------------------------------------------------------

    async def create_task(self, request: Request) -> Response:
        fields = bind(await request.body(), _CREATE_TASK, dto="CreateTaskRequest")
        details = _task_rule_violations(fields)
        if details:
            raise ApiError(400, "VALIDATION_ERROR", "Validation failed", details)
        name, description = fields["name"], fields["description"]
        if name.lower() in self.store.names:
            raise ApiError(409, "TASK_ALREADY_EXISTS", f"A task named '{name}' already exists")
        if len(name) > 100 or len(description) > 2000:
            raise ApiError(
                500,
                "TASK_CREATION_ERROR",
                "An error occurred while creating the task",
                "String or binary data would be truncated in table 'Tasks'.",
            )
        task = self.store.add_task(fields)
        location = f"{request.url.scheme}://{request.url.netloc}/api/v1/Tasks/{task.id}"
        return self.json(self.task_body(task, fresh=True), 201, headers={"Location": location})

    async def get_task(self, request: Request) -> Response:
        task_id = parse_guid(request.path_params["task_id"], "taskId")
        task = self.store.tasks.get(task_id)
        if task is None:
            raise ApiError(404, "TASK_NOT_FOUND", f"Task {task_id} not found")
        return self.json(self.task_body(task, fresh=False))

    # --- execution -----------------------------------------------------------------

    async def execute(self, request: Request) -> Response:
        route_id = parse_guid(request.path_params["task_id"], "taskId")
        fields = bind(await request.body(), _EXECUTE, dto="ExecuteRequest")
        details = _range_violations(fields, version=(1, None), timeout_ms=(1, 60_000))
        if details:
            raise ApiError(400, "VALIDATION_ERROR", "Validation failed", details)
        if fields["task_id"] != route_id:
            raise ApiError(400, "TASK_ID_MISMATCH", "Task ID in URL does not match request body")
        task = self.store.tasks.get(route_id)
        if task is None:
            raise ApiError(500, "EXECUTION_ERROR", "Execution failed", f"Task {route_id} not found")
        errors = self.store.input_errors(task, fields["input"])
        if errors:
            details = [{"property_name": p, "error_message": m} for p, m in errors]
            raise ApiError(400, "VALIDATION_ERROR", "Input does not match the task's input_schema", details)
        artifact = self.store.artifact(task, fields.get("version"))
        if artifact is None:
            raise ApiError(
                500, "EXECUTION_ERROR", "Execution failed", f"Version {fields['version']} not found"
            )
        result = await self.store.run(
            task,
            fields["input"],
            fields.get("timeout_ms"),
            timeout_as_error=self.server.quirks.timeout_as_error,
        )
        self.server.executions += 1
        return self.json(
            dto(
                execution_id=str(uuid.uuid4()),
                task_id=str(task.id),
                program_id=str(artifact.id),
                version=artifact.version,
                status=result.status,
                output=result.output,
                error_message=result.error_message,
                latency_ms=round(result.latency_ms, 4),
                sampled_for_validation=self.store.sampled(task, fields.get("force_validation", False)),
                executed_at=format_ticks(now_ticks(), fresh=True),
            )
        )

    async def batch_execute(self, request: Request) -> Response:
        started = now_ticks()
        clock = time.perf_counter()
        fields = bind(await request.body(), _BATCH_EXECUTE, dto="BatchExecuteRequest")
        items = [
            bind_item(item, index, _BATCH_ITEM, "BatchExecuteItem")
            for index, item in enumerate(fields["items"])
        ]
        concurrency = fields.get("max_concurrency", 10)
        if not 1 <= concurrency <= 100:
            raise ApiError(400, "INVALID_CONCURRENCY", "max_concurrency must be between 1 and 100")
        task = self.store.tasks.get(fields["task_id"])
        version = fields.get("version")
        results: list[dict[str, Any]] = [{} for _ in items]
        if task is None:
            message = f"Task {fields['task_id']} not found"
            for index, item in enumerate(items):
                results[index] = dto(
                    id=item["id"],
                    success=False,
                    error_message=message,
                    latency_ms=0,
                    sampled_for_validation=False,
                )
        else:
            artifact = self.store.artifact(task, version)

            async def run_one(index: int, item: dict[str, Any]) -> None:
                results[index] = await self.batch_item(task, artifact, item, fields.get("timeout_ms"))

            if self.server.has_async_program(task):
                limiter = anyio.CapacityLimiter(concurrency)
                async with anyio.create_task_group() as group:
                    for index, item in enumerate(items):
                        group.start_soon(_limited, limiter, run_one, index, item)
            else:
                for index, item in enumerate(items):
                    await run_one(index, item)
        succeeded = sum(1 for r in results if r["success"])
        latencies = [r["latency_ms"] for r in results]
        return self.json(
            dto(
                batch_id=str(uuid.uuid4()),
                task_id=str(fields["task_id"]),
                version=version or 0,
                total_items=len(results),
                success_count=succeeded,
                failure_count=len(results) - succeeded,
                total_duration_ms=round((time.perf_counter() - clock) * 1000, 4),
                avg_latency_ms=round(sum(latencies) / len(latencies), 4) if latencies else 0,
                results=results,
                started_at=format_ticks(started, fresh=True),
                completed_at=format_ticks(now_ticks(), fresh=True),
            )
        )

    async def batch_item(
        self, task: StoredTask, artifact: Any, item: dict[str, Any], timeout_ms: int | None
    ) -> dict[str, Any]:
        if artifact is None:
            return dto(
                id=item["id"],
                success=False,
                error_message="Version not found",
                latency_ms=0,
                sampled_for_validation=False,
            )
        errors = self.store.input_errors(task, item["input"])
        if errors:
            message = "; ".join(f"{p}: {m}" for p, m in errors)
            return dto(
                id=item["id"],
                success=False,
                error_message=message,
                latency_ms=0,
                sampled_for_validation=False,
            )
        result = await self.store.run(
            task, item["input"], timeout_ms, timeout_as_error=self.server.quirks.timeout_as_error
        )
        self.server.executions += 1
        return dto(
            id=item["id"],
            execution_id=str(uuid.uuid4()),
            success=result.status == "success",
            output=result.output,
            error_message=result.error_message,
            latency_ms=round(result.latency_ms, 4),
            sampled_for_validation=self.store.sampled(task, item.get("force_validation", False)),
        )

    async def batch_validate(self, request: Request) -> Response:
        clock = time.perf_counter()
        fields = bind(await request.body(), _BATCH_VALIDATE, dto="BatchValidateRequest")
        items = [
            bind_item(item, index, _VALIDATE_ITEM, "BatchValidateItem")
            for index, item in enumerate(fields["items"])
        ]
        if fields["task_id"] not in self.store.tasks:
            raise ApiError(
                500,
                "BATCH_VALIDATION_ERROR",
                "Batch validation failed",
                f"Task {fields['task_id']} not found",
            )
        results = []
        for item in items:
            valid = _text(item.get("output")) == _text(item.get("expected_output"))
            message = "Output matches expected output" if valid else "Output does not match expected output"
            results.append(
                dto(
                    id=item["id"],
                    is_valid=valid,
                    message=message,
                    confidence_score=1 if valid else 0,
                )
            )
        valid_count = sum(1 for r in results if r["is_valid"])
        return self.json(
            dto(
                batch_id=str(uuid.uuid4()),
                task_id=str(fields["task_id"]),
                total_items=len(results),
                valid_count=valid_count,
                invalid_count=len(results) - valid_count,
                accuracy_rate=valid_count / len(results) if results else 0,
                results=results,
                total_duration_ms=round((time.perf_counter() - clock) * 1000, 4),
            )
        )

    # --- artifacts ---------------------------------------------------------------------

    def artifact_body(self, task: StoredTask, artifact: Any) -> dict[str, Any]:
        stored = format_ticks(artifact.created_ticks, fresh=False)
        return dto(
            id=str(artifact.id),
            task_id=str(task.id),
            version=artifact.version,
            language="typescript",
            code=artifact.code,
            synthesis_strategy=artifact.strategy,
            confidence_score=self.stored_number(0.9),
            complexity_metrics={
                "cyclomatic_complexity": 1,
                "lines_of_code": artifact.code.count("\n"),
                "estimated_latency_ms": 1,
            },
            llm_provider="local",
            llm_model="loopai-testing",
            generation_cost=0,
            generation_time_sec=0,
            status="active" if artifact is task.artifacts[-1] else "deprecated",
            deployment_percentage=100 if artifact is task.artifacts[-1] else 0,
            created_at=stored,
            deployed_at=stored,
        )

    async def list_artifacts(self, request: Request) -> Response:
        task_id = parse_guid(request.path_params["task_id"], "taskId")
        task = self.store.tasks.get(task_id)
        artifacts = [self.artifact_body(task, a) for a in task.artifacts] if task else []
        return self.json(artifacts)

    async def get_artifact(self, request: Request) -> Response:
        task_id = parse_guid(request.path_params["task_id"], "taskId")
        raw_version = request.path_params["version"]
        if not raw_version.isdigit():
            raise BindingError({"version": [f"The value '{raw_version}' is not valid."]})
        task = self.store.tasks.get(task_id)
        version = int(raw_version)
        artifact = next((a for a in task.artifacts if a.version == version), None) if task else None
        if task is None or artifact is None:
            raise ApiError(
                404, "ARTIFACT_NOT_FOUND", f"Artifact version {version} of task {task_id} not found"
            )
        return self.json(self.artifact_body(task, artifact))

    # --- health ------------------------------------------------------------------------

    def health_common(self, status: str) -> dict[str, Any]:
        return dto(
            status=status,
            timestamp=format_ticks(now_ticks(), fresh=True),
            version=self.server.version,
            environment=self.server.environment,
        )

    async def health(self, request: Request) -> Response:
        return self.json(self.health_common("healthy"))

    async def health_detailed(self, request: Request) -> Response:
        components = {
            name: dto(status=status, response_time=1.5 if status == "healthy" else None,
                      message=None if status == "healthy" else f"{name} is {status}")
            for name, status in self.server.components.items()
        }  # fmt: skip
        healthy = all(status == "healthy" for status in self.server.components.values())
        body = {
            **self.health_common("healthy" if healthy else "degraded"),
            "components": components,
        }
        return self.json(body, 200 if healthy else 503)

    async def health_ready(self, request: Request) -> Response:
        database = self.server.components.get("database") == "healthy"
        redis = self.server.components.get("redis") == "healthy"
        ready = database and redis
        body = {"status": "ready" if ready else "not_ready", "database": database, "redis": redis}
        return self.json(body, 200 if ready else 503)

    async def health_live(self, request: Request) -> Response:
        return self.json({"status": "alive"})

    async def plain_health(self, request: Request) -> Response:
        healthy = all(status == "healthy" for status in self.server.components.values())
        return PlainTextResponse("Healthy" if healthy else "Unhealthy", 200 if healthy else 503)


async def _limited(
    limiter: anyio.CapacityLimiter,
    run: Callable[[int, dict[str, Any]], Awaitable[None]],
    index: int,
    item: dict[str, Any],
) -> None:
    async with limiter:
        await run(index, item)


def bind_item(item: Any, index: int, fields: dict[str, Field], dto_name: str) -> dict[str, Any]:
    """Bind one batch item; binding errors name its position (``$.items[3].id``)."""
    try:
        return bind_data(item, fields, dto=dto_name)
    except BindingError as exc:
        raise BindingError(
            {
                f"$.items[{index}]{'' if k.startswith('$') else '.'}{k.removeprefix('$')}": v
                for k, v in exc.errors.items()
            }
        ) from None


def _range_violations(fields: dict[str, Any], **bounds: tuple[float, float | None]) -> list[dict[str, str]]:
    details = []
    for name, (low, high) in bounds.items():
        value = fields.get(name)
        if value is None:
            continue
        if value < low or (high is not None and value > high):
            limit = f"between {low} and {high}" if high is not None else f"greater than {low - 1}"
            details.append({"property_name": name, "error_message": f"'{name}' must be {limit}."})
    return details


def _task_rule_violations(fields: dict[str, Any]) -> list[dict[str, str]]:
    details = []
    name, description = fields["name"], fields["description"]
    if not 1 <= len(name) <= 200:
        details.append(
            {
                "property_name": "name",
                "error_message": "'name' must be between 1 and 200 characters.",
            }
        )
    elif not set(name) <= _NAME_CHARS:
        details.append(
            {
                "property_name": "name",
                "error_message": "'name' may contain only letters, digits, '_', '.' and '-'.",
            }
        )
    if not 1 <= len(description) <= 5000:
        details.append(
            {
                "property_name": "description",
                "error_message": "'description' must be between 1 and 5000 characters.",
            }
        )
    details += _range_violations(
        fields, accuracy_target=(0.0, 1.0), sampling_rate=(0.0, 1.0), latency_target_ms=(1, 60_000)
    )
    return details


def build_api(server: ApiHost) -> Starlette:
    """The Starlette application of every endpoint in CONTRACT.md."""
    api = _Api(server)

    async def not_found(_request: Request, _exc: Exception) -> Response:
        return Response(b"", 404)

    async def not_allowed(_request: Request, exc: Exception) -> Response:
        allowed = (exc.headers or {}).get("Allow", "") if isinstance(exc, HTTPException) else ""
        # ASP.NET lists the route's own methods; Starlette adds HEAD to every GET.
        methods = [m.strip() for m in allowed.split(",") if m.strip() and m.strip() != "HEAD"]
        return Response(b"", 405, headers={"Allow": ", ".join(methods)})

    wrap = api.endpoint
    routes = [
        Route("/api/v1/tasks", wrap(api.create_task), methods=["POST"]),
        Route("/api/v1/tasks/{task_id}", wrap(api.get_task), methods=["GET"]),
        Route("/api/v1/tasks/{task_id}/execute", wrap(api.execute), methods=["POST"]),
        Route("/api/v1/tasks/{task_id}/artifacts", wrap(api.list_artifacts), methods=["GET"]),
        Route("/api/v1/tasks/{task_id}/artifacts/{version}", wrap(api.get_artifact), methods=["GET"]),
        Route("/api/v1/batch/execute", wrap(api.batch_execute), methods=["POST"]),
        Route("/api/v1/batch/validate", wrap(api.batch_validate), methods=["POST"]),
        Route("/api/v1/health", api.health, methods=["GET"]),
        Route("/api/v1/health/detailed", api.health_detailed, methods=["GET"]),
        Route("/api/v1/health/ready", api.health_ready, methods=["GET"]),
        Route("/api/v1/health/live", api.health_live, methods=["GET"]),
        Route("/health", api.plain_health, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
