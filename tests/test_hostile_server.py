"""Issue 8: the client against a hostile HTTP server, one scenario per numbered item, on asyncio and trio."""

from __future__ import annotations

import copy
import email.utils
import gc
import logging
import math
import os
import pickle
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import psutil
import pytest
import stamina
from hypothesis import given, settings
from hypothesis import strategies as st

import loopai
import loopai.exceptions
from loopai import (
    BatchExecuteResult,
    BatchOptions,
    ClientClosedException,
    ConnectionException,
    InvalidArgumentException,
    LoopaiClient,
    LoopaiException,
    NotFoundException,
    ResponseDecodeException,
    RetryPolicy,
    ServerException,
    TimeoutException,
    ValidationException,
)
from loopai._error_mapping import parse_retry_after
from loopai.testing import LocalServer

from .conftest import SPAM_TASK
from .hostile_server import (
    HEALTH_BODY,
    Connection,
    HostileServer,
    Request,
    Scenario,
    batch_answer,
    batch_echo,
    chunked,
    gzip_layers,
    gzip_zeros,
    hold,
    respond,
    response_bytes,
    response_head,
    sequence,
    stream_response,
)

HEALTH = "/api/v1/health"
BATCH = "/api/v1/batch/execute"
TASK_ID = uuid.UUID("6f1c2b1e-0d7a-4c43-9a55-3a0f7a3c8e11")
MIB = 1024 * 1024
BUSY = b'{"code":"SERVICE_UNAVAILABLE","message":"busy"}'


@pytest.fixture
def real_waits() -> Iterator[None]:
    """Stamina's testing mode off: Retry-After and backoff waits really happen."""
    with stamina.set_testing(False):
        yield


def drip_body(interval: float, length: int = 100_000) -> Scenario:
    """Headers at once, then a body of ``length`` bytes, one byte every ``interval`` seconds."""

    def scenario(conn: Connection, request: Request) -> None:
        if conn.send(response_head(200, {"Content-Type": "application/json", "Content-Length": str(length)})):
            conn.drip(b" " * length, interval)
        conn.close()

    return scenario


def drip_all(interval: float) -> Scenario:
    """The whole response, status line and headers included, one byte every ``interval`` seconds."""

    def scenario(conn: Connection, request: Request) -> None:
        conn.drip(response_bytes(200, None, HEALTH_BODY), interval)
        conn.close()

    return scenario


# --- 1. deadlines ------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", [drip_body(0.3), drip_all(0.3)], ids=["body", "status-line"])
async def test_timeout_bounds_a_dripping_attempt_as_a_whole(scenario: Scenario) -> None:
    """A server dripping one byte per 0.3 s cannot hold get_health(timeout=1) past ~1 s."""
    with anyio.fail_after(15), HostileServer(scenario) as server:
        async with LoopaiClient(server.url, max_retries=0) as client:
            started = anyio.current_time()
            with pytest.raises(TimeoutException):
                await client.get_health(timeout=1)
            assert anyio.current_time() - started < 2.5


async def test_retry_after_past_the_deadline_raises_at_once(real_waits: None) -> None:
    """RetryPolicy(timeout=2) and a 503 with Retry-After: 25 raise at once, saying the deadline would pass."""
    with anyio.fail_after(10), HostileServer(respond(503, {"Retry-After": "25"}, BUSY)) as server:
        async with LoopaiClient(server.url, retry_policy=RetryPolicy(timeout=2)) as client:
            started = anyio.current_time()
            with pytest.raises(LoopaiException) as caught:
                await client.get_health()
            assert anyio.current_time() - started < 1.5
    assert len(server.requests) == 1
    assert re.search(r"deadline", str(caught.value), re.IGNORECASE), str(caught.value)


async def test_retry_policy_timeout_cuts_an_attempt_in_flight() -> None:
    """RetryPolicy(timeout=1) cuts a dripping attempt at the deadline even with timeout=30."""
    with anyio.fail_after(15), HostileServer(drip_body(0.3)) as server:
        async with LoopaiClient(server.url, timeout=30, retry_policy=RetryPolicy(timeout=1)) as client:
            started = anyio.current_time()
            with pytest.raises(TimeoutException):
                await client.get_health()
            assert anyio.current_time() - started < 2.5


