"""Models: decoding batch responses and encoding batch requests, side by side.

loopai's msgspec Structs against the pydantic v2 baseline (``Model(**json)``
and ``model_validate_json``), plain ``json.loads`` and untyped
``msgspec.json.decode`` (the floor).
"""

from __future__ import annotations

import functools
import gc
import json
import tracemalloc
import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from loopai._codec import decode_model, encode
from loopai.models import BatchExecuteItem, BatchExecuteRequest, BatchExecuteResponse

from ._harness import median_seconds
from .pydantic_baseline import PydanticBatchExecuteRequest, PydanticBatchExecuteResponse
from .wire_data import batch_request_items, batch_response

DECODERS: dict[str, Callable[[bytes], object]] = {
    "msgspec untyped (floor)": msgspec.json.decode,
    "loopai Structs": lambda raw: decode_model(
        BatchExecuteResponse, raw, method="POST", url="/api/v1/batch/execute", status=200
    ),
    "json.loads dicts": json.loads,
    "pydantic model_validate_json": PydanticBatchExecuteResponse.model_validate_json,
    "pydantic Model(**response.json())": lambda raw: PydanticBatchExecuteResponse(**json.loads(raw)),
}


def held_bytes(decode: Callable[[bytes], object], raw: bytes) -> int:
    """Memory still allocated by one decoded response (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    decoded = decode(raw)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del decoded
    return held


def run(quick: bool = False) -> dict[str, Any]:
    """Decode 1k/10k/100k-item responses and encode a 10k-item request; µs per item, memory held."""
    sizes = [100, 1_000] if quick else [1_000, 10_000, 100_000]
    repeat = 3 if quick else 7
    decode: dict[str, dict[str, float]] = {}
    for size in sizes:
        raw = batch_response(size)
        decode[str(size)] = {
            name: median_seconds(functools.partial(function, raw), repeat) / size * 1e6
            for name, function in DECODERS.items()
        }
    largest = batch_response(sizes[-1])
    memory = {name: held_bytes(function, largest) for name, function in DECODERS.items()}

    items = batch_request_items(sizes[-2] if quick else 10_000)
    task_id = uuid.uuid4()
    struct_request = BatchExecuteRequest(task_id=task_id, items=[BatchExecuteItem(**i) for i in items])
    pydantic_request = PydanticBatchExecuteRequest(task_id=task_id, items=items)  # type: ignore[arg-type]
    plain = {"task_id": str(task_id), "items": items}
    encoders: dict[str, Callable[[], object]] = {
        "loopai Structs": lambda: encode(struct_request),
        "msgspec dicts (floor)": lambda: msgspec.json.encode(plain),
        "json.dumps dicts": lambda: json.dumps(plain).encode(),
        "pydantic model_dump_json": lambda: pydantic_request.model_dump_json(exclude_none=True).encode(),
    }
    encode_us = {name: median_seconds(fn, repeat) / len(items) * 1e6 for name, fn in encoders.items()}
    return {
        "decode_us_per_item": decode,
        "held_bytes": memory,
        "largest": sizes[-1],
        "encode_us_per_item": encode_us,
    }


def table(results: dict[str, Any]) -> list[str]:
    """Markdown rows for the results table."""
    sizes = list(results["decode_us_per_item"])
    largest = str(results["largest"])
    floor = results["decode_us_per_item"][largest]["msgspec untyped (floor)"]
    lines = [
        "| decode a batch response | "
        + " | ".join(f"{s} items µs/item" for s in sizes)
        + f" | vs floor ({largest}) | held by {largest} items |",
        "|---|" + "---|" * (len(sizes) + 2),
    ]
    for name in DECODERS:
        cells = [f"{results['decode_us_per_item'][s][name]:.2f}" for s in sizes]
        ratio = results["decode_us_per_item"][largest][name] / floor
        held = results["held_bytes"][name] / 2**20
        lines.append(f"| {name} | {' | '.join(cells)} | {ratio:.2f}x | {held:.1f} MiB |")
    lines += ["", "| encode a 10k-item batch request | µs/item |", "|---|---|"]
    lines += [f"| {name} | {value:.3f} |" for name, value in results["encode_us_per_item"].items()]
    return lines
