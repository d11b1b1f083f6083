"""``loopai health``: is the API up?"""

from __future__ import annotations

import argparse
from typing import Any

from . import _status
from ._options import client_options, make_client, print_json, run_async

__all__ = ["add_parser"]


def add_parser(commands: Any) -> None:
    """Add ``health`` to the command's subparsers."""
    parser = commands.add_parser(
        "health",
        parents=[client_options()],
        help="check that the API is up",
        description="Check that the API is up (GET /api/v1/health, or /health/detailed).",
        epilog=_status.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--detailed", action="store_true", help="health of each component too")
    parser.set_defaults(run=lambda args: run_async(_health, args))


async def _health(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        health = await (client.get_health_detailed() if args.detailed else client.get_health())
    if args.json:
        print_json(health)
    else:
        details = ", ".join(
            part
            for part in (f"version {health.version}" if health.version else "", health.environment or "")
            if part
        )
        print(f"{health.status} at {client.base_url}" + (f" ({details})" if details else ""))
        for name, component in getattr(health, "components", {}).items():
            print(f"  {name}: {component.status}" + (f" ({component.message})" if component.message else ""))
    return _status.OK if health.status.lower() == "healthy" else _status.SERVER_ERROR
