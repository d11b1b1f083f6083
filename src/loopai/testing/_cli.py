"""The local server's command line: what ``loopai serve`` and ``python -m loopai.testing`` run.

The options are defined with the ``loopai`` command (``loopai._cli._serve``),
which works without the ``server`` extra; this module needs it.
"""

from __future__ import annotations

import argparse
import signal
import sys

import anyio

__all__ = ["serve"]


async def _serve(args: argparse.Namespace) -> None:
    from ._faults import Fault
    from ._rate_limiter import DEPLOYED_RULES, RateLimitRule
    from ._server import LocalServer, ServerQuirks

    rules: list[RateLimitRule] = []
    for spec in args.rate_limit:
        rules.extend(DEPLOYED_RULES if spec == "deployed" else [RateLimitRule.parse(spec)])
    server = LocalServer(
        seed=args.seed,
        quirks=ServerQuirks(
            single_precision=not args.exact_numbers,
            pretty_json=not args.compact,
            timeout_as_error=not args.timeout_status,
            broken_rate_limiter=args.broken_rate_limiter,
        ),
        rate_limits=rules,
        faults=[Fault.parse(spec) for spec in args.fault],
        record=not args.no_record,
    )
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with server.serve(args.host, args.port) as url:
            print(f"loopai local server listening on {url} (Ctrl-C to stop)", flush=True)
            async for _ in signals:
                break
    print("loopai local server stopped", flush=True)


def serve(args: argparse.Namespace) -> int:
    """Run the server that the ``loopai serve`` options in ``args`` describe; returns the exit status."""
    try:
        anyio.run(_serve, args, backend=args.backend)
    except ModuleNotFoundError as exc:
        if exc.name != "trio":
            raise
        print("loopai: the trio backend needs `pip install 'loopai[trio]'`", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"loopai: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"loopai: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0