async def test_per_call_max_retries_sets_the_attempts() -> None:
    """get_health(max_retries=0) makes one attempt; max_retries=2 on a max_retries=0 client makes three."""
    with anyio.fail_after(10), HostileServer(respond(503, None, BUSY)) as server:
        async with LoopaiClient(server.url, max_retries=3) as client:
            with pytest.raises(ServerException):
                await client.get_health(max_retries=0)
            assert len(server.requests) == 1
        async with LoopaiClient(server.url, max_retries=0) as client:
            with pytest.raises(ServerException):
                await client.get_health(max_retries=2)
            assert len(server.requests) == 4


# --- 2. Retry-After: 0 means now -----------------------------------------------------------

RETRY_NOW = [
    {"Retry-After": "0"},
    {"Retry-After": "-5"},
    {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
    {"retry-after-ms": "0"},
    {"Retry-After": "30", "retry-after-ms": "0"},
]


@pytest.mark.parametrize("status", [503, 429])
@pytest.mark.parametrize(
    "headers", RETRY_NOW, ids=["zero", "negative", "past-date", "ms-zero", "ms-preferred"]
)
async def test_retry_after_zero_negative_or_past_retries_now(
    real_waits: None, status: int, headers: dict[str, str]
) -> None:
    """A 503/429 with Retry-After 0, negative, a past date or retry-after-ms: 0 is retried at once."""
    scenario = sequence(respond(status, headers, BUSY), respond(200))
    with anyio.fail_after(10), HostileServer(scenario) as server:
        async with LoopaiClient(server.url) as client:
            started = anyio.current_time()
            health = await client.get_health()
            assert anyio.current_time() - started < 2
    assert health.status == "Healthy"
    assert len(server.requests) == 2


NOW = 1_800_000_000.0


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**9), 10**9))
def test_retry_after_whole_seconds(seconds: int) -> None:
    """Retry-After delta-seconds: max(0, value), 0 and negatives included."""
    assert parse_retry_after(str(seconds), now=NOW) == max(0, seconds)


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-(10**6), max_value=10**6, places=3, allow_nan=False, allow_infinity=False))
def test_retry_after_decimal_seconds(seconds: Any) -> None:
    """Retry-After with a fraction: max(0, value)."""
    assert parse_retry_after(format(seconds, "f"), now=NOW) == pytest.approx(max(0.0, float(seconds)))


@settings(max_examples=200, deadline=None)
@given(st.integers(-10 * 86400, 10 * 86400))
def test_retry_after_http_date(offset: int) -> None:
    """Retry-After as an HTTP date, past or future: max(0, date - now)."""
    value = email.utils.formatdate(NOW + offset, usegmt=True)
    assert parse_retry_after(value, now=NOW) == pytest.approx(max(0, offset))


GARBAGE = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "soon", "1 hour", "", "   ", "0x10", "1,5"]),
    st.text(st.characters(whitelist_categories=("Lu", "Ll", "Po", "Zs")), min_size=1, max_size=30),
)


@settings(max_examples=200, deadline=None)
@given(GARBAGE)
def test_retry_after_garbage_is_none(value: str) -> None:
    """A Retry-After that is neither delta-seconds nor an HTTP date reads as not given (None)."""
    assert parse_retry_after(value, now=NOW) is None


def test_retry_after_absent_is_none() -> None:
    """No Retry-After header: None."""
    assert parse_retry_after(None, now=NOW) is None


# --- 3. response size -------------------------------------------------------------------------

BOMB_SIZE = 128 * MIB
BIG = 64 * MIB
_BLOCK = b"x" * 65536


def _bomb() -> bytes:
    return gzip_layers(gzip_zeros(BOMB_SIZE), 2)


_BOMB_CACHE: list[bytes] = []


def bomb() -> bytes:
    """Zeros of 128 MiB, gzipped three times: a few hundred bytes on the wire."""
    if not _BOMB_CACHE:
        _BOMB_CACHE.append(_bomb())
    return _BOMB_CACHE[0]


