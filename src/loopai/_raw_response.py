"""What the server answered, beside the parsed result: ``client.with_raw_response``."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._pipeline import Answer, capture_answers

__all__ = ["LoopaiResponse", "RateLimitInfo", "WithRawResponse"]

T = TypeVar("T")

_TRACE_HEADERS = ("x-trace-id", "trace-id", "x-request-id", "request-id", "traceparent")


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The rate-limit headers of one answer, as the server sent them.

    Attributes:
        limit: The window, as the server names it (``X-Rate-Limit-Limit``, e.g. ``"1m"``).
        remaining: Requests left in the window (``X-Rate-Limit-Remaining``).
        reset: When the window resets (``X-Rate-Limit-Reset``, a timestamp).
    """

    limit: str | None
    remaining: int | None
    reset: str | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo | None:
        """The headers' rate-limit state, or None when they carry none."""
        limit = headers.get("x-rate-limit-limit")
        remaining = headers.get("x-rate-limit-remaining")
        reset = headers.get("x-rate-limit-reset")
        if limit is None and remaining is None and reset is None:
            return None
        count = int(remaining) if remaining is not None and remaining.strip().isdigit() else None
        return cls(limit=limit, remaining=count, reset=reset)


class LoopaiResponse(Generic[T]):
    """The HTTP answer behind a result: status, headers, trace id, rate-limit state, and `parse`.

    For a batch call sent as several requests, the attributes describe the
    last answer and ``answers`` holds the status and headers of each.
    """

    def __init__(self, answers: list[Answer[Any]], parsed: T) -> None:
        self.answers = [(answer.response.status_code, answer.response.headers) for answer in answers]
        last = answers[-1].response if answers else None
        #: The last successful answer's status; None when none came (a batch whose every chunk failed).
        self.status_code: int | None = last.status_code if last else None
        self.headers: Mapping[str, str] = last.headers if last else {}
        self.http_content: bytes = last.content if last else b""
        self._parsed = parsed

    @property
    def trace_id(self) -> str | None:
        """The server's trace id, when a response header carries one."""
        for name in _TRACE_HEADERS:
            value = self.headers.get(name)
            if value:
                return value
        return None

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        """The rate-limit state the answer reported, or None."""
        return RateLimitInfo.from_headers(self.headers)

    def parse(self) -> T:
        """The parsed result, as the method without ``with_raw_response`` returns it."""
        return self._parsed

    def __repr__(self) -> str:
        return f"<LoopaiResponse [{self.status_code}] {type(self._parsed).__name__}>"


class WithRawResponse:
    """The client's methods, returning a `LoopaiResponse` instead of the parsed result.

    ``await client.with_raw_response.execute(task_id, {...})`` takes the
    same arguments as ``client.execute``.
    """

    def __init__(self, client: object) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Callable[..., Awaitable[LoopaiResponse[Any]]]:
        if name.startswith("_") or name in ("stream_batch", "with_options", "aclose", "close"):
            raise AttributeError(f"with_raw_response has no {name!r}: it wraps the API calls only")
        method = getattr(self._client, name)
        if not callable(method):
            raise AttributeError(f"with_raw_response has no {name!r}: it is not a method")  # noqa: TRY004 - attribute lookup

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> LoopaiResponse[Any]:
            with capture_answers() as answers:
                parsed = await method(*args, **kwargs)
            return LoopaiResponse(answers, parsed)

        return call
