"""The loopai exception hierarchy.

Every error that reaches a user is a `LoopaiException`; transport libraries'
exceptions never escape.  Each carries what a support request needs: the HTTP
status, the server's error code and trace id, the parsed body, the request
line, and how many attempts were made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uuid import UUID

    from ._models import ExecutionResult

__all__ = [
    "AuthenticationException",
    "BatchException",
    "ClientClosedException",
    "ConflictException",
    "ConnectionException",
    "ExecutionException",
    "InvalidArgumentException",
    "LoopaiException",
    "NotFoundException",
    "RateLimitException",
    "RedirectException",
    "ResponseDecodeException",
    "ResponseTooLargeException",
    "ServerException",
    "TimeoutException",
    "ValidationException",
]


class LoopaiException(Exception):
    """Base class of every error raised by loopai.

    Attributes:
        message: What went wrong, in words.
        status_code: The HTTP status, or None when no response arrived.
        code: The server's error code (``TASK_NOT_FOUND``, ...), when it sent one.
        trace_id: The server's trace id, to quote in a support request.
        body: The parsed response body (JSON value, text, or None).
        method: The HTTP method of the failed request, when there was one.
        url: The URL of the failed request, when there was one.
        attempts: How many attempts were made before giving up.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        trace_id: str | None = None,
        body: Any = None,
        method: str | None = None,
        url: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.trace_id = trace_id
        self.body = body
        self.method = method
        self.url = url
        self.attempts = attempts

    def __str__(self) -> str:
        head = " ".join(str(part) for part in (self.status_code, self.code) if part is not None)
        text = f"{head}: {self.message}" if head else self.message
        context = []
        if self.method and self.url:
            context.append(f"{self.method} {self.url}")
        if self.trace_id:
            context.append(f"trace_id={self.trace_id}")
        if self.attempts > 1:
            context.append(f"after {self.attempts} attempts")
        return f"{text} ({'; '.join(context)})" if context else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from the message and attributes, whatever the subclass's
        # __init__ takes; a wrapped library exception is left behind (it may
        # hold what loopai keeps out of its own messages).
        state = {k: v for k, v in self.__dict__.items() if k != "original_exception"}
        return (_rebuild, (type(self), self.args, state))


def _rebuild(cls: type[LoopaiException], args: tuple[Any, ...], state: dict[str, Any]) -> LoopaiException:
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(state)
    exc.__dict__.setdefault("original_exception", None)
    return exc


class ValidationException(LoopaiException):
    """The request was refused as invalid (HTTP 400 or 422).

    Attributes:
        errors: Messages per field, from the server's ``details`` list or from
            a ProblemDetails ``errors`` object; empty when the server named none.
    """

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.errors: dict[str, list[str]] = errors or {}


class InvalidArgumentException(ValidationException, ValueError):
    """An argument was refused before any request was sent.

    Raised for values the server would reject or accept and then fail on; the
    message names the argument and the limit.  It is also a `ValueError`.
    """

    def __init__(self, argument: str, problem: str) -> None:
        super().__init__(f"{argument}: {problem}", errors={argument: [problem]})
        self.argument = argument


class AuthenticationException(LoopaiException):
    """The server refused the credentials (HTTP 401 or 403)."""


class NotFoundException(LoopaiException):
    """The task, artifact or route does not exist (HTTP 404)."""


class ConflictException(LoopaiException):
    """The request conflicts with existing state, e.g. a taken task name (HTTP 409)."""


class RateLimitException(LoopaiException):
    """The server's rate limit was hit (HTTP 429).

    Attributes:
        retry_after: Seconds the server asked to wait, when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ExecutionException(LoopaiException):
    """A program execution failed, or the server failed (HTTP 5xx).

    Raised by `LoopaiClient.execute` when the server ran the program and
    reported ``status`` ``"error"`` or ``"timeout"``; then ``execution_id``
    and ``result`` are set.

    Attributes:
        execution_id: The failed execution's id, when it ran.
        result: The full `ExecutionResult`, when it ran.
    """

    def __init__(
        self,
        message: str,
        *,
        execution_id: UUID | None = None,
        result: ExecutionResult | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.execution_id = execution_id
        self.result = result


class ServerException(ExecutionException):
    """The server answered with a 5xx status.

    Attributes:
        retry_after: Seconds the server asked to wait (``Retry-After``), when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ConnectionException(LoopaiException):
    """The server could not be reached, or the connection broke.

    Attributes:
        original_exception: The HTTP library's exception, when there was one
            (not kept across pickling).
        retryable: Whether the failure can go away on its own (a refused or
            dropped connection) rather than being permanent (TLS spoken to a
            plain-HTTP port, a request the HTTP library refuses to send).
    """

    def __init__(
        self,
        message: str,
        *,
        original_exception: BaseException | None = None,
        retryable: bool = True,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.original_exception = original_exception
        self.retryable = retryable


class TimeoutException(ConnectionException):
    """The request timed out (connect, read, write or waiting for a connection)."""


class ResponseDecodeException(LoopaiException):
    """The server's response did not have the documented shape.

    A body that is cut off, not JSON, not valid UTF-8, nested too deeply or
    not of the endpoint's model.  It is retried like any transient failure.
    """


class ResponseTooLargeException(LoopaiException):
    """A response body, once decompressed, exceeded the client's ``max_response_bytes``.

    Reading stops at the limit, so memory stays bounded; it is not retried.

    Attributes:
        limit: The limit in bytes that was exceeded.
    """

    def __init__(self, message: str, *, limit: int = 0, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.limit = limit


class RedirectException(LoopaiException):
    """The server answered with a redirect (3xx), which loopai never follows.

    Following it could send the API key to another host; point ``base_url``
    at the final address instead.

    Attributes:
        location: The redirect's ``Location`` header, when it sent one.
    """

    def __init__(self, message: str, *, location: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.location = location


class ClientClosedException(LoopaiException, RuntimeError):
    """A method was called on a client that has been closed."""


class BatchException(LoopaiException):
    """A batch job stopped on an unexpected error.

    Raised from the job's `ExceptionGroup` (see ``__cause__``), whatever
    number of tasks failed, so the type never depends on timing or backend.
    Failures of chunks or items are not this: they are reported per item.
    """