def big_body(status: int) -> Scenario:
    """A ``status`` answer with a 64 MiB body, streamed until the client stops reading."""
    head = response_head(status, {"Content-Type": "application/json", "Content-Length": str(BIG)})

    def scenario(conn: Connection, request: Request) -> None:
        stream_response(head, (_BLOCK for _ in range(BIG // len(_BLOCK))))(conn, request)

    return scenario


def big_chunked(conn: Connection, request: Request) -> None:
    """A 200 with a 64 MiB chunked body."""
    head = response_head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    piece = chunked(_BLOCK)[: -len(b"0\r\n\r\n")]
    pieces = [*(piece for _ in range(BIG // len(_BLOCK))), b"0\r\n\r\n"]
    stream_response(head, iter(pieces))(conn, request)


def bomb_answer(conn: Connection, request: Request) -> None:
    """A 200 whose body is the triple-gzip bomb."""
    conn.send(response_bytes(200, {"Content-Encoding": "gzip, gzip, gzip"}, bomb()))


SIZE_SCENARIOS: dict[str, Scenario] = {
    "gzip-bomb": bomb_answer,
    "plain": big_body(200),
    "error-body": big_body(500),
    "chunked": big_chunked,
}


@pytest.mark.parametrize("name", list(SIZE_SCENARIOS))
async def test_response_over_the_cap_raises_once_in_bounded_memory(name: str) -> None:
    """A decoded body over max_response_bytes raises ResponseTooLargeException, once, in flat memory."""
    too_large = loopai.exceptions.ResponseTooLargeException
    if name == "gzip-bomb":
        assert len(bomb()) < 2000
    with anyio.fail_after(20), HostileServer(SIZE_SCENARIOS[name]) as server:
        async with LoopaiClient(server.url, max_response_bytes=MIB) as client:
            gc.collect()
            before = psutil.Process().memory_info().rss
            with pytest.raises(too_large) as caught:
                await client.get_health()
            growth = psutil.Process().memory_info().rss - before
    assert type(caught.value).__name__ == "ResponseTooLargeException"
    assert len(server.requests) == 1
    assert growth < 16 * MIB, f"RSS grew by {growth / MIB:.0f} MiB"


# --- 4. broken bodies ------------------------------------------------------------------------

BROKEN_BODIES = {
    "utf8-in-200": (200, b'{"status":"\xff\xfe","timestamp":"2026-11-27T00:00:00Z"}'),
    "utf8-in-error": (400, b'{"code":"VALIDATION_ERROR","message":"bad \xff\xfe input"}'),
    "brackets-200": (200, b"[" * 999),
    "objects-200": (200, b'{"a":' * 5000),
    "brackets-error": (500, b"[" * 999),
    "objects-error": (404, b'{"a":' * 5000),
}


@pytest.mark.parametrize("name", list(BROKEN_BODIES))
async def test_broken_body_is_a_loopai_exception(name: str) -> None:
    """Invalid UTF-8 in a string and 999-deep nesting become loopai exceptions naming the endpoint."""
    status, body = BROKEN_BODIES[name]
    with anyio.fail_after(10), HostileServer(respond(status, None, body)) as server:
        async with LoopaiClient(server.url, max_retries=0) as client:
            with pytest.raises(LoopaiException) as caught:
                await client.get_health()
    if status == 200:
        assert isinstance(caught.value, ResponseDecodeException)
    assert HEALTH in str(caught.value)


async def test_non_ascii_cookie_does_not_break_the_next_call() -> None:
    """A Set-Cookie with a non-ASCII value in one answer leaves the client working for the next call."""
    scenario = sequence(respond(200, {"Set-Cookie": "session=caf\u00e9; Path=/"}), respond(200))
    with anyio.fail_after(10), HostileServer(scenario) as server:
        async with LoopaiClient(server.url, max_retries=0) as client:
            await client.get_health()
            health = await client.get_health()
    assert health.status == "Healthy"
    assert len(server.requests) == 2


# --- 5. bounded messages ------------------------------------------------------------------------


async def test_huge_details_are_not_quoted_whole() -> None:
    """A 10 MB `details` string: str(exc) stays near 1 KB, .body keeps the parsed body."""
    body = b'{"code":"VALIDATION_ERROR","message":"bad input","details":"' + b"x" * 10_000_000 + b'"}'
    with anyio.fail_after(15), HostileServer(respond(400, None, body)) as server:
        async with LoopaiClient(server.url, max_retries=0) as client:
            with pytest.raises(ValidationException) as caught:
                await client.get_health()
    assert len(str(caught.value)) <= 1200
    assert len(repr(caught.value)) <= 1300
    assert isinstance(caught.value.body, dict)
    assert len(caught.value.body["details"]) == 10_000_000


async def test_html_404_page_is_not_quoted_whole() -> None:
    """An HTML 404 page from a non-Loopai server: str(exc) stays near 1 KB, .body holds the text."""
    page = b"<!DOCTYPE html><html><body>" + b"<p>Not the page you want</p>" * 4000 + b"</body></html>"
    scenario = respond(404, {"Content-Type": "text/html"}, page)
    with anyio.fail_after(10), HostileServer(scenario) as server:
        async with LoopaiClient(server.url, max_retries=0) as client:
            with pytest.raises(NotFoundException) as caught:
                await client.get_health()
    assert len(str(caught.value)) <= 1200
    assert isinstance(caught.value.body, str)
    assert caught.value.body.startswith("<!DOCTYPE html>")


# --- 6. bad batch chunks ---------------------------------------------------------------------------


def _undecodable(conn: Connection, request: Request) -> None:
    body = batch_answer(request).replace(b'"ok"', b'"\xff\xfe"', 1)
    conn.send(response_bytes(200, None, body))


def _truncated(conn: Connection, request: Request) -> None:
    body = batch_answer(request)
    conn.send(response_bytes(200, None, body[: len(body) // 2]))


def _cut_off(conn: Connection, request: Request) -> None:
    body = batch_answer(request)
    conn.send(response_head(200, {"Content-Type": "application/json", "Content-Length": str(len(body))}))
    conn.send(body[: len(body) // 2])
    conn.close()


def _malformed(conn: Connection, request: Request) -> None:
    conn.send(response_bytes(200, None, b'{"results": "not a list", "batch_id": 7}'))


BAD_CHUNKS: dict[str, Scenario] = {
    "undecodable": _undecodable,
    "truncated": _truncated,
    "cut-off": _cut_off,
    "malformed": _malformed,
}

INPUTS = [{"text": f"item {i}"} for i in range(30)]
CHUNKED = BatchOptions(chunk_size=10, concurrency=2)


async def _run_batch(client: LoopaiClient, api: str) -> list[BatchExecuteResult]:
    if api == "batch_execute":
        response = await client.batch_execute(TASK_ID, INPUTS, options=CHUNKED)
        return response.results
    async with client.stream_batch(TASK_ID, INPUTS, options=CHUNKED) as stream:
        return [result async for result in stream]


def _first_n_bad(bad: Scenario, n: int) -> Scenario:
    lock = threading.Lock()
    count = [0]

    def scenario(conn: Connection, request: Request) -> None:
        with lock:
            count[0] += 1
            failing = count[0] <= n
        (bad if failing else batch_echo)(conn, request)

    return scenario


def _bad_for_item_zero(bad: Scenario) -> Scenario:
    def scenario(conn: Connection, request: Request) -> None:
        ids = [item["id"] for item in request.json()["items"]]
        (bad if "0" in ids else batch_echo)(conn, request)

    return scenario


@pytest.mark.parametrize("api", ["batch_execute", "stream_batch"])
@pytest.mark.parametrize("kind", list(BAD_CHUNKS))
async def test_bad_chunk_answers_are_retried(kind: str, api: str) -> None:
    """The first two chunk answers cut off, truncated, malformed or undecodable: retried, all succeed."""
    with anyio.fail_after(15), HostileServer(_first_n_bad(BAD_CHUNKS[kind], 2)) as server:
        async with LoopaiClient(server.url, max_retries=3) as client:
            results = await _run_batch(client, api)
    assert sorted(int(result.id) for result in results) == list(range(30))
    assert [result.id for result in results if not result.success] == []
    assert len(server.requests_to(BATCH)) == 5


@pytest.mark.parametrize("api", ["batch_execute", "stream_batch"])
@pytest.mark.parametrize("kind", list(BAD_CHUNKS))
async def test_chunk_bad_on_every_attempt_fails_its_items_only(kind: str, api: str) -> None:
    """A chunk always answered badly is tried max_retries + 1 times, then its items fail; the rest succeed."""
    with anyio.fail_after(15), HostileServer(_bad_for_item_zero(BAD_CHUNKS[kind])) as server:
        async with LoopaiClient(server.url, max_retries=2) as client:
            results = await _run_batch(client, api)
    assert sorted(int(result.id) for result in results) == list(range(30))
    failed = sorted(int(result.id) for result in results if not result.success)
    assert failed == list(range(10))
    assert all(result.error_message for result in results if not result.success)
    first_chunk = [r for r in server.requests_to(BATCH) if "0" in [i["id"] for i in r.json()["items"]]]
    assert len(first_chunk) == 3


# --- 7. credentials -------------------------------------------------------------------------------

BAD_KEYS = {
    "newline": "sk-SECRETKEY\n",
    "crlf-injection": "sk-SECRETKEY\r\nX-Evil: 1",
    "carriage-return": "sk-SECRET\rKEY",
    "nul": "sk-SECRET\0KEY",
    "escape": "sk-SECRET\x1bKEY",
    "delete": "sk-SECRET\x7fKEY",
    "tab": "sk-SECRET\tKEY",
    "leading-space": " sk-SECRETKEY",
    "trailing-space": "sk-SECRETKEY ",
    "non-ascii": "sk-SECRÉTKEY",
    "line-separator": "sk-SECRET\u2028KEY",
}


def _assert_no_secret(exc: BaseException, secret: str) -> None:
    for text in (str(exc), repr(exc), repr(exc.args), repr(vars(exc))):
        assert secret not in text, text
    assert secret.encode() not in pickle.dumps(exc)


@pytest.mark.parametrize("key", list(BAD_KEYS.values()), ids=list(BAD_KEYS))
async def test_malformed_api_key_is_refused_at_construction(key: str) -> None:
    """An api_key with control characters, outer whitespace or non-ASCII is refused, without quoting it."""
    with pytest.raises(InvalidArgumentException) as caught:
        LoopaiClient("http://127.0.0.1:9", api_key=key)
    assert caught.value.argument == "api_key"
    assert "api_key" in str(caught.value)
    _assert_no_secret(caught.value, "SECRET")


async def test_malformed_api_key_from_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """$LOOPAI_API_KEY read from a file with its newline is refused at construction too."""
    monkeypatch.setenv("LOOPAI_API_KEY", "sk-SECRETKEY\n")
    with pytest.raises(InvalidArgumentException) as caught:
        LoopaiClient("http://127.0.0.1:9")
    assert caught.value.argument == "api_key"
    _assert_no_secret(caught.value, "SECRET")


async def test_password_in_base_url_is_masked() -> None:
    """http://user:pw@host: repr(client) and an exception's str/repr/url/pickle never show the password."""
    scenario = respond(500, None, b'{"code":"INTERNAL_ERROR","message":"boom"}')
    with anyio.fail_after(10), HostileServer(scenario) as server:
        url = server.url.replace("http://", "http://user:hunter2pw@")
        async with LoopaiClient(url, max_retries=0) as client:
            assert "hunter2pw" not in repr(client)
            with pytest.raises(ServerException) as caught:
                await client.get_health()
    exc = caught.value
    assert exc.url is not None
    assert "hunter2pw" not in exc.url
    _assert_no_secret(exc, "hunter2pw")


# --- 8. permanent transport failures ---------------------------------------------------------------


async def test_tls_to_a_plain_http_port_is_not_retried() -> None:
    """https:// to a plain-HTTP port fails after one connection, not four."""
    with anyio.fail_after(10), HostileServer(respond(200)) as server:
        url = server.url.replace("http://", "https://")
        async with LoopaiClient(url, max_retries=3) as client:
            with pytest.raises(ConnectionException) as caught:
                await client.get_health()
    assert server.connections == 1
    assert caught.value.attempts == 1


async def test_illegal_header_value_is_not_retried() -> None:
    """A per-call header value with CR/LF is a loopai error after at most one attempt, and is never sent."""
    with anyio.fail_after(10), HostileServer(respond(200)) as server:
        async with LoopaiClient(server.url, max_retries=3) as client:
            with pytest.raises(LoopaiException) as caught:
                await client.get_health(headers={"X-Trace": "a\r\nX-Evil: 1"})
    assert server.requests == []
    assert server.connections <= 1
    assert caught.value.attempts == 1


# --- 9. closing during a call ----------------------------------------------------------------------


async def _close_during(server: HostileServer, client: LoopaiClient, release: threading.Event) -> Exception:
    caught: list[Exception] = []

    async def call() -> None:
        try:
            await client.get_health()
        except Exception as exc:
            caught.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        assert await anyio.to_thread.run_sync(server.wait_for_requests, 1)
        await client.aclose()
        release.set()
    assert len(caught) == 1
    return caught[0]


async def test_closing_the_client_during_a_call_in_flight() -> None:
    """aclose() while a request waits for its answer: that call raises ClientClosedException."""
    release = threading.Event()
    with anyio.fail_after(10), HostileServer(hold(release, respond(503, None, BUSY))) as server:
        client = LoopaiClient(server.url, max_retries=3)
        exc = await _close_during(server, client, release)
    assert isinstance(exc, ClientClosedException), repr(exc)


async def test_closing_the_client_during_a_retry_wait(real_waits: None) -> None:
    """aclose() while the call waits out Retry-After: that call raises ClientClosedException."""
    release = threading.Event()
    with anyio.fail_after(10), HostileServer(respond(503, {"Retry-After": "2"}, BUSY)) as server:
        client = LoopaiClient(server.url, max_retries=3)
        exc = await _close_during(server, client, release)
    assert isinstance(exc, ClientClosedException), repr(exc)


async def test_injected_http_client_closed_by_its_owner() -> None:
    """An injected httpx2.AsyncClient closed by its owner: ClientClosedException, nothing sent."""
    with anyio.fail_after(10), HostileServer(respond(200)) as server:
        http = httpx2.AsyncClient()
        await http.aclose()
        client = LoopaiClient(server.url, http_client=http)
        with pytest.raises(ClientClosedException):
            await client.get_health()
        await client.aclose()
    assert server.requests == []


# --- 10. the caller's own errors ----------------------------------------------------------------------


async def test_callers_error_inside_stream_batch_propagates_unchanged() -> None:
    """A KeyError raised in the `async with client.stream_batch(...)` block comes out as that KeyError."""
    with anyio.fail_after(20):
        server = LocalServer(seed=0)
        async with server.serve() as url, LoopaiClient(url) as client:
            task = await client.create_task(**SPAM_TASK)
            mine = KeyError("mine")
            with pytest.raises(KeyError) as caught:
                async with client.stream_batch(task.id, [{"text": "hi"}] * 5) as results:
                    async for _ in results:
                        raise mine
    assert caught.value is mine


# --- 11. arguments ------------------------------------------------------------------------------------

BAD_SECONDS = [math.nan, math.inf, -1.0]


@pytest.mark.parametrize("value", BAD_SECONDS, ids=["nan", "inf", "negative"])
async def test_client_timeout_must_be_finite_and_positive(value: float) -> None:
    """LoopaiClient(timeout=nan|inf|-1) is refused with InvalidArgumentException naming timeout."""
    with pytest.raises(InvalidArgumentException) as caught:
        LoopaiClient("http://127.0.0.1:9", timeout=value)
    assert "timeout" in caught.value.argument


@pytest.mark.parametrize("value", BAD_SECONDS, ids=["nan", "inf", "negative"])
async def test_per_call_timeout_is_checked_before_sending(value: float) -> None:
    """get_health(timeout=nan|inf|-1) raises InvalidArgumentException and sends nothing."""
    with anyio.fail_after(10), HostileServer(respond(200)) as server:
        async with LoopaiClient(server.url) as client:
            with pytest.raises(InvalidArgumentException):
                await client.get_health(timeout=value)
    assert server.requests == []


POLICY_FIELDS = ["timeout", "wait_initial", "wait_max", "wait_jitter", "max_retry_after"]


@pytest.mark.parametrize("value", [math.nan, -1.0], ids=["nan", "negative"])
@pytest.mark.parametrize("field", POLICY_FIELDS)
async def test_retry_policy_seconds_must_be_numbers_not_below_zero(field: str, value: float) -> None:
    """RetryPolicy refuses nan and negative seconds in every field, naming it."""
    with pytest.raises(InvalidArgumentException) as caught:
        RetryPolicy(**{field: value})  # type: ignore[arg-type]
    assert field in str(caught.value)


async def test_retry_policy_timeout_must_be_finite() -> None:
    """RetryPolicy(timeout=inf) is refused (None means no deadline)."""
    with pytest.raises(InvalidArgumentException):
        RetryPolicy(timeout=math.inf)


@pytest.mark.parametrize("value", [-1.0, math.nan], ids=["negative", "nan"])
async def test_batch_timeout_is_checked_before_sending(value: float) -> None:
    """batch_execute(..., timeout=-1|nan) raises InvalidArgumentException instead of failing every item."""
    with anyio.fail_after(10), HostileServer(batch_echo) as server:
        async with LoopaiClient(server.url) as client:
            with pytest.raises(InvalidArgumentException):
                await client.batch_execute(TASK_ID, INPUTS, timeout=value)
    assert server.requests == []


# --- 12. redirects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [(302, HEALTH_BODY), (301, b""), (303, b""), (307, b""), (308, b"")],
    ids=["302-json", "301-empty", "303-empty", "307-empty", "308-empty"],
)
async def test_redirect_is_not_followed_and_names_the_location(status: int, body: bytes) -> None:
    """A 3xx raises RedirectException naming its Location; the Location never sees a request."""
    redirect = loopai.exceptions.RedirectException
    with anyio.fail_after(10), HostileServer(respond(200)) as elsewhere:
        location = elsewhere.url + HEALTH
        with HostileServer(respond(status, {"Location": location}, body)) as origin:
            async with LoopaiClient(origin.url, api_key="sk-redirect-test") as client:
                with pytest.raises(redirect) as caught:
                    await client.get_health()
    assert type(caught.value).__name__ == "RedirectException"
    assert location in str(caught.value)
    assert getattr(caught.value, "location", None) == location
    assert elsewhere.requests == []
    assert elsewhere.connections == 0
    assert len(origin.requests) == 1


# --- 13. pickling -------------------------------------------------------------------------------------------

COMPARED = (
    "message", "status_code", "code", "trace_id", "body", "method", "url", "attempts",
    "argument", "errors", "retry_after", "location", "execution_id", "limit", "retryable",
)  # fmt: skip


def _example(cls: type[LoopaiException]) -> LoopaiException:
    if issubclass(cls, InvalidArgumentException):
        return cls("timeout", "must be > 0")
    common: dict[str, Any] = {
        "status_code": 503,
        "code": "SERVICE_UNAVAILABLE",
        "trace_id": "0HN-trace",
        "body": {"code": "SERVICE_UNAVAILABLE", "message": "busy"},
        "method": "GET",
        "url": "http://127.0.0.1:8080/api/v1/health",
        "attempts": 2,
    }
    name = cls.__name__
    if name == "RedirectException":
        common.update(status_code=302, location="http://elsewhere.example/api/v1/health")
    elif name == "ResponseTooLargeException":
        common.update(status_code=200, limit=MIB)
    elif name in ("RateLimitException", "ServerException"):
        common["retry_after"] = 2.5
    if name in ("ExecutionException", "ServerException"):
        common["execution_id"] = uuid.UUID(int=7)
    return cls(f"{name} for the test", **common)


def pickle_round_trip(value: Any) -> Any:
    """``value`` through pickle (our own bytes)."""
    return pickle.loads(pickle.dumps(value))  # noqa: S301


EXCEPTION_NAMES = sorted(set(loopai.exceptions.__all__) | {"ResponseTooLargeException", "RedirectException"})


@pytest.mark.parametrize("name", EXCEPTION_NAMES)
@pytest.mark.parametrize("clone", [pickle_round_trip, copy.deepcopy], ids=["pickle", "deepcopy"])
async def test_every_exception_pickles_and_deep_copies(name: str, clone: Callable[[Any], Any]) -> None:
    """Every loopai exception survives pickle and deepcopy with its type, str and attributes."""
    cls = getattr(loopai.exceptions, name, None)
    assert isinstance(cls, type), f"loopai.exceptions has no {name}"
    original = _example(cls)
    copied = clone(original)
    assert type(copied) is type(original)
    assert str(copied) == str(original)
    for attribute in COMPARED:
        assert getattr(copied, attribute, None) == getattr(original, attribute, None), attribute


# --- 14. logging --------------------------------------------------------------------------------------------

SCRIPT = """
import sys
import anyio
import loopai

async def main() -> None:
    policy = loopai.RetryPolicy(wait_initial=0.01, wait_max=0.01, wait_jitter=0.0)
    async with loopai.LoopaiClient(sys.argv[1], api_key="sk-SECRETLOGKEY", retry_policy=policy) as client:
        await client.get_health()
    print("ok")

anyio.run(main, backend=sys.argv[2])
"""


def _run_script(url: str, backend: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("LOOPAI_")}
    source = str(Path(loopai.__file__).resolve().parents[1])
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [source, environment.get("PYTHONPATH")]))
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, url, backend],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_retry_prints_nothing_without_logging_configured(anyio_backend: str) -> None:
    """In a program that configured no logging, a retried call prints nothing on stderr."""
    with HostileServer(sequence(respond(503, None, BUSY), respond(200))) as server:
        result = _run_script(server.url, anyio_backend)
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr
    assert result.stderr == ""
    assert len(server.requests) == 2


def test_loopai_log_debug_shows_retries_on_stderr(anyio_backend: str) -> None:
    """LOOPAI_LOG=debug: stderr shows a loopai retry line with method, URL, attempt and wait, not the key."""
    with HostileServer(sequence(respond(503, None, BUSY), respond(200))) as server:
        result = _run_script(server.url, anyio_backend, LOOPAI_LOG="debug")
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr
    retry_lines = [line for line in result.stderr.splitlines() if re.search("retr", line, re.IGNORECASE)]
    assert retry_lines, result.stderr
    line = retry_lines[0]
    assert "loopai" in line
    assert "GET" in line
    assert server.url + HEALTH in line
    assert re.search("attempt", line, re.IGNORECASE)
    assert re.search(r"wait|\bin [0-9.]+ ?s\b", line, re.IGNORECASE), line
    assert "SECRETLOGKEY" not in result.stderr


async def test_retry_records_come_from_the_loopai_logger(caplog: pytest.LogCaptureFixture) -> None:
    """Retry events are records of the `loopai` logger naming method and URL, without the key."""
    caplog.set_level(logging.DEBUG)
    with anyio.fail_after(10), HostileServer(sequence(respond(503, None, BUSY), respond(200))) as server:
        async with LoopaiClient(server.url, api_key="sk-SECRETLOGKEY") as client:
            await client.get_health()
    retries = [
        r for r in caplog.records if r.name.split(".")[0] == "loopai" and "retr" in r.getMessage().lower()
    ]
    assert retries, [(r.name, r.getMessage()) for r in caplog.records]
    assert "GET" in retries[0].getMessage()
    assert server.url + HEALTH in retries[0].getMessage()
    assert not [r for r in caplog.records if "SECRETLOGKEY" in r.getMessage()]
