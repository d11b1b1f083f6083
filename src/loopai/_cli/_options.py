"""What every client command shares: connection options, the client, the async run, error lines."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from . import _status

if TYPE_CHECKING:
    from .. import LoopaiClient

__all__ = ["client_options", "make_client", "print_json", "run_async", "usage_error"]


def client_options() -> argparse.ArgumentParser:
    """A parent parser with the options of every command that talks to the API."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("connection")
    group.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="the API's address (default: $LOOPAI_BASE_URL, then http://localhost:8080)",
    )
    group.add_argument(
        "--api-key",
        default=None,
        metavar="KEY",
        help="API key (default: $LOOPAI_API_KEY; prefer the variable: arguments show in `ps`)",
    )
    group.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="per request (default 30)"
    )
    group.add_argument(
        "--max-retries", type=int, default=3, metavar="N", help="retries of transient failures (default 3)"
    )
    group.add_argument("--json", action="store_true", help="print JSON for machines instead of text")
    group.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio", help=argparse.SUPPRESS)
    return options


def make_client(args: argparse.Namespace) -> LoopaiClient:
    """The client the options describe."""
    from .. import LoopaiClient

    return LoopaiClient(
        base_url=args.base_url, api_key=args.api_key, timeout=args.timeout, max_retries=args.max_retries
    )


def usage_error(message: str) -> int:
    """Print a usage error line; the usage status."""
    print(f"loopai: error: {message}", file=sys.stderr)
    return _status.USAGE


def run_async(function: Callable[[argparse.Namespace], Awaitable[int]], args: argparse.Namespace) -> int:
    """Run a command's coroutine on the chosen backend; a loopai error becomes one line and a status."""
    import anyio

    from .. import LoopaiException

    try:
        return anyio.run(function, args, backend=args.backend)
    except LoopaiException as exc:
        print(_status.format_error(exc), file=sys.stderr)
        return _status.status_for(exc)
    except ModuleNotFoundError as exc:
        if exc.name == "trio":
            return usage_error("the trio backend needs `pip install 'loopai[trio]'`")
        raise


def print_json(value: Any) -> None:
    """Print a model or JSON value as indented JSON."""
    import msgspec

    data = msgspec.json.format(msgspec.json.encode(value), indent=2)
    sys.stdout.write(data.decode() + "\n")
