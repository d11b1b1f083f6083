"""The prior-art approach, for comparison only: pydantic v2 models with field aliases.

This mirrors how a pydantic-based SDK models the same bodies; pydantic is a
benchmark-only dependency of loopai.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class PydanticBatchExecuteResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="id")
    execution_id: UUID | None = Field(default=None, alias="execution_id")
    success: bool = Field(alias="success")
    output: Any = Field(default=None, alias="output")
    error_message: str | None = Field(default=None, alias="error_message")
    latency_ms: float = Field(alias="latency_ms")
    sampled_for_validation: bool = Field(default=False, alias="sampled_for_validation")


class PydanticBatchExecuteResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    batch_id: UUID = Field(alias="batch_id")
    task_id: UUID = Field(alias="task_id")
    version: int = Field(alias="version")
    total_items: int = Field(alias="total_items")
    success_count: int = Field(alias="success_count")
    failure_count: int = Field(alias="failure_count")
    total_duration_ms: float = Field(alias="total_duration_ms")
    avg_latency_ms: float = Field(alias="avg_latency_ms")
    results: list[PydanticBatchExecuteResult] = Field(alias="results")
    started_at: datetime = Field(alias="started_at")
    completed_at: datetime = Field(alias="completed_at")


class PydanticBatchExecuteItem(BaseModel):
    id: str
    input: dict[str, Any]
    force_validation: bool = False


class PydanticBatchExecuteRequest(BaseModel):
    task_id: UUID
    items: list[PydanticBatchExecuteItem]
    version: int | None = None
    max_concurrency: int = 10
    stop_on_first_error: bool = False
    timeout_ms: int | None = None
