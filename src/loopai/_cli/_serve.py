"""``loopai serve``: the local server of `loopai.testing` (the ``server`` extra), until Ctrl-C.

The options are defined here, so ``loopai serve --help`` works without the
extra; the server itself is imported only when it runs.
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

from . import _status

if TYPE_CHECKING:
    from ..testing import LocalServer

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
    serve.add_argument(
        "--log-requests",
        action="store_true",
        help="print 'request TIME METHOD PATH STATUS AUTH' on stdout for every answer"
        " (TIME: arrival, Unix seconds; AUTH: sha256 of the Authorization header, 12 hex digits, or -)",
    )
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
    import anyio

    try:
        import loopai.testing  # noqa: F401 - fails here when the extra is missing
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in SERVER_EXTRA:
            print(f"loopai: serve needs the server extra: {HINT} (missing {exc.name})", file=sys.stderr)
            return _status.USAGE
        raise
    try:
        anyio.run(_serve, args, backend=args.backend)
    except ModuleNotFoundError as exc:
        if exc.name != "trio":
            raise
        print("loopai: the trio backend needs `pip install 'loopai[trio]'`", file=sys.stderr)
        return _status.USAGE
    except ValueError as exc:
        print(f"loopai: {exc}", file=sys.stderr)
        return _status.USAGE
    except OSError as exc:
        print(f"loopai: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return _status.ITEMS_FAILED
    return _status.OK


async def _serve(args: argparse.Namespace) -> None:
    import anyio

    from ..testing import DEPLOYED_RULES, Fault, LocalServer, RateLimitRule, ServerQuirks

    rules: list[RateLimitRule] = []
    for spec in args.rate_limit:
        rules.extend(DEPLOYED_RULES if spec == "deployed" else [RateLimitRule.parse(spec)])
    server_class = _logging_server_class(LocalServer) if args.log_requests else LocalServer
    server = server_class(
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


def _logging_server_class(base: type[LocalServer]) -> type[LocalServer]:
    """``base`` that prints one line per answer: when, method, path, status."""

    class LoggingServer(base):  # type: ignore[valid-type,misc]
        async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await super().__call__(scope, receive, send)
                return

            arrived = time.time()
            auth = dict(scope["headers"]).get(b"authorization")
            # A fingerprint, so a test can tell which key was sent without the key being printed.
            key = hashlib.sha256(auth).hexdigest()[:12] if auth else "-"

            async def logged(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status = message["status"]
                    line = f"request {arrived:.6f} {scope['method']} {scope['path']} {status} {key}"
                    print(line, flush=True)
                await send(message)

            await super().__call__(scope, receive, logged)

    return LoggingServer
