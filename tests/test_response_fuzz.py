"""Issue 8: fuzzed responses through real calls over loopback; only loopai exceptions may come out."""

from __future__ import annotations

import contextlib
import gzip
import json
import ssl
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterator

import anyio
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopai import LoopaiClient, LoopaiException

from .conftest import SPAM_TASK
from .hostile_server import HostileServer, ResponseSlot, chunked, response_head

TASK_ID = uuid.UUID("6f1c2b1e-0d7a-4c43-9a55-3a0f7a3c8e11")

Call = Callable[[LoopaiClient], Awaitable[object]]

ENDPOINTS: dict[str, Call] = {
    "get_health": lambda c: c.get_health(),
    "get_task": lambda c: c.get_task(TASK_ID),
    "create_task": lambda c: c.create_task(**SPAM_TASK),
    "execute": lambda c: c.execute(TASK_ID, {"text": "hi"}),
    "list_artifacts": lambda c: c.list_artifacts(TASK_ID),
    "get_artifact": lambda c: c.get_artifact(TASK_ID, 1),
    "batch_validate": lambda c: c.batch_validate(
        TASK_ID, [{"id": "1", "input": {"text": "a"}, "output": "spam", "expected_output": "spam"}]
    ),
    "get_health_detailed": lambda c: c.get_health_detailed(),
    "get_readiness": lambda c: c.get_readiness(),
    "get_liveness": lambda c: c.get_liveness(),
}

# --- what a hostile server may answer ----------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=15,
)

LOOPAI_KEYS = st.sampled_from(
    ["code", "message", "details", "trace_id", "traceId", "title", "errors", "status", "timestamp",
     "results", "batch_id", "task_id", "execution_id", "id", "items", "output", "success"]
)  # fmt: skip

LOOPAI_LIKE = st.dictionaries(LOOPAI_KEYS, JSON, max_size=8)

BODIES = st.one_of(
    st.binary(max_size=300),
    JSON.map(lambda value: json.dumps(value).encode()),
    LOOPAI_LIKE.map(lambda value: json.dumps(value).encode()),
    st.sampled_from([b"[" * 999, b'{"a":' * 1000, b'{"message":"\xff\xfe"}', b'"\xc3\x28"', b"\x00" * 50]),
)

HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=30
)

EXTRA_HEADERS = st.lists(
    st.one_of(
        st.tuples(st.just("Retry-After"), HEADER_TEXT | st.integers(-100, 100).map(str)),
        st.tuples(st.just("retry-after-ms"), HEADER_TEXT | st.integers(-100, 100).map(str)),
        st.tuples(
            st.just("Content-Type"), st.sampled_from(["application/json", "text/html", "", "x/y; charset=zz"])
        ),
        st.tuples(st.just("Location"), HEADER_TEXT),
        st.tuples(st.just("X-Rate-Limit-Remaining"), HEADER_TEXT),
        st.tuples(st.just("X-Rate-Limit-Reset"), HEADER_TEXT),
        st.tuples(st.sampled_from(["X-Whatever", "Set-Cookie", "Vary"]), HEADER_TEXT),
    ),
    max_size=4,
)

ENCODINGS = st.sampled_from(
    ["none", "gzip", "gzip-bad", "gzip, gzip", "deflate", "br", "zstd", "identity", "bogus"]
)
FRAMINGS = st.sampled_from(["length", "none", "short", "long", "garbage", "chunked", "chunked-broken"])


def _encode(body: bytes, encoding: str) -> tuple[bytes, list[tuple[str, str]]]:
    if encoding == "none":
        return body, []
    if encoding == "gzip":
        return gzip.compress(body), [("Content-Encoding", "gzip")]
    if encoding == "gzip, gzip":
        return gzip.compress(gzip.compress(body)), [("Content-Encoding", "gzip, gzip")]
    if encoding == "deflate":
        return zlib.compress(body), [("Content-Encoding", "deflate")]
    if encoding == "gzip-bad":
        return body, [("Content-Encoding", "gzip")]
    return body, [("Content-Encoding", encoding)]


def _frame(body: bytes, framing: str) -> tuple[bytes, list[tuple[str, str]]]:
    if framing == "length":
        return body, [("Content-Length", str(len(body)))]
    if framing == "short":
        return body, [("Content-Length", str(max(0, len(body) - 1)))]
    if framing == "long":
        return body, [("Content-Length", str(len(body) + 10))]
    if framing == "garbage":
        return body, [("Content-Length", "12abc")]
    if framing == "chunked":
        return chunked(body, 7), [("Transfer-Encoding", "chunked")]
    if framing == "chunked-broken":
        return b"zz\r\n" + body, [("Transfer-Encoding", "chunked")]
    return body, []


@st.composite
def raw_responses(draw: st.DrawFn) -> bytes:
    """Whole HTTP responses: any status 200-599, body, encoding, framing and odd headers."""
    status = draw(st.integers(200, 599) | st.sampled_from([200, 201, 204, 302, 304, 400, 404, 429, 500, 503]))
    body, encoding_headers = _encode(draw(BODIES), draw(ENCODINGS))
    body, framing_headers = _frame(body, draw(FRAMINGS))
    headers = [("Connection", "close"), *encoding_headers, *framing_headers, *draw(EXTRA_HEADERS)]
    return response_head(status, headers) + body


# --- the fuzz ------------------------------------------------------------------------------------


#: One TLS context for every example's client: loading the CA bundle per client would dominate the run.
TLS = ssl.create_default_context()


@pytest.fixture
def fuzz_server() -> Iterator[tuple[HostileServer, ResponseSlot]]:
    """One hostile server per test, answering whatever its slot holds."""
    slot = ResponseSlot()
    with HostileServer(slot) as server:
        yield server, slot


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(response=raw_responses())
async def test_any_response_raises_only_loopai_exceptions(
    fuzz_server: tuple[HostileServer, ResponseSlot], endpoint: str, response: bytes
) -> None:
    """Whatever the server answers, the endpoint returns or raises a LoopaiException, in bounded time."""
    server, slot = fuzz_server
    slot.response = response
    # A new client per example: what one answer leaves behind (cookies, a rate budget) is not the next one's.
    transport = httpx2.AsyncHTTPTransport(verify=TLS)
    with anyio.fail_after(5), contextlib.suppress(LoopaiException):
        async with LoopaiClient(
            server.url, api_key="sk-fuzz", timeout=2, max_retries=0, transport=transport
        ) as client:
            await ENDPOINTS[endpoint](client)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(response=raw_responses())
async def test_any_chunk_answer_fails_items_not_the_job(
    fuzz_server: tuple[HostileServer, ResponseSlot], response: bytes
) -> None:
    """Whatever a chunk's answer, batch_execute returns one result per item and raises nothing."""
    server, slot = fuzz_server
    slot.response = response
    transport = httpx2.AsyncHTTPTransport(verify=TLS)
    with anyio.fail_after(5):
        async with LoopaiClient(
            server.url, api_key="sk-fuzz", timeout=2, max_retries=0, transport=transport
        ) as client:
            batch = await client.batch_execute(TASK_ID, [{"text": "a"}, {"text": "b"}])
    assert [result.id for result in batch.results] == ["0", "1"]
