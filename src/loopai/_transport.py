"""The HTTP transport: the one module of loopai that knows httpx2.

It sends one request, reads the body within the size cap and the attempt's
time limit, and turns every httpx2 exception into a loopai exception.
Swapping the HTTP library is a change to this file alone.
"""

from __future__ import annotations

import functools
import http.cookiejar
import math
import ssl
from collections.abc import Callable, Mapping
from contextlib import aclosing, nullcontext
from dataclasses import dataclass
from typing import Any, TypeAlias

import anyio
import httpx2

from ._body import BodyTooLarge, BoundedBody, UnsupportedEncoding
from ._exceptions import (
    ClientClosedException,
    ConnectionException,
    InvalidArgumentException,
    LoopaiException,
    ResponseDecodeException,
    ResponseTooLargeException,
    TimeoutException,
)

__all__ = [
    "ACCEPT_ENCODING",
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
#: A timeout in seconds for each attempt, a granular `httpx2.Timeout`, or None for none.
TimeoutTypes: TypeAlias = "float | httpx2.Timeout | None"

#: The encodings `BoundedBody` can undo; sent so that servers use no others.
ACCEPT_ENCODING = "gzip, deflate"


@dataclass(frozen=True, slots=True)
class RawResponse:
    """A received response, before loopai interprets it."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes


def asgi_transport(app: Any) -> httpx2.AsyncBaseTransport:
    """A transport that calls an ASGI app in process, with no sockets."""
    return httpx2.ASGITransport(app=app)


def as_timeout(timeout: object, argument: str = "timeout") -> httpx2.Timeout:
    """Check a timeout argument and return it as an `httpx2.Timeout`."""
    if isinstance(timeout, httpx2.Timeout):
        phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
        for value in phases:
            if value is not None and not (math.isfinite(value) and value > 0):
                raise InvalidArgumentException(
                    argument, f"phases must be seconds > 0 or None, got {timeout!r}"
                )
        return timeout
    if timeout is None:
        return httpx2.Timeout(None)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise InvalidArgumentException(
            argument, f"must be seconds > 0, None or an httpx2.Timeout; got {type(timeout).__name__}"
        )
    if not (math.isfinite(timeout) and timeout > 0):
        raise InvalidArgumentException(argument, f"must be a finite number of seconds > 0, got {timeout!r}")
    return httpx2.Timeout(float(timeout))


def attempt_limit(timeout: httpx2.Timeout) -> float | None:
    """Seconds one attempt may take as a whole: the longest phase limit, or None if a phase is unlimited.

    The pool phase does not count: requests wait for a connection slot in the
    pipeline, before their attempt starts.
    """
    phases = (timeout.connect, timeout.read, timeout.write)
    if any(value is None for value in phases):
        return None
    return max(value for value in phases if value is not None)


@functools.cache
def _verifying_tls_context() -> ssl.SSLContext:
    """The process's one TLS context for https URLs, built on first need (loading CAs is slow)."""
    return httpx2.create_ssl_context()


@functools.cache
def _unused_tls_context() -> ssl.SSLContext:
    """A context for plain-HTTP clients: cheap to build, and it trusts nothing if ever used."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class _RefuseAllCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def _no_cookies() -> http.cookiejar.CookieJar:
    """A jar that keeps nothing: the API authenticates by header; a server's cookies must not break calls."""
    return http.cookiejar.CookieJar(policy=_RefuseAllCookies())


def _is_permanent_tls_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLError):
            return not isinstance(cause, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError))
        cause = cause.__cause__ or cause.__context__
    return False


