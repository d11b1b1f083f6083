"""The local server's in-memory state: tasks, their programs and artifacts."""

from __future__ import annotations

import inspect
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import anyio
import jsonschema

from ._programs import Program, synthesize_program
from ._wire import now_ticks

__all__ = ["Artifact", "Execution", "Store", "StoredTask"]


@dataclass
class Artifact:
    """One program version."""

    id: uuid.UUID
    version: int
    code: str
    strategy: str
    created_ticks: int


@dataclass
class StoredTask:
    """A task as stored, with what the server derives from it."""

    id: uuid.UUID
    name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    examples: list[Any]
    accuracy_target: float
    latency_target_ms: int
    sampling_rate: float
    created_ticks: int
    updated_ticks: int
    validator: Any
    artifacts: list[Artifact] = field(default_factory=list)
    builtin: Program | None = None


@dataclass
class Execution:
    """What running a program produced."""

    status: str
    output: Any
    error_message: str | None
    latency_ms: float


class Store:
    """Tasks by id and by name, the programs users registered, a seeded random source."""

    def __init__(self, seed: int | None) -> None:
        self.tasks: dict[uuid.UUID, StoredTask] = {}
        self.names: dict[str, uuid.UUID] = {}
        self.programs: dict[str, Program] = {}
        self.random = random.Random(seed)

    def add_task(self, fields: dict[str, Any]) -> StoredTask:
        """Store a new task (the caller has checked the name is free)."""
        ticks = now_ticks()
        schema = fields["input_schema"]
        validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        task = StoredTask(
            id=uuid.uuid4(),
            name=fields["name"],
            description=fields["description"],
            input_schema=schema,
            output_schema=fields["output_schema"],
            examples=fields.get("examples", []),
            accuracy_target=fields.get("accuracy_target", 0.9),
            latency_target_ms=fields.get("latency_target_ms", 10),
            sampling_rate=fields.get("sampling_rate", 0.1),
            created_ticks=ticks,
            updated_ticks=ticks,
            validator=validator_class(schema),
        )
        self.tasks[task.id] = task
        self.names[task.name.lower()] = task.id
        return task

    def artifact(self, task: StoredTask, version: int | None) -> Artifact | None:
        """The requested version, or the active one (made on first use)."""
        if not task.artifacts:
            program, code = synthesize_program(task.output_schema, task.examples)
            task.builtin = program
            strategy = "rule" if "classifier" in code else "dsl"
            task.artifacts.append(Artifact(uuid.uuid4(), 1, code, strategy, now_ticks()))
            task.updated_ticks = now_ticks()
        if version is None:
            return task.artifacts[-1]
        return next((a for a in task.artifacts if a.version == version), None)

    def input_errors(self, task: StoredTask, data: Any) -> list[tuple[str, str]]:
        """Where ``data`` breaks the task's input schema: (field path, message) pairs."""
        if task.validator.is_valid(data):
            return []
        errors = []
        for error in task.validator.iter_errors(data):
            path = ".".join(str(part) for part in error.absolute_path)
            if error.validator == "required" and isinstance(error.validator_value, list):
                missing = [name for name in error.validator_value if name not in (error.instance or {})]
                path = ".".join(filter(None, [path, *missing[:1]]))
            errors.append((f"input.{path}" if path else "input", error.message))
        return errors

    def program_for(self, task: StoredTask) -> Program:
        """The user's registered program for the task's name, else the built-in one."""
        registered = self.programs.get(task.name.lower())
        if registered is not None:
            return registered
        assert task.builtin is not None
        return task.builtin

    async def run(
        self,
        task: StoredTask,
        data: dict[str, Any],
        timeout_ms: int | None,
        *,
        timeout_as_error: bool,
    ) -> Execution:
        """Run the task's program on one input."""
        program = self.program_for(task)
        started = time.perf_counter()
        try:
            with anyio.move_on_after(timeout_ms / 1000 if timeout_ms else None) as scope:
                output = program(data)
                if inspect.isawaitable(output):
                    output = await output
        except Exception as exc:
            latency = (time.perf_counter() - started) * 1000
            return Execution("error", None, str(exc) or type(exc).__name__, latency)
        latency = (time.perf_counter() - started) * 1000
        if scope.cancelled_caught or (timeout_ms and latency > timeout_ms):
            status = "error" if timeout_as_error else "timeout"
            return Execution(status, None, f"Execution timeout after {timeout_ms} ms", latency)
        return Execution("success", output, None, latency)

    def sampled(self, task: StoredTask, force: bool) -> bool:
        """Whether an execution is sampled for validation."""
        return force or self.random.random() < task.sampling_rate
