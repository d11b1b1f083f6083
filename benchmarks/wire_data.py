"""Realistic wire JSON of batch responses and requests, as the server writes them."""

from __future__ import annotations

import random
import uuid
from typing import Any

import msgspec


def _timestamp(rng: random.Random, *, fresh: bool = True) -> str:
    fraction = f"{rng.randrange(10**7):07d}".rstrip("0") or "0"
    return f"2025-10-27T12:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{fraction}{'Z' if fresh else ''}"


def batch_response(items: int, seed: int = 0, ids: list[str] | None = None) -> bytes:
    """A BatchExecuteResponse: ~5% failed items without execution_id, string and object outputs.

    Item ids are ``item-0``, ``item-1``, ... unless ``ids`` gives them (then ``items`` is ignored).
    """
    rng = random.Random(seed)
    item_ids = ids if ids is not None else [f"item-{n}" for n in range(items)]
    items = len(item_ids)
    results: list[dict[str, Any]] = []
    for n, item_id in enumerate(item_ids):
        if rng.random() < 0.05:
            results.append(
                {
                    "id": item_id,
                    "success": False,
                    "error_message": "Input does not match the task's input_schema",
                    "latency_ms": 0,
                    "sampled_for_validation": False,
                }
            )
            continue
        output: Any = (
            rng.choice(["spam", "not_spam"])
            if n % 2
            else {"label": rng.choice(["spam", "not_spam"]), "score": round(rng.random(), 4)}
        )
        results.append(
            {
                "id": item_id,
                "execution_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "success": True,
                "output": output,
                "latency_ms": round(rng.uniform(0.5, 40.0), 4),
                "sampled_for_validation": rng.random() < 0.1,
            }
        )
    failed = sum(1 for r in results if not r["success"])
    body = {
        "batch_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "task_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "version": 1,
        "total_items": items,
        "success_count": items - failed,
        "failure_count": failed,
        "total_duration_ms": 1234.5678,
        "avg_latency_ms": 20.25,
        "results": results,
        "started_at": _timestamp(rng),
        "completed_at": _timestamp(rng),
    }
    return msgspec.json.encode(body)


def batch_request_items(items: int) -> list[dict[str, Any]]:
    """Inputs of a batch request: email-like texts."""
    return [
        {"id": f"email-{n:06d}", "input": {"text": f"Message {n}: meeting at {n % 24}h, free money?"}}
        for n in range(items)
    ]