class HttpTransport:
    """Sends requests over one connection pool.

    Args:
        tls: Whether the base URL needs TLS (decides which TLS context the pool gets).
        timeout: Default timeout of every attempt.
        http_client: An `httpx2.AsyncClient` to send through; the caller keeps
            ownership and closes it.
        transport: An httpx2 transport for a pool that this object owns.
        max_connections: Size of the owned pool.
        headers: Headers the owned pool sends with every request.
        max_response_bytes: Largest decoded body read before giving up.
        redact: Scrubs secrets out of library error messages.
    """

    def __init__(
        self,
        *,
        tls: bool,
        timeout: httpx2.Timeout,
        http_client: httpx2.AsyncClient | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        max_connections: int,
        headers: Mapping[str, str],
        max_response_bytes: int,
        redact: Callable[[str], str],
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx2.AsyncClient):
            raise InvalidArgumentException(
                "http_client", f"must be an httpx2.AsyncClient, got {type(http_client).__name__}"
            )
        if http_client is not None and transport is not None:
            raise InvalidArgumentException("transport", "give http_client or transport, not both")
        self.max_response_bytes = max_response_bytes
        self.owns_pool = http_client is None
        self.closed = False
        self._redact = redact
        if http_client is None:
            limits = httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
            http_client = httpx2.AsyncClient(
                timeout=timeout,
                limits=limits,
                transport=transport,
                verify=_verifying_tls_context() if tls else _unused_tls_context(),
                follow_redirects=False,
                headers=headers,
                cookies=_no_cookies(),
            )
        self._client = http_client

    async def send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        time_limits: httpx2.Timeout,
        display_url: str,
    ) -> RawResponse:
        """Send one request and read the whole body, within ``time_limits`` as a whole.

        Raises:
            TimeoutException: the attempt took longer than its limit.
            ConnectionException: a network or protocol failure (``retryable``
                says whether it can heal).
            ResponseTooLargeException: the decoded body passed the size cap.
            ResponseDecodeException: the body's content encoding was broken.
            ClientClosedException: the HTTP client was closed.
        """
        limit = attempt_limit(time_limits)
        try:
            with anyio.fail_after(limit) if limit is not None else nullcontext():
                return await self._exchange(method, url, content, headers, time_limits, display_url)
        except TimeoutError:
            raise TimeoutException(
                f"no complete answer within the attempt's timeout of {limit:g} s",
                method=method,
                url=display_url,
            ) from None
        except LoopaiException:
            raise
        except httpx2.TimeoutException as exc:
            raise TimeoutException(
                f"{type(exc).__name__}: no answer in time", method=method, url=display_url
            ) from exc
        except httpx2.DecodingError as exc:
            raise ResponseDecodeException(
                f"the response body could not be decoded: {type(exc).__name__}",
                method=method,
                url=display_url,
            ) from exc
        except httpx2.LocalProtocolError:
            # Its message quotes the offending header, which may be a credential.
            raise ConnectionException(
                "LocalProtocolError: the HTTP library refused to send this request (an illegal header?)",
                retryable=False,
                method=method,
                url=display_url,
            ) from None
        except (httpx2.UnsupportedProtocol, httpx2.InvalidURL) as exc:
            raise self._connection_error(exc, method, display_url, retryable=False) from exc
        except httpx2.TransportError as exc:
            retryable = not _is_permanent_tls_failure(exc)
            raise self._connection_error(exc, method, display_url, retryable=retryable) from exc
        except httpx2.HTTPError as exc:
            raise self._connection_error(exc, method, display_url, retryable=True) from exc
        except RuntimeError as exc:
            if not self._client.is_closed:
                raise
            raise ClientClosedException(
                "the HTTP client was closed during the call", method=method, url=display_url
            ) from exc

    async def _exchange(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        time_limits: httpx2.Timeout,
        display_url: str,
    ) -> RawResponse:
        request = self._client.build_request(
            method, url, content=content, headers=headers, timeout=time_limits
        )
        response = await self._client.send(request, stream=True)
        try:
            if response.is_stream_consumed:
                # A transport that answered from memory (a mock) has already decoded the body.
                body = BoundedBody("", self.max_response_bytes)
                body.feed(response.content)
            else:
                body = BoundedBody(response.headers.get("content-encoding", ""), self.max_response_bytes)
                body.expect(response.headers.get("content-length", ""))
                async with aclosing(response.aiter_raw()) as chunks:
                    async for chunk in chunks:
                        body.feed(chunk)
            content_bytes = body.finish()
        except BodyTooLarge:
            raise ResponseTooLargeException(
                "the response body is larger than max_response_bytes"
                f" ({self.max_response_bytes:,} bytes decoded); reading stopped there",
                limit=self.max_response_bytes,
                status_code=response.status_code,
                method=method,
                url=display_url,
            ) from None
        except UnsupportedEncoding as exc:
            raise ResponseDecodeException(
                f"the body's Content-Encoding cannot be read: {exc}",
                status_code=response.status_code,
                method=method,
                url=display_url,
            ) from None
        finally:
            await response.aclose()
        return RawResponse(response.status_code, response.headers, content_bytes)

    def _connection_error(
        self, exc: BaseException, method: str, display_url: str, *, retryable: bool
    ) -> ConnectionException:
        detail = self._redact(str(exc))[:300] or "connection failed"
        return ConnectionException(
            f"{type(exc).__name__}: {detail}",
            original_exception=exc,
            retryable=retryable,
            method=method,
            url=display_url,
        )

    async def aclose(self) -> None:
        """Close the pool if this transport owns it."""
        self.closed = True
        if self.owns_pool:
            await self._client.aclose()
