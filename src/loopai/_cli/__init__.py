"""The ``loopai`` command: a light entry point that imports each subcommand's needs only when it runs.

``loopai --help`` and ``--version`` work on every install; ``serve`` needs
the ``server`` extra and says so in one line when it is missing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._version import __version__
from . import _batch, _execute, _health, _serve, _status, _tasks

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loopai",
        description="The Loopai Cloud API from the shell: tasks, executions, batch jobs\n"
        "from files, and a local server.",
        epilog=_status.epilog() + "\n\nRun `loopai COMMAND --help` for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"loopai {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (_health, _tasks, _execute, _batch, _serve):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``loopai`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return _status.USAGE
    try:
        return int(run(args))
    except KeyboardInterrupt:
        print("loopai: interrupted", file=sys.stderr)
        return _status.INTERRUPTED
