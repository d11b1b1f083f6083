"""Every failure is a typed loopai exception; this walks through the common ones.

loopai serve &
python examples/error_handling.py [asyncio|trio]
"""

from __future__ import annotations

import sys
import uuid

import anyio

from loopai import LoopaiClient
from loopai.exceptions import (
    ConnectionException,
    ExecutionException,
    InvalidArgumentException,
    LoopaiException,
    NotFoundException,
    ValidationException,
)


async def main() -> None:
    async with LoopaiClient("http://localhost:8080") as client:
        task = await client.create_task(
            name=f"errors-{uuid.uuid4().hex[:8]}",
            description="Demonstrates error handling",
            input_schema={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
            output_schema={"type": "string", "enum": ["spam", "not_spam"]},
        )
        try:
            await client.execute(task.id, {"body": "no text field"})
        except ValidationException as exc:
            print(f"Validation failed: {exc.message}; field errors: {exc.errors}")

        try:
            await client.get_task(uuid.uuid4())
        except NotFoundException as exc:
            print(f"Not found: {exc.code} (trace id {exc.trace_id})")

        try:
            await client.create_task(name="x" * 150, description="d", input_schema={}, output_schema={})
        except InvalidArgumentException as exc:
            print(f"Refused before sending: {exc}")

        try:
            await client.execute(uuid.uuid4(), {"text": "unknown task"})
        except ExecutionException as exc:
            print(f"Execution failed: {exc.message} (execution id: {exc.execution_id})")

    async with LoopaiClient("http://127.0.0.1:9", max_retries=1, timeout=2.0) as offline:
        try:
            await offline.get_health()
        except ConnectionException as exc:
            print(f"Connection failed: {exc.message} after {exc.attempts} attempts")
        except LoopaiException as exc:
            print(f"API error: {exc}")


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
