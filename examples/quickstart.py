"""The spec's quick start in one command: starts the bundled local server, then runs against it.

python examples/quickstart.py          # asyncio
python examples/quickstart.py trio     # trio
"""

from __future__ import annotations

import sys

import anyio
from basic_usage import main as classify_emails

from loopai.testing import LocalServer


async def main() -> None:
    async with LocalServer(seed=0).serve() as url:
        await classify_emails(url)


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
