"""``loopai serve``: the local server, from `loopai.testing` (the ``server`` extra)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import _status

__all__ = ["SERVER_EXTRA", "add_parser", "add_serve_arguments"]

#: Top-level modules of the ``server`` extra: a missing one means the extra is not installed.
SERVER_EXTRA = frozenset(
    {"starlette", "hypercorn", "jsonschema", "sniffio", "hypothesis", "h11", "h2", "wsproto"}
)
HINT = "pip install 'loopai[server]'"


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    """The options of ``loopai serve`` (and of ``python -m loopai.testing``)."""
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    serve.add_argument("--seed", type=int, default=None, help="seed of sampling and fault randomness")
    serve.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="RULE",
        help="LIMIT/PERIOD[@ROUTE], e.g. 60/1m or 30/1m@*/execute; 'deployed' for the real defaults",
    )
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="KIND[=VALUE][@ROUTE][,times=N][,p=P][,retry_after=S], e.g. status=503,times=2",
    )
    serve.add_argument("--broken-rate-limiter", action="store_true", help="answer 500 instead of 429")
    serve.add_argument("--compact", action="store_true", help="compact JSON instead of Development's")
    serve.add_argument("--exact-numbers", action="store_true", help="no single-precision read-back")
    serve.add_argument("--timeout-status", action="store_true", help='report timeouts as "timeout"')
    serve.add_argument("--no-record", action="store_true", help="do not keep requests in memory")
    serve.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")


def add_parser(commands: Any) -> None:
    """Add ``serve`` to the command's subparsers."""
    serve = commands.add_parser(
        "serve",
        help="run the local Loopai server (needs loopai[server])",
        description=f"Run the local Loopai server until Ctrl-C. Needs the server extra: {HINT}.",
    )
    add_serve_arguments(serve)
    serve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Start the server, or say in one line that the extra is missing (status 2)."""
    try:
        from ..testing._cli import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in SERVER_EXTRA:
            print(f"loopai: serve needs the server extra: {HINT} (missing {exc.name})", file=sys.stderr)
            return _status.USAGE
        raise
    return serve(args)
