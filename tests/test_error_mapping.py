"""Error mapping: every error shape the server sends becomes the right loopai exception.

Unit tests over httpx2.MockTransport: they pin the mapping of bodies and
statuses, with no server involved.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from loopai import (
    AuthenticationException,
    ConflictException,
    ConnectionException,
    ExecutionException,
    LoopaiClient,
    LoopaiException,
    NotFoundException,
    RateLimitException,
    ResponseDecodeException,
    RetryPolicy,
    ServerException,
    TimeoutException,
    ValidationException,
)
from loopai._error_mapping import field_errors, map_error, parse_retry_after

TASK_ID = uuid.UUID("6f1c0a9e-3c55-4b0a-9d7e-2f4a1c3b5d7e")
SECRET = "sk-very-secret-key-123"


def client_answering(handler: Callable[[httpx2.Request], httpx2.Response], **kwargs: Any) -> LoopaiClient:
    if "retry_policy" not in kwargs:
        kwargs.setdefault("max_retries", 0)
    return LoopaiClient("http://api.test", api_key=SECRET, transport=httpx2.MockTransport(handler), **kwargs)


def json_response(status: int, body: Any, **headers: str) -> Callable[[httpx2.Request], httpx2.Response]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, json=body, headers=headers)

    return handler


ERROR_RESPONSE = {
    "code": "TASK_NOT_FOUND",
    "message": "Task not found",
    "trace_id": "0HN7:00000001",
    "timestamp": "2025-10-27T12:34:56.1234567Z",
}
VALIDATION_ERROR = {
    "code": "VALIDATION_ERROR",
    "message": "Validation failed",
    "details": [
        {"property_name": "name", "error_message": "too long"},
        {"property_name": "name", "error_message": "bad characters"},
        {"property_name": "sampling_rate", "error_message": "must be 0-1"},
    ],
    "trace_id": "0HN7:00000002",
    "timestamp": "2025-10-27T12:34:56Z",
}
PROBLEM = {
    "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    "title": "One or more validation errors occurred.",
    "status": 400,
    "errors": {"$.examples": ["The JSON value could not be converted."], "name": ["required"]},
    "traceId": "00-abc-def-00",
}


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, ValidationException),
        (422, ValidationException),
        (401, AuthenticationException),
        (403, AuthenticationException),
        (404, NotFoundException),
        (409, ConflictException),
        (429, RateLimitException),
        (500, ServerException),
        (502, ServerException),
        (503, ServerException),
        (504, ServerException),
        (405, LoopaiException),
        (413, LoopaiException),
    ],
)
async def test_status_maps_to_its_exception(status: int, exception: type[LoopaiException]) -> None:
    """Each status becomes its documented exception, carrying status and request line."""
    async with client_answering(json_response(status, ERROR_RESPONSE)) as client:
        with pytest.raises(exception) as caught:
            await client.get_task(TASK_ID)
    assert caught.value.status_code == status
    assert caught.value.method == "GET"
    assert caught.value.url == f"http://api.test/api/v1/tasks/{TASK_ID}"
    if status >= 500:
        assert isinstance(caught.value, ExecutionException)


async def test_error_response_fields_are_carried() -> None:
    """code, message, trace_id and the parsed body reach the exception and its str()."""
    async with client_answering(json_response(404, ERROR_RESPONSE)) as client:
        with pytest.raises(NotFoundException) as caught:
            await client.get_task(TASK_ID)
    exc = caught.value
    assert (exc.code, exc.message, exc.trace_id) == (
        "TASK_NOT_FOUND",
        "Task not found",
        "0HN7:00000001",
    )
    assert exc.body == ERROR_RESPONSE
    assert str(exc) == (
        f"404 TASK_NOT_FOUND: Task not found (GET http://api.test/api/v1/tasks/{TASK_ID};"
        " trace_id=0HN7:00000001)"
    )


async def test_validation_details_become_field_errors() -> None:
    """A VALIDATION_ERROR's details list becomes errors: field -> messages."""
    async with client_answering(json_response(400, VALIDATION_ERROR)) as client:
        with pytest.raises(ValidationException) as caught:
            await client.get_task(TASK_ID)
    assert caught.value.errors == {
        "name": ["too long", "bad characters"],
        "sampling_rate": ["must be 0-1"],
    }
    assert caught.value.code == "VALIDATION_ERROR"


