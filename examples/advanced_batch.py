"""Batches: the documented calls, and a streamed job of any size in flat memory.

loopai serve &                      # the bundled local server
python examples/advanced_batch.py [asyncio|trio]
"""

from __future__ import annotations

import sys
import uuid

import anyio

from loopai import BatchOptions, BatchProgress, LoopaiClient
from loopai.models import BatchExecuteItem, BatchExecuteRequest


async def main() -> None:
    async with LoopaiClient("http://localhost:8080") as client:
        task = await client.create_task(
            name=f"spam-batch-{uuid.uuid4().hex[:8]}",
            description="Classify emails as spam or not spam",
            input_schema={"type": "object", "properties": {"text": {"type": "string"}}},
            output_schema={"type": "string", "enum": ["spam", "not_spam"]},
        )
        emails = [{"text": "Buy now for free money!"}, {"text": "Meeting tomorrow at 2pm"}]
        simple = await client.batch_execute(task_id=task.id, inputs=emails, max_concurrency=10)
        print(f"Processed {simple.total_items} items, {simple.success_count} succeeded")

        items = [
            BatchExecuteItem(id="email-001", input={"text": "Spam email"}, force_validation=False),
            BatchExecuteItem(id="email-002", input={"text": "Legitimate email"}, force_validation=True),
        ]
        request = BatchExecuteRequest(
            task_id=task.id, items=items, max_concurrency=5, stop_on_first_error=False, timeout_ms=30000
        )
        advanced = await client.batch_execute_advanced(request)
        for item in advanced.results:
            print(f"  {item.id}: {item.output if item.success else 'FAILED - ' + str(item.error_message)}")

        def report(progress: BatchProgress) -> None:
            print(f"  {progress.done:>6}/{progress.total} done, {progress.items_per_second:,.0f} items/s")

        inputs = ({"text": f"message {n}: {'free money' if n % 4 == 0 else 'hello'}"} for n in range(20_000))
        options = BatchOptions(chunk_size=2_000, concurrency=4)
        spam = 0
        async with client.stream_batch(task.id, inputs, options=options, progress=report) as results:
            async for result in results:
                spam += result.output == "spam"
        print(f"Streamed 20,000 inputs: {spam} spam")


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
