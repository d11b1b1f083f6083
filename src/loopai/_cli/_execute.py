"""``loopai execute TASK_ID INPUT``: run a task's program on one input."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import _status
from ._options import client_options, make_client, print_json, run_async, usage_error

__all__ = ["add_parser"]


def add_parser(commands: Any) -> None:
    """Add ``execute`` to the command's subparsers."""
    parser = commands.add_parser(
        "execute",
        parents=[client_options()],
        help="run a task's program on one input",
        description="Run a task's program on one input object (JSON text, or - to read it from stdin)."
        " Prints the output; --json prints the whole execution result.",
        epilog=_status.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("task_id", metavar="TASK_ID")
    parser.add_argument("input", metavar="INPUT", help='the input object, e.g. \'{"text": "hi"}\', or -')
    parser.add_argument("--version", type=int, default=None, help="program version (default: the active one)")
    parser.add_argument("--timeout-ms", type=int, default=None, help="server-side limit of the run")
    parser.add_argument("--force-validation", action="store_true", help="sample this run for validation")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    import msgspec

    text = sys.stdin.read() if args.input == "-" else args.input
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        return usage_error(f"INPUT is not valid JSON: {exc}")
    if not isinstance(value, dict):
        return usage_error("INPUT must be a JSON object")
    args.input_data = value
    return run_async(_execute, args)


async def _execute(args: argparse.Namespace) -> int:
    from .. import ExecutionException

    async with make_client(args) as client:
        try:
            result = await client.execute(
                args.task_id,
                args.input_data,
                version=args.version,
                timeout_ms=args.timeout_ms,
                force_validation=args.force_validation,
            )
        except ExecutionException as exc:
            if args.json and exc.result is not None:
                print_json(exc.result)
            raise
    if args.json:
        print_json(result)
        return _status.OK
    from ._render import value_text

    print(value_text(result.output))
    if sys.stdout.isatty():
        print(
            f"(execution {result.id}, version {result.version}, {result.latency_ms:.1f} ms)",
            file=sys.stderr,
        )
    return _status.OK