async def test_problem_details_become_field_errors() -> None:
    """A ProblemDetails body (application/problem+json) gives errors, title and traceId."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            400, content=json.dumps(PROBLEM), headers={"content-type": "application/problem+json"}
        )

    async with client_answering(handler) as client:
        with pytest.raises(ValidationException) as caught:
            await client.get_task(TASK_ID)
    assert caught.value.errors == PROBLEM["errors"]
    assert caught.value.message == PROBLEM["title"]
    assert caught.value.trace_id == "00-abc-def-00"
    assert caught.value.code is None


@pytest.mark.parametrize("status", [404, 405, 413, 500])
async def test_empty_bodies_map_by_status(status: int) -> None:
    """Unknown routes, wrong methods and oversized bodies answer with no body at all."""
    async with client_answering(lambda request: httpx2.Response(status)) as client:
        with pytest.raises(LoopaiException) as caught:
            await client.get_health()
    assert caught.value.status_code == status
    assert caught.value.body is None
    assert f"HTTP {status}" in caught.value.message


async def test_string_details_are_part_of_the_message() -> None:
    """For codes other than VALIDATION_ERROR, a string details adds to the message."""
    body = {"code": "EXECUTION_ERROR", "message": "Execution failed", "details": "Task x not found"}
    async with client_answering(json_response(500, body)) as client:
        with pytest.raises(ServerException) as caught:
            await client.get_health()
    assert caught.value.message == "Execution failed: Task x not found"


async def test_rate_limit_exception_carries_retry_after() -> None:
    """A 429's Retry-After (whole seconds) is the exception's retry_after."""
    body = {
        "code": "RATE_LIMIT_EXCEEDED",
        "message": "Rate limit exceeded. Please try again later.",
    }
    async with client_answering(json_response(429, body, **{"Retry-After": "7"})) as client:
        with pytest.raises(RateLimitException) as caught:
            await client.get_health()
    assert caught.value.retry_after == 7.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    """Retry-After may be delta-seconds or an HTTP date; garbage is ignored."""
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_field_errors_ignore_odd_shapes() -> None:
    """Unexpected detail shapes give no errors rather than a crash."""
    assert field_errors("text") == {}
    assert field_errors({"details": "a string"}) == {}
    assert field_errors({"details": [1, {"property_name": "x"}]}) == {"x": [""]}
    assert field_errors({"errors": {"a": "one"}}) == {"a": ["one"]}


def test_map_error_keeps_non_json_text() -> None:
    """A text/plain error body is kept and quoted in the message."""
    exc = map_error(503, {}, b"Unhealthy", method="GET", url="http://x/health")
    assert isinstance(exc, ServerException)
    assert exc.body == "Unhealthy"
    assert "Unhealthy" in exc.message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"<html>502 Bad Gateway</html>", "not a valid Task"),
        (b'{"id": "not-a-uuid"}', "not a valid Task"),
        (b'{"id": "6f1c0a9e-3c55-4b0a-9d7e-2f4a1c3b5d7e"}', "missing required field"),
        (b'{"id": "6f1c0a9e-3c55-4b0a-9d7e-2f4a1c3b5d7e", "name": 5', "not a valid Task"),
        (b"", "not a valid Task"),
    ],
)
async def test_undecodable_success_bodies_raise_a_loopai_exception(content: bytes, problem: str) -> None:
    """A 200 that is not a Task raises ResponseDecodeException naming the endpoint, never a bare error."""
    async with client_answering(lambda request: httpx2.Response(200, content=content)) as client:
        with pytest.raises(ResponseDecodeException) as caught:
            await client.get_task(TASK_ID)
    assert problem in str(caught.value)
    assert f"/api/v1/tasks/{TASK_ID}" in str(caught.value)


@pytest.mark.parametrize(
    ("error", "exception"),
    [
        (httpx2.ConnectError("refused"), ConnectionException),
        (httpx2.ReadError("reset"), ConnectionException),
        (httpx2.RemoteProtocolError("peer closed"), ConnectionException),
        (httpx2.ConnectTimeout("slow"), TimeoutException),
        (httpx2.ReadTimeout("slow"), TimeoutException),
        (httpx2.PoolTimeout("busy"), TimeoutException),
        (httpx2.DecodingError("bad gzip"), ResponseDecodeException),
    ],
)
async def test_transport_errors_become_loopai_exceptions(
    error: Exception, exception: type[LoopaiException]
) -> None:
    """httpx2's exceptions never reach users; the original stays as __cause__."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        raise error

    async with client_answering(handler) as client:
        with pytest.raises(exception) as caught:
            await client.get_health()
    assert caught.value.__cause__ is error
    assert not isinstance(caught.value, httpx2.HTTPError)


async def test_api_key_never_appears_in_errors_reprs_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The key is sent as a bearer token and shown nowhere else."""
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["authorization"])
        raise httpx2.ConnectError(f"cannot connect to {request.url}")

    caplog.set_level(logging.DEBUG)
    client = client_answering(handler, retry_policy=RetryPolicy(max_retries=1))
    async with client:
        with pytest.raises(ConnectionException) as caught:
            await client.get_health()
    assert seen == [f"Bearer {SECRET}"] * 2
    shown = [repr(client), str(caught.value), repr(caught.value), caplog.text]
    assert caplog.text
    assert all(SECRET not in text for text in shown)
