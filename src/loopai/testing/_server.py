"""`LocalServer`: the local Loopai server, its switches, recorder and faults."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio

from ._app import build_api
from ._faults import Fault, FaultPlan
from ._programs import Program
from ._quirks import ServerQuirks
from ._rate_limiter import RateLimiter, RateLimitRule
from ._store import Store
from ._wire import format_ticks, now_ticks, render

__all__ = ["LocalServer", "RecordedRequest", "ServerQuirks"]

BODY_LIMIT = 30_000_000
_Scope = dict[str, Any]
_Message = dict[str, Any]
_Receive = Callable[[], Any]
_Send = Callable[[_Message], Any]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    time: float
    client: str
    in_flight: int


@dataclass(frozen=True)
class RecordedRefusal:
    """One request the rate limiter refused."""

    method: str
    path: str
    time: float


@dataclass
class _Waiters:
    event: anyio.Event | None = None

    def notify(self) -> None:
        if self.event is not None:
            self.event.set()
            self.event = None

    async def wait(self) -> None:
        if self.event is None:
            self.event = anyio.Event()
        await self.event.wait()


class LocalServer:
    """A local stand-in for the Loopai Cloud API, as an ASGI application.

    Run it in process (``httpx2.ASGITransport``, see `in_process_client`), over
    loopback TCP with `serve`, or from the command line (``loopai serve``).

    Args:
        seed: Seeds the random source of validation sampling and of faults.
        quirks: The deployed server's quirks to reproduce (default: all but
            the broken rate limiter, which only matters with rate limits on).
        rate_limits: Rules to enforce per client IP, method and path; none
            by default (`DEPLOYED_RULES` are the real server's).
        faults: Fault rules; add more later through ``server.faults``.
        record: Keep every request in ``server.requests``.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        quirks: ServerQuirks | None = None,
        rate_limits: Iterable[RateLimitRule] = (),
        faults: Iterable[Fault] = (),
        record: bool = True,
        version: str = "1.0.0",
        environment: str = "Development",
    ) -> None:
        self.quirks = quirks or ServerQuirks()
        self.store = Store(seed)
        self.faults = FaultPlan(seed=seed, rules=list(faults))
        rules = tuple(rate_limits)
        self.rate_limiter = RateLimiter(rules, time.time) if rules else None
        self.record = record
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        #: Requests the rate limiter refused (429, or 500 with the broken limiter), in order of arrival.
        self.rate_limited: list[RecordedRefusal] = []
        self.executions = 0
        self.version = version
        self.environment = environment
        self.components: dict[str, str] = {
            "database": "healthy",
            "redis": "healthy",
            "deno": "healthy",
        }
        self.url: str | None = None
        self._async_programs: set[str] = set()
        self._waiters = _Waiters()
        self._api: Any = build_api(self)

    # --- configuration from tests -------------------------------------------------

    def register_program(self, task_name: str, program: Program, *, is_async: bool | None = None) -> None:
        """Run ``program`` for the task of this name (case-insensitive) instead of the built-in one.

        The program takes the input dict and returns the output; it may be
        async.  An exception becomes an execution with status "error" and
        the exception's message.
        """
        import inspect

        key = task_name.lower()
        self.store.programs[key] = program
        if is_async if is_async is not None else inspect.iscoroutinefunction(program):
            self._async_programs.add(key)

    def has_async_program(self, task: Any) -> bool:
        """Whether the task's program is async (then batch items run concurrently)."""
        return str(task.name).lower() in self._async_programs

    def set_component(self, name: str, status: str) -> None:
        """Set a dependency's health (``"healthy"`` or anything else)."""
        self.components[name] = status

    def requests_to(self, route: str = "*", method: str = "*") -> list[RecordedRequest]:
        """The recorded requests whose path matches the glob ``route``."""
        probe = Fault("latency", route=route, method=method)
        return [r for r in self.requests if probe.matches(r.method, r.path)]

    async def wait_for_requests(self, count: int, route: str = "*") -> list[RecordedRequest]:
        """Wait until at least ``count`` requests to ``route`` have arrived."""
        while len(matching := self.requests_to(route)) < count:
            await self._waiters.wait()
        return matching

    def reset_records(self) -> None:
        """Forget recorded requests and the peak concurrency."""
        self.requests.clear()
        self.rate_limited.clear()
        self.peak_in_flight = self.in_flight

    # --- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        answered = False

        def done() -> None:
            nonlocal answered
            if not answered:
                answered = True
                self.in_flight -= 1

        async def send_counted(message: _Message) -> None:
            # A request stops counting once its last byte is handed over, not when the
            # handler's tail ends: by then the client may rightly have sent the next one.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                done()
            await send(message)

        try:
            await self._handle(scope, receive, send_counted)
        finally:
            done()

    async def _handle(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        body, too_large = await _read_body(receive)
        method, path = scope["method"], scope["path"]
        client = (scope.get("client") or ("local", 0))[0]
        if self.record:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            query = scope.get("query_string", b"").decode("latin-1")
            self.requests.append(
                RecordedRequest(method, path, query, headers, body, time.time(), client, self.in_flight)
            )
        self._waiters.notify()
        if too_large:
            await _respond(send, 413, b"", [])
            return
        if self.rate_limiter is not None:
            allowed, limit_headers = self.rate_limiter.admit(client, method, path)
            if not allowed:
                self.rate_limited.append(RecordedRefusal(method, path, time.time()))
                await self._rate_limited(send, limit_headers)
                return
            send = _with_headers(send, limit_headers)
        fault = self.faults.pick(method, path)
        if fault is not None and fault.delay and await _client_left_during(anyio.sleep(fault.delay), receive):
            return
        if fault is not None and fault.kind != "latency":
            await self._inject(fault, scope, body, send)
            return
        # Like ASP.NET's RequestAborted: a request whose client has gone is abandoned.
        await _client_left_during(
            self._api(_api_scope(scope), _replay(body), _with_version_header(send)), receive
        )

    async def _rate_limited(self, send: _Send, headers: dict[str, str]) -> None:
        if self.quirks.broken_rate_limiter:
            body = self._error_body(
                "INTERNAL_ERROR",
                "An unexpected error occurred",
                "Input string was not in a correct format.",
            )
            await _respond(send, 500, body, [("content-type", "application/json; charset=utf-8")])
            return
        message = "Rate limit exceeded. Please try again later."
        body = render({"code": "RATE_LIMIT_EXCEEDED", "message": message}, pretty=False)
        pairs = [
            ("content-type", "application/json"),
            *((k.lower(), v) for k, v in headers.items()),
        ]
        await _respond(send, 429, body, pairs)

    def _error_body(self, code: str, message: str, details: str | None = None) -> bytes:
        body = {
            "code": code,
            "message": message,
            "trace_id": "0HNLOCAL:00000001",
            "timestamp": format_ticks(now_ticks(), fresh=True),
        }
        if details:
            body["details"] = details
        return render(body, pretty=self.quirks.pretty_json)

    async def _inject(self, fault: Fault, scope: _Scope, body: bytes, send: _Send) -> None:
        json_type = ("content-type", "application/json; charset=utf-8")
        if fault.kind == "status":
            default = "INTERNAL_ERROR" if fault.status >= 500 else "INJECTED_FAULT"
            if fault.status == 429:
                default = "RATE_LIMIT_EXCEEDED"
            content = self._error_body(fault.code or default, f"Injected fault: HTTP {fault.status}")
            headers = [json_type]
            if fault.retry_after is not None:
                headers.append(("retry-after", str(fault.retry_after)))
            await _respond(send, fault.status, content, headers)
        elif fault.kind == "malformed":
            await _respond(send, 200, b'{"execution_id": <html>Bad gateway', [json_type])
        elif fault.kind == "drop":
            # Headers promise a body that never comes; the server then closes the connection.
            promised = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
            await send({"type": "http.response.start", "status": 200, "headers": promised})
        elif fault.kind == "truncated":
            status, raw_headers, content = await _capture(self._api, _api_scope(scope), body)
            kept = [(k.decode(), v.decode()) for k, v in raw_headers if k.lower() != b"content-length"]
            await _respond(send, status, content[: len(content) // 2], kept)

    # --- running ------------------------------------------------------------------------

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve over TCP with hypercorn while the block runs; yields the base URL.

        Port 0 picks a free port.  The socket is listening before the block
        starts, so requests can be sent at once.  Works under asyncio and trio.
        """
        import sniffio
        from hypercorn.config import Config

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(1024)
        except BaseException:
            sock.close()
            raise
        bound_port = sock.getsockname()[1]
        config = Config()
        config.bind = [f"fd://{sock.detach()}"]
        config.accesslog = None
        config.errorlog = logging.getLogger("loopai.testing.server")
        config.graceful_timeout = 1.0
        config.keep_alive_timeout = 30.0
        config.backlog = 1024
        if sniffio.current_async_library() == "trio":
            from hypercorn.trio import serve as backend_serve
        else:
            from hypercorn.asyncio import serve as backend_serve  # type: ignore[assignment]
        stop = anyio.Event()
        shown_host = f"[{host}]" if family == socket.AF_INET6 else host
        self.url = f"http://{shown_host}:{bound_port}"
        done = anyio.Event()

        async def run() -> None:
            try:
                app: Any = self
                await backend_serve(app, config, shutdown_trigger=stop.wait, mode="asgi")
            finally:
                done.set()

        failure: BaseException | None = None
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(run)
                try:
                    yield self.url
                except BaseException as exc:
                    failure = exc
                finally:
                    # hypercorn's graceful shutdown does not survive being cancelled.
                    with anyio.CancelScope(shield=True):
                        stop.set()
                        await done.wait()
        finally:
            self.url = None
        if failure is not None:
            raise failure

    @contextmanager
    def serve_in_thread(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        backend: str = "asyncio",
        backend_options: Mapping[str, Any] | None = None,
    ) -> Iterator[str]:
        """Serve over TCP from a background thread while the block runs; yields the base URL.

        For blocking code (`SyncLoopaiClient`, plain test functions), tests of
        other languages' clients, and async tests whose own loop must not
        host the server.  The thread runs its own event loop (``backend``,
        asyncio by default); the socket is listening before the block starts,
        and the server has stopped when it ends.  Requests are recorded as
        with `serve`; `wait_for_requests` works only on the server's own loop.
        """
        from anyio.from_thread import start_blocking_portal

        with (
            start_blocking_portal(backend, dict(backend_options or {}), name="loopai-local-server") as portal,
            portal.wrap_async_context_manager(self.serve(host, port)) as url,
        ):
            yield url


async def _lifespan(receive: _Receive, send: _Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: _Receive) -> tuple[bytes, bool]:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= BODY_LIMIT:
            parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts), size > BODY_LIMIT


async def _client_left_during(work: Awaitable[None], receive: _Receive) -> bool:
    """Await ``work``; True if the client disconnected first (then ``work`` is cancelled)."""
    left = False
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            nonlocal left
            while (await receive())["type"] != "http.disconnect":
                pass
            left = True
            group.cancel_scope.cancel()

        group.start_soon(watch)
        await work
        group.cancel_scope.cancel()
    return left


def _replay(body: bytes) -> _Receive:
    sent = False

    async def receive() -> _Message:
        nonlocal sent
        if sent:
            await anyio.sleep_forever()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _api_scope(scope: _Scope) -> _Scope:
    # ASP.NET Core routes are case-insensitive; ids are GUIDs, so lower-casing is safe.
    path = scope["path"].lower()
    return {**scope, "path": path, "raw_path": path.encode()}


def _with_headers(send: _Send, headers: dict[str, str]) -> _Send:
    extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def wrapped(message: _Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped


def _with_version_header(send: _Send) -> _Send:
    async def wrapped(message: _Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), (b"api-supported-versions", b"1.0")]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


async def _respond(send: _Send, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers]
    raw += [(b"content-length", str(len(body)).encode()), (b"api-supported-versions", b"1.0")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _capture(app: Any, scope: _Scope, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    parts: list[bytes] = []

    async def collect(message: _Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    await app(scope, _replay(body), collect)
    return status, headers, b"".join(parts)
