"""The HTTP transport: the one module of loopai that knows httpx2.

It sends a request and returns status, headers and body, and turns every
httpx2 exception into a loopai exception.  Swapping the HTTP library is a
change to this file alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias

import httpx2

from ._exceptions import (
    ConnectionException,
    InvalidArgumentException,
    ResponseDecodeException,
    TimeoutException,
)

__all__ = [
    "AsyncBaseTransport",
    "AsyncHTTPClient",
    "HttpTransport",
    "RawResponse",
    "Timeout",
    "TimeoutTypes",
    "as_timeout",
    "asgi_transport",
]

AsyncHTTPClient: TypeAlias = httpx2.AsyncClient
AsyncBaseTransport: TypeAlias = httpx2.AsyncBaseTransport
Timeout: TypeAlias = httpx2.Timeout
#: A timeout in seconds for every phase, a granular `httpx2.Timeout`, or None for none.
TimeoutTypes: TypeAlias = "float | httpx2.Timeout | None"

DEFAULT_MAX_CONNECTIONS = 100


@dataclass(frozen=True, slots=True)
class RawResponse:
    """A received response, before loopai interprets it."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes


def asgi_transport(app: Any) -> httpx2.AsyncBaseTransport:
    """A transport that calls an ASGI app in process, with no sockets."""
    return httpx2.ASGITransport(app=app)


def as_timeout(timeout: TimeoutTypes) -> httpx2.Timeout:
    """Check a timeout argument and return it as an `httpx2.Timeout`."""
    if isinstance(timeout, httpx2.Timeout):
        return timeout
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise InvalidArgumentException("timeout", f"must be seconds > 0, None or a Timeout; got {timeout!r}")
    return httpx2.Timeout(timeout)


class HttpTransport:
    """Sends requests over one connection pool.

    Args:
        timeout: Default timeout of every request.
        http_client: An `httpx2.AsyncClient` to send through; the caller keeps
            ownership and closes it.
        transport: An httpx2 transport for a pool that this object owns.
        max_connections: Size of the owned pool.
    """

    def __init__(
        self,
        *,
        timeout: TimeoutTypes,
        http_client: httpx2.AsyncClient | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx2.AsyncClient):
            raise InvalidArgumentException(
                "http_client", f"must be an httpx2.AsyncClient, got {type(http_client).__name__}"
            )
        if http_client is not None and transport is not None:
            raise InvalidArgumentException("transport", "give http_client or transport, not both")
        if max_connections < 1:
            raise InvalidArgumentException("max_connections", "must be at least 1")
        self.timeout = as_timeout(timeout)
        self.max_connections = max_connections
        self.headers = dict(headers or {})
        self._injected_transport = transport
        self.owns_pool = http_client is None
        self.closed = False
        self._client = http_client or self._new_client(max_connections, transport)

    def _new_client(
        self, max_connections: int, transport: httpx2.AsyncBaseTransport | None
    ) -> httpx2.AsyncClient:
        limits = httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        return httpx2.AsyncClient(
            timeout=self.timeout,
            limits=limits,
            transport=transport,
            follow_redirects=False,
            headers=self.headers,
        )

    @asynccontextmanager
    async def pool_of(self, max_connections: int) -> AsyncIterator[HttpTransport]:
        """A transport whose own pool holds ``max_connections``, for one batch job.

        With an injected client or transport the pool is the caller's, so
        this transport itself is yielded.
        """
        if not self.owns_pool or self._injected_transport is not None:
            yield self
            return
        job = HttpTransport(timeout=self.timeout, max_connections=max_connections, headers=self.headers)
        try:
            yield job
        finally:
            await job.aclose()

    async def send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        timeout: TimeoutTypes,
    ) -> RawResponse:
        """Send one request and read the whole body.

        Raises:
            TimeoutException: a connect, read, write or pool timeout.
            ConnectionException: any other network or protocol failure.
            ResponseDecodeException: the body's content encoding was broken.
        """
        request_timeout = as_timeout(timeout)
        try:
            response = await self._client.request(
                method, url, content=content, headers=headers, timeout=request_timeout
            )
        except httpx2.TimeoutException as exc:
            kind = type(exc).__name__
            raise TimeoutException(f"{kind}: no answer in time", method=method, url=url) from exc
        except httpx2.DecodingError as exc:
            raise ResponseDecodeException(
                f"the response body could not be decoded: {exc}", method=method, url=url
            ) from exc
        except (httpx2.TransportError, httpx2.InvalidURL) as exc:
            raise ConnectionException(
                f"{type(exc).__name__}: {exc or 'connection failed'}", method=method, url=url
            ) from exc
        return RawResponse(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        """Close the pool if this transport owns it."""
        self.closed = True
        if self.owns_pool:
            await self._client.aclose()
