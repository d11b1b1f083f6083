"""The spec's quick start in one command: starts the bundled local server, then runs against it.

python examples/quickstart.py          # asyncio
python examples/quickstart.py trio     # trio
"""

from __future__ import annotations

import sys

import anyio

from loopai import LoopaiClient
from loopai.testing import LocalServer


async def main() -> None:
    async with LocalServer(seed=0).serve() as url, LoopaiClient(url) as client:
        task = await client.create_task(
            name="spam-classifier",
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
        print(f"Created task {task.name} ({task.id}) on {url}")
        for text in ("Buy now for free money!", "Meeting tomorrow at 2pm"):
            result = await client.execute(task_id=task.id, input_data={"text": text})
            print(f"Classification of {text!r}: {result.output}")


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
