"""A hostile HTTP/1.1 server on loopback, for tests: it misbehaves at the byte level.

The server runs on background threads (plain `socket` and `threading`), so it
is the same under asyncio and trio.  Each connection reads one request at a
time and hands it to a *scenario*, a function that writes whatever bytes it
likes to the connection::

    def slow_health(conn: Connection, request: Request) -> None:
        conn.drip(response_head(200, {"Content-Length": "1000"}), interval=0.3)

    with HostileServer(slow_health) as server:
        ... server.url, server.requests, server.connections ...

Helpers build responses (`response_bytes`, `chunked`, `gzip_layers`) and
whole scenarios (`respond`, `sequence`, `hold`, `drip_response`,
`close_at_once`, `batch_echo`).  Everything the server received is recorded,
so tests can assert "sent once" or "never sent to that host".  Leaving the
`with` block closes every socket and joins every thread, within a bound.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "HEALTH_BODY",
    "Connection",
    "HostileServer",
    "Request",
    "ResponseSlot",
    "Scenario",
    "batch_answer",
    "batch_echo",
    "chunked",
    "close_at_once",
    "drip_response",
    "gzip_layers",
    "gzip_zeros",
    "hold",
    "respond",
    "response_bytes",
    "response_head",
    "sequence",
    "stream_response",
]

#: A valid HealthResponse body.
HEALTH_BODY = b'{"status":"Healthy","timestamp":"2026-11-27T00:00:00Z","version":"1.0"}'

_JOIN_TIMEOUT = 5.0
_POLL = 0.05


@dataclass(frozen=True)
class Request:
    """One request as the server received it."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes
    connection: int

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.split("?", 1)[0]

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class Connection:
    """One accepted connection, as a scenario sees it."""

    def __init__(self, sock: socket.socket, server: HostileServer, number: int) -> None:
        self.sock = sock
        self.server = server
        self.number = number
        self.open = True
        self._buffer = b""

    @property
    def stopping(self) -> bool:
        """Whether the server is shutting down (scenarios that wait must end)."""
        return self.server.stopping.is_set()

    def send(self, data: bytes) -> bool:
        """Write all of ``data``; False (and the connection closed) if the peer went away."""
        view = memoryview(data)
        while view:
            if not self.open or self.stopping:
                self.close()
                return False
            try:
                sent = self.sock.send(view)
            except TimeoutError:
                continue  # the client is slow to read, not gone
            except OSError:
                self.close()
                return False
            view = view[sent:]
        return self.open

    def drip(self, data: bytes, interval: float) -> bool:
        """Write ``data`` one byte every ``interval`` seconds, until done, the peer leaves, or shutdown."""
        for index in range(len(data)):
            if not self.send(data[index : index + 1]):
                return False
            if self.server.stopping.wait(interval):
                return False
        return True

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False if the server is shutting down meanwhile."""
        return not self.server.stopping.wait(seconds)

    def close(self) -> None:
        """Close the connection (the client sees the end of the stream)."""
        if self.open:
            self.open = False
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()

    def read_request(self) -> Request | None:
        """The next request on the connection, or None when the peer closed it or it is not HTTP."""
        while b"\r\n\r\n" not in self._buffer:
            if not self._receive():
                return None
            if self._buffer and not self._buffer[:1].isalpha():
                return None  # not HTTP (TLS, garbage): the caller answers 400 and closes
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            return None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or "0")
        while len(self._buffer) < length:
            if not self._receive():
                return None
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return Request(method, target, headers, body, self.number)

    def _receive(self) -> bool:
        while not self.stopping:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return False
            if not data:
                return False
            self._buffer += data
            return True
        return False


#: A scenario writes the answer to one request (or misbehaves instead).
Scenario = Callable[[Connection, Request], None]


class HostileServer:
    """A raw-socket HTTP/1.1 server on 127.0.0.1 that runs ``scenario`` for each request.

    Attributes:
        url: ``http://127.0.0.1:<port>`` once entered.
        requests: Every request received, in order.
        connections: How many connections were accepted.
        stopping: Set when the server shuts down; waiting scenarios end on it.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.url = ""
        self.port = 0
        self.requests: list[Request] = []
        self.connections = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._received = threading.Condition(self._lock)
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def __repr__(self) -> str:
        return f"HostileServer({self.url!r}, requests={len(self.requests)}, connections={self.connections})"

    def __enter__(self) -> Self:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(_POLL)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._start(self._accept_loop, "hostile-accept")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopping.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)
        deadline = time.monotonic() + _JOIN_TIMEOUT
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        for sock in sockets:
            sock.close()
        if self._listener is not None:
            self._listener.close()
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        if alive and exc_type is None:
            raise AssertionError(f"hostile server threads still running: {alive}")

    # --- what was received ------------------------------------------------------

    def requests_to(self, path: str) -> list[Request]:
        """The requests whose path is ``path``."""
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` requests arrived (for `anyio.to_thread.run_sync`); False on timeout."""
        with self._received:
            return self._received.wait_for(lambda: len(self.requests) >= count, timeout)

    # --- threads ------------------------------------------------------------------

    def _start(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(_POLL)
            with self._lock:
                self.connections += 1
                number = self.connections
                self._sockets.append(sock)
            self._start(self._serve, f"hostile-conn-{number}", Connection(sock, self, number))

    def _serve(self, conn: Connection) -> None:
        try:
            while conn.open and not self.stopping.is_set():
                request = conn.read_request()
                if request is None:
                    if conn.open and conn._buffer:
                        conn.send(response_bytes(400, {"Connection": "close"}, b"not HTTP"))
                    break
                with self._received:
                    self.requests.append(request)
                    self._received.notify_all()
                self.scenario(conn, request)
        finally:
            conn.close()
            with self._lock:
                self._sockets.remove(conn.sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


# --- response bytes ----------------------------------------------------------------


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Whatever"


def response_head(
    status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]] = (), *, reason: str | None = None
) -> bytes:
    """A status line and headers, ending with the blank line; no header is added."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    lines = [f"HTTP/1.1 {status} {_reason(status) if reason is None else reason}"]
    lines += [f"{name}: {value}" for name, value in pairs]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response_bytes(status: int, headers: Mapping[str, str] | None = None, body: bytes = b"") -> bytes:
    """A whole response; Content-Length is added unless given (or Transfer-Encoding is)."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    names = {name.lower() for name in all_headers}
    if "content-length" not in names and "transfer-encoding" not in names:
        all_headers["Content-Length"] = str(len(body))
    return response_head(status, all_headers) + body


def chunked(body: bytes, chunk_size: int = 65536) -> bytes:
    """``body`` in HTTP/1.1 chunked transfer coding."""
    parts = [
        f"{len(body[i : i + chunk_size]):x}\r\n".encode() + body[i : i + chunk_size] + b"\r\n"
        for i in range(0, len(body), chunk_size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


def gzip_layers(body: bytes, layers: int) -> bytes:
    """``body`` gzipped ``layers`` times (send with ``Content-Encoding: gzip, gzip, ...``)."""
    for _ in range(layers):
        body = gzip.compress(body)
    return body


def gzip_zeros(size: int) -> bytes:
    """``size`` zero bytes gzipped, without holding them in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = [
        compressor.compress(block[: min(len(block), size - start)]) for start in range(0, size, len(block))
    ]
    parts.append(compressor.flush())
    return b"".join(parts)


# --- scenarios ----------------------------------------------------------------------


def respond(
    status: int = 200, headers: Mapping[str, str] | None = None, body: bytes = HEALTH_BODY
) -> Scenario:
    """Answer every request with the same response."""
    data = response_bytes(status, headers, body)

    def scenario(conn: Connection, request: Request) -> None:
        conn.send(data)

    return scenario


def sequence(*scenarios: Scenario) -> Scenario:
    """The n-th request (over all connections) gets the n-th scenario; the last one repeats."""
    lock = threading.Lock()
    count = [0]

    def scenario(conn: Connection, request: Request) -> None:
        with lock:
            index = min(count[0], len(scenarios) - 1)
            count[0] += 1
        scenarios[index](conn, request)

    return scenario


def close_at_once(conn: Connection, request: Request) -> None:
    """Close the connection without answering."""
    conn.close()


def hold(release: threading.Event, then: Scenario) -> Scenario:
    """Say nothing until ``release`` is set (or shutdown), then run ``then``."""

    def scenario(conn: Connection, request: Request) -> None:
        while not release.wait(_POLL):
            if conn.stopping:
                return
        then(conn, request)

    return scenario


def drip_response(data: bytes, interval: float) -> Scenario:
    """Send ``data`` one byte every ``interval`` seconds until the client goes away."""

    def scenario(conn: Connection, request: Request) -> None:
        conn.drip(data, interval)
        conn.close()

    return scenario


def stream_response(head: bytes, body: Iterable[bytes]) -> Scenario:
    """Send ``head`` then the body's pieces as they are produced, until the client goes away."""

    def scenario(conn: Connection, request: Request) -> None:
        if conn.send(head):
            for piece in body:
                if conn.stopping or not conn.send(piece):
                    break
        conn.close()

    return scenario


def batch_answer(request: Request, *, fail: Sequence[str] = ()) -> bytes:
    """A valid BatchExecuteResponse for a batch request, echoing its item ids (those in ``fail`` failed)."""
    payload = request.json()
    results = [
        {"id": item["id"], "success": True, "output": "ok", "latency_ms": 1.0}
        if item["id"] not in fail
        else {"id": item["id"], "success": False, "error_message": "failed on purpose", "latency_ms": 1.0}
        for item in payload["items"]
    ]
    failures = sum(1 for result in results if not result["success"])
    body = {
        "batch_id": str(uuid.uuid4()),
        "task_id": payload["task_id"],
        "version": 1,
        "total_items": len(results),
        "success_count": len(results) - failures,
        "failure_count": failures,
        "total_duration_ms": 1.0,
        "avg_latency_ms": 1.0,
        "results": results,
        "started_at": "2026-11-27T00:00:00Z",
        "completed_at": "2026-11-27T00:00:01Z",
    }
    return json.dumps(body).encode()


def batch_echo(conn: Connection, request: Request) -> None:
    """Answer a POST /api/v1/batch/execute correctly: every item succeeds."""
    conn.send(response_bytes(200, None, batch_answer(request)))


class ResponseSlot:
    """A scenario that sends whatever raw bytes were put in ``response``, then closes.

    For fuzzing: one server per test, a new response per example.
    """

    def __init__(self) -> None:
        self.response = response_bytes(200, None, HEALTH_BODY)

    def __repr__(self) -> str:
        return f"ResponseSlot({self.response[:200]!r})"

    def __call__(self, conn: Connection, request: Request) -> None:
        conn.send(self.response)
        conn.close()
