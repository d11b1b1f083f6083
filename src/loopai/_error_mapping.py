"""Turn a failed HTTP response into the matching loopai exception.

Pure functions of the response: no I/O, so every error shape is testable
without a server.  The server sends three shapes: the controllers'
ErrorResponse, the framework's ProblemDetails, and empty bodies.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from ._codec import decode_json
from ._exceptions import (
    AuthenticationException,
    ConflictException,
    LoopaiException,
    NotFoundException,
    RateLimitException,
    RedirectException,
    ServerException,
    ValidationException,
)

__all__ = ["excerpt", "field_errors", "map_error", "parse_retry_after", "retry_after"]

#: How much server text an exception's message quotes; the parsed body stays on ``.body``.
MESSAGE_EXCERPT = 1000


def excerpt(text: str, limit: int = MESSAGE_EXCERPT) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit:,} more characters]"


def _finite_seconds(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, or None if it says nothing usable.

    Delta-seconds (decimals accepted) or an HTTP date.  Zero, negative values
    and dates in the past all mean "retry now" (0.0).
    """
    if not value:
        return None
    value = value.strip()
    seconds = _finite_seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        stamp = when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return max(0.0, stamp - (time.time() if now is None else now))


def retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The wait a response asks for: ``retry-after-ms`` if usable, else ``Retry-After``."""
    millis = headers.get("retry-after-ms")
    if millis:
        seconds = _finite_seconds(millis.strip())
        if seconds is not None:
            return seconds / 1000
    return parse_retry_after(headers.get("retry-after"), now=now)


def field_errors(body: Any) -> dict[str, list[str]]:
    """Per-field messages from a VALIDATION_ERROR ``details`` list or a ProblemDetails ``errors``."""
    if not isinstance(body, dict):
        return {}
    errors: dict[str, list[str]] = {}
    problem_errors = body.get("errors")
    if isinstance(problem_errors, dict):
        for name, messages in problem_errors.items():
            items = messages if isinstance(messages, list) else [messages]
            errors.setdefault(str(name), []).extend(str(m) for m in items)
    details = body.get("details")
    if isinstance(details, list):
        for entry in details:
            if isinstance(entry, dict):
                name = str(entry.get("property_name", ""))
                errors.setdefault(name, []).append(str(entry.get("error_message", "")))
    return errors


def _parse_body(content: bytes) -> Any:
    if not content:
        return None
    try:
        return decode_json(content)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError, ValueError):
        return content[: MESSAGE_EXCERPT * 2].decode("utf-8", "replace")


def _text(value: Any) -> str | None:
    return excerpt(value) if isinstance(value, str) and value else None


def map_error(
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    method: str,
    url: str,
) -> LoopaiException:
    """Build the exception for a response with a non-success ``status``."""
    body = _parse_body(content)
    fields = body if isinstance(body, dict) else {}
    code = _text(fields.get("code"))
    message = _text(fields.get("message")) or _text(fields.get("title"))
    details = fields.get("details")
    if message and isinstance(details, str) and details:
        message = excerpt(f"{message}: {details}")
    if message is None:
        message = _fallback_message(status, body)
    common: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "trace_id": _text(fields.get("trace_id")) or _text(fields.get("traceId")),
        "body": body,
        "method": method,
        "url": url,
    }
    if 300 <= status < 400:
        location = headers.get("location")
        where = f" to {excerpt(location, 200)!r}" if location else " with no Location"
        return RedirectException(
            f"the server redirected{where}; loopai does not follow redirects"
            " (point base_url at the final address)",
            location=location,
            **common,
        )
    if status in (400, 422):
        return ValidationException(message, errors=field_errors(body), **common)
    if status in (401, 403):
        return AuthenticationException(message, **common)
    if status == 404:
        return NotFoundException(message, **common)
    if status == 409:
        return ConflictException(message, **common)
    if status == 429:
        return RateLimitException(message, retry_after=retry_after(headers), **common)
    if status >= 500:
        return ServerException(message, retry_after=retry_after(headers), **common)
    return LoopaiException(message, **common)


def _fallback_message(status: int, body: Any) -> str:
    if isinstance(body, str) and body.strip():
        return f"HTTP {status}: {excerpt(body.strip(), 200)}"
    if status == 404:
        return "HTTP 404: no such route"
    if status == 405:
        return "HTTP 405: method not allowed"
    if status == 413:
        return "HTTP 413: request body too large (the server's limit is 30,000,000 bytes)"
    return f"HTTP {status} with no error body"
