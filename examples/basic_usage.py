"""Create a task and classify two emails: the spec's quick start.

Run against the bundled local server (in another terminal: `loopai serve`):

    python examples/basic_usage.py            # asyncio
    python examples/basic_usage.py trio       # trio
"""

from __future__ import annotations

import sys
import uuid

import anyio

from loopai import LoopaiClient


async def main(base_url: str = "http://localhost:8080") -> None:
    """Create the spam classifier on the server at base_url and classify two emails."""
    async with LoopaiClient(base_url) as client:
        task = await client.create_task(
            # Task names are unique on a server; the suffix lets this run again.
            name=f"spam-classifier-{uuid.uuid4().hex[:8]}",
            description="Classify emails as spam or not spam",
            input_schema={
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
            },
            output_schema={"type": "string", "enum": ["spam", "not_spam"]},
            accuracy_target=0.95,
            latency_target_ms=50,
        )
        print(f"Created task {task.name} ({task.id}) on {base_url}")
        for text in ("Buy now for free money!", "Meeting tomorrow at 2pm"):
            result = await client.execute(task_id=task.id, input_data={"text": text})
            print(f"Classification of {text!r}: {result.output}")


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
