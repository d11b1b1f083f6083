"""The client over real loopback HTTP against the local server, on asyncio and trio."""

from __future__ import annotations

import logging
import uuid

import anyio
import httpx2
import pytest

from loopai import (
    BatchOptions,
    ClientClosedException,
    ConflictException,
    ConnectionException,
    ExecutionException,
    ExecutionResult,
    InvalidArgumentException,
    LoopaiClient,
    NotFoundException,
    Task,
    TimeoutException,
    ValidationException,
    __version__,
)
from loopai.models import BatchExecuteItem, BatchExecuteRequest, BatchValidateItem
from loopai.testing import Fault, LocalServer, RateLimitRule, in_process_client

from .conftest import SPAM_TASK


async def test_quick_start_classifies_spam(loopai_client: LoopaiClient) -> None:
    """The spec's quick start: create the spam task, execute, read the label."""
    task = await loopai_client.create_task(**SPAM_TASK)
    spam = await loopai_client.execute(task_id=task.id, input_data={"text": "Buy now for free money!"})
    ham = await loopai_client.execute(task.id, {"text": "Meeting tomorrow at 2pm"})
    assert (spam.output, ham.output) == ("spam", "not_spam")
    assert spam.task_id == task.id
    assert spam.version == 1
    assert spam.succeeded


async def test_created_task_reads_back(loopai_client: LoopaiClient, spam_task: Task) -> None:
    """get_task accepts a UUID or its string and reads what was created."""
    by_uuid = await loopai_client.get_task(spam_task.id)
    by_str = await loopai_client.get_task(str(spam_task.id))
    assert by_uuid == by_str
    assert by_uuid.name == "spam-classifier"
    assert by_uuid.created_at == spam_task.created_at.replace(microsecond=by_uuid.created_at.microsecond)
    assert by_uuid.accuracy_target == pytest.approx(0.95, abs=1e-7)  # single precision on read-back
    assert by_uuid.created_at.tzinfo is not None


async def test_execute_sends_task_id_in_path_and_body(
    loopai_server: LocalServer, loopai_client: LoopaiClient, spam_task: Task
) -> None:
    """POST /api/v1/tasks/{id}/execute, with task_id also in the body and no nulls."""
    await loopai_client.execute(spam_task.id, {"text": "hi"}, force_validation=True)
    (request,) = loopai_server.requests_to("*/execute")
    assert request.path == f"/api/v1/tasks/{spam_task.id}/execute"
    assert b'"task_id":"' + str(spam_task.id).encode() + b'"' in request.body
    assert b"null" not in request.body
    assert request.headers["content-type"] == "application/json"


async def test_force_validation_samples_the_execution(loopai_client: LoopaiClient, spam_task: Task) -> None:
    """force_validation=True always samples the execution for validation."""
    result = await loopai_client.execute(spam_task.id, {"text": "hi"}, force_validation=True)
    assert result.sampled_for_validation


async def test_failed_execution_raises_with_execution_id(
    loopai_server: LocalServer, loopai_client: LoopaiClient, spam_task: Task
) -> None:
    """A program error (200 with status "error") raises ExecutionException with the execution id."""

    def broken(data: dict[str, object]) -> object:
        raise RuntimeError("model exploded")

    loopai_server.register_program("spam-classifier", broken)
    with pytest.raises(ExecutionException) as caught:
        await loopai_client.execute(spam_task.id, {"text": "hi"})
    assert caught.value.execution_id is not None
    assert caught.value.result is not None
    assert caught.value.result.id == caught.value.execution_id
    assert caught.value.result.error_message == "model exploded"
    assert "model exploded" in str(caught.value)
    result = await loopai_client.execute(spam_task.id, {"text": "hi"}, raise_on_failure=False)
    assert result.status == "error"


async def test_timed_out_execution_raises(
    loopai_server: LocalServer, loopai_client: LoopaiClient, spam_task: Task
) -> None:
    """A run over timeout_ms is reported (as "error", like the deployed server) and raised."""

    async def slow(data: dict[str, object]) -> object:
        await anyio.sleep(10)
        return "spam"

    loopai_server.register_program("spam-classifier", slow)
    with pytest.raises(ExecutionException, match="Execution timeout after 20 ms"):
        await loopai_client.execute(spam_task.id, {"text": "hi"}, timeout_ms=20)


async def test_duplicate_task_name_is_a_conflict(loopai_client: LoopaiClient, spam_task: Task) -> None:
    """Names are unique case-insensitively: 409 ConflictException."""
    with pytest.raises(ConflictException) as caught:
        await loopai_client.create_task(**{**SPAM_TASK, "name": "SPAM-Classifier"})
    assert caught.value.code == "TASK_ALREADY_EXISTS"


async def test_unknown_task_is_not_found(loopai_client: LoopaiClient) -> None:
    """GET of an unknown task id: NotFoundException with code TASK_NOT_FOUND."""
    with pytest.raises(NotFoundException) as caught:
        await loopai_client.get_task(uuid.uuid4())
    assert caught.value.code == "TASK_NOT_FOUND"


async def test_input_not_matching_the_schema_names_the_field(
    loopai_client: LoopaiClient, spam_task: Task
) -> None:
    """The server checks input against input_schema; the error names the field."""
    with pytest.raises(ValidationException) as caught:
        await loopai_client.execute(spam_task.id, {"text": 42})
    assert list(caught.value.errors) == ["input.text"]


@pytest.mark.parametrize(
    ("change", "argument", "words"),
    [
        ({"name": "n" * 101}, "name", "at most 100"),
        ({"name": "has space"}, "name", "letters, digits"),
        ({"name": ""}, "name", "non-empty"),
        ({"description": "d" * 2001}, "description", "at most 2000"),
        ({"accuracy_target": 1.5}, "accuracy_target", "between 0.0 and 1.0"),
        ({"sampling_rate": -0.1}, "sampling_rate", "between 0.0 and 1.0"),
        ({"latency_target_ms": 0}, "latency_target_ms", "1-60000"),
        ({"latency_target_ms": 1.5}, "latency_target_ms", "must be an int"),
        ({"input_schema": "object"}, "input_schema", "must be a dict"),
    ],
)
async def test_arguments_the_server_would_fail_on_are_refused_before_sending(
    loopai_server: LocalServer,
    loopai_client: LoopaiClient,
    change: dict[str, object],
    argument: str,
    words: str,
) -> None:
    """A name over 100 characters or a description over 2,000 never reaches the server."""
    with pytest.raises(InvalidArgumentException) as caught:
        await loopai_client.create_task(**{**SPAM_TASK, **change})
    assert caught.value.argument == argument
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert loopai_server.requests == []


async def test_execute_arguments_are_checked(loopai_client: LoopaiClient) -> None:
    """A bad task id, input or version is refused with the argument's name."""
    with pytest.raises(InvalidArgumentException, match="task_id"):
        await loopai_client.execute("nope", {})
    with pytest.raises(InvalidArgumentException, match="input_data"):
        await loopai_client.execute(uuid.uuid4(), ["x"])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentException, match="version"):
        await loopai_client.execute(uuid.uuid4(), {}, version=0)
    with pytest.raises(InvalidArgumentException, match="timeout_ms"):
        await loopai_client.execute(uuid.uuid4(), {}, timeout_ms=60_001)


async def test_batch_execute_as_in_the_spec(loopai_client: LoopaiClient, spam_task: Task) -> None:
    """The spec's simple batch: totals, per-item outputs in input order."""
    emails = [
        {"text": "Buy now for free money!"},
        {"text": "Meeting tomorrow at 2pm"},
        {"text": "URGENT: Click here NOW!!!"},
    ]
    result = await loopai_client.batch_execute(task_id=spam_task.id, inputs=emails, max_concurrency=10)
    assert result.total_items == 3
    assert result.success_count == 3
    assert [item.id for item in result.results] == ["0", "1", "2"]
    assert [item.output for item in result.results] == ["spam", "not_spam", "spam"]
    assert result.avg_latency_ms >= 0


async def test_batch_execute_advanced_as_in_the_spec(loopai_client: LoopaiClient, spam_task: Task) -> None:
    """A BatchExecuteRequest, or the same fields as keywords, keep the caller's ids."""
    items = [
        BatchExecuteItem(id="email-001", input={"text": "Spam email"}, force_validation=False),
        BatchExecuteItem(id="email-002", input={"text": "Legitimate email"}, force_validation=True),
    ]
    request = BatchExecuteRequest(
        task_id=spam_task.id,
        items=items,
        max_concurrency=5,
        stop_on_first_error=False,
        timeout_ms=30000,
    )
    result = await loopai_client.batch_execute_advanced(request)
    assert [r.id for r in result.results] == ["email-001", "email-002"]
    assert result.results[1].sampled_for_validation
    keyword = await loopai_client.batch_execute_advanced(
        task_id=spam_task.id,
        items=[{"id": "a", "input": {"text": "free money"}}, items[1]],
        max_concurrency=5,
        version=1,
    )
    assert [r.id for r in keyword.results] == ["a", "email-002"]
    assert keyword.version == 1


async def test_batch_for_unknown_task_fails_every_item(loopai_client: LoopaiClient) -> None:
    """The server answers 200 with every item failed and no execution_id."""
    result = await loopai_client.batch_execute(uuid.uuid4(), [{"text": "a"}, {"text": "b"}])
    assert result.failure_count == 2
    assert all(r.execution_id is None and r.error_message for r in result.results)


async def test_batch_validate_compares_as_text(loopai_client: LoopaiClient, spam_task: Task) -> None:
    """ "1" equals 1 and true equals "True", while 1 and 1.0 differ."""
    items = [
        BatchValidateItem(id="a", input={}, output="1", expected_output=1),
        BatchValidateItem(id="b", input={}, output=True, expected_output="True"),
        BatchValidateItem(id="c", input={}, output=1, expected_output=1.0),
    ]
    result = await loopai_client.batch_validate(spam_task.id, items)
    assert [r.is_valid for r in result.results] == [True, True, False]
    assert result.valid_count == 2
    assert result.accuracy_rate == pytest.approx(2 / 3)


async def test_artifacts_appear_after_first_execution(loopai_client: LoopaiClient, spam_task: Task) -> None:
    """A task gets an active version-1 artifact when first executed."""
    assert await loopai_client.list_artifacts(spam_task.id) == []
    await loopai_client.execute(spam_task.id, {"text": "hi"})
    (artifact,) = await loopai_client.list_artifacts(spam_task.id)
    assert (artifact.version, artifact.status) == (1, "active")
    assert await loopai_client.get_artifact(spam_task.id, 1) == artifact
    with pytest.raises(NotFoundException) as caught:
        await loopai_client.get_artifact(spam_task.id, 2)
    assert caught.value.code == "ARTIFACT_NOT_FOUND"
    task = await loopai_client.get_task(spam_task.id)
    assert (task.active_version, task.total_versions) == (1, 1)


async def test_health_endpoints(loopai_server: LocalServer, loopai_client: LoopaiClient) -> None:
    """Health, detailed health, readiness and liveness; degraded and not-ready are returned, not raised."""
    assert (await loopai_client.get_health()).environment == "Development"
    assert (await loopai_client.get_liveness()).status == "alive"
    assert (await loopai_client.get_readiness()).ready
    loopai_server.set_component("redis", "unhealthy")
    detailed = await loopai_client.get_health_detailed()
    assert detailed.status == "degraded"
    assert detailed.components["redis"].status == "unhealthy"
    readiness = await loopai_client.get_readiness()
    assert (readiness.ready, readiness.redis, readiness.database) == (False, False, True)
    assert [r.path for r in loopai_server.requests][0] == "/api/v1/health"


async def test_headers_sent_on_every_request(loopai_server: LocalServer, loopai_url: str) -> None:
    """loopai's User-Agent, the bearer key, default and per-call headers are sent."""
    async with LoopaiClient(loopai_url, api_key="sk-1", headers={"X-Team": "a"}) as client:
        await client.get_health(headers={"X-Request-Id": "r1"})
        await client.get_health()
    first, second = loopai_server.requests
    assert first.headers["user-agent"] == f"loopai-python/{__version__}"
    assert first.headers["authorization"] == "Bearer sk-1"
    assert (first.headers["x-team"], first.headers["x-request-id"]) == ("a", "r1")
    assert "x-request-id" not in second.headers


async def test_base_url_and_key_fall_back_to_the_environment(
    loopai_server: LocalServer, loopai_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LOOPAI_BASE_URL and LOOPAI_API_KEY are used when no argument is given."""
    monkeypatch.setenv("LOOPAI_BASE_URL", loopai_url + "/")
    monkeypatch.setenv("LOOPAI_API_KEY", "sk-env")
    async with LoopaiClient() as client:
        await client.get_health()
        assert client.base_url == loopai_url
        assert "sk-env" not in repr(client)
    assert loopai_server.requests[0].headers["authorization"] == "Bearer sk-env"


def test_default_base_url_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing configured the client talks to http://localhost:8080."""
    monkeypatch.delenv("LOOPAI_BASE_URL", raising=False)
    assert LoopaiClient().base_url == "http://localhost:8080"
    assert LoopaiClient("http://h:1/api/v1/").base_url == "http://h:1"
    with pytest.raises(InvalidArgumentException, match="base_url"):
        LoopaiClient("localhost:8080")


async def test_closed_client_refuses_calls(loopai_url: str) -> None:
    """After close(), every call raises ClientClosedException."""
    client = LoopaiClient(loopai_url)
    await client.get_health()
    await client.close()
    assert client.is_closed
    with pytest.raises(ClientClosedException, match="closed"):
        await client.get_health()
    with pytest.raises(ClientClosedException):
        async with client:
            pass


async def test_with_options_shares_the_pool_and_changes_defaults(
    loopai_server: LocalServer, loopai_url: str
) -> None:
    """A derived client has its own defaults; closing it leaves the original usable."""
    loopai_server.faults.add(Fault("latency", route="/api/v1/health/live", delay=5.0))
    async with LoopaiClient(loopai_url, max_retries=0) as client:
        fast = client.with_options(timeout=0.05, headers={"X-Derived": "1"}, max_retries=0)
        assert fast._pipeline.transport is client._pipeline.transport
        with pytest.raises(TimeoutException):
            await fast.get_liveness()
        await fast.get_health()
        await fast.aclose()
        assert fast.is_closed
        assert not client.is_closed
        await client.get_health()
    assert loopai_server.requests[-2].headers["x-derived"] == "1"
    assert "x-derived" not in loopai_server.requests[-1].headers
    assert fast.is_closed


async def test_per_call_timeout_overrides_the_default(loopai_server: LocalServer, loopai_url: str) -> None:
    """timeout= on a call wins over the client's default, also as an httpx2.Timeout."""
    loopai_server.faults.add(Fault("latency", route="/api/v1/health", delay=5.0))
    async with LoopaiClient(loopai_url, max_retries=0) as client:
        with pytest.raises(TimeoutException):
            await client.get_health(timeout=httpx2.Timeout(5.0, read=0.05))
        assert (await client.get_liveness(timeout=1.0)).status == "alive"


async def test_injected_http_client_is_used_and_left_open(
    loopai_server: LocalServer, loopai_url: str
) -> None:
    """An injected httpx2.AsyncClient carries the requests and stays the caller's to close."""
    async with httpx2.AsyncClient() as http:
        async with LoopaiClient(loopai_url, http_client=http) as client:
            await client.get_health()
        assert not http.is_closed
        response = await http.get(loopai_url + "/health")
        assert response.text == "Healthy"
    with pytest.raises(InvalidArgumentException, match=r"httpx2\.AsyncClient"):
        LoopaiClient(http_client=object())  # type: ignore[arg-type]


async def test_in_process_client_needs_no_socket() -> None:
    """in_process_client talks to the server through ASGITransport."""
    server = LocalServer(seed=1)
    async with in_process_client(server) as client:
        task = await client.create_task(**SPAM_TASK)
        assert (await client.execute(task.id, {"text": "free money now"})).output == "spam"
    assert server.requests[0].client == "127.0.0.1"


async def test_logging_records_requests_without_the_key(
    loopai_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The 'loopai' logger records method, URL, status and attempt; never the API key."""
    caplog.set_level(logging.DEBUG, logger="loopai")
    async with LoopaiClient(loopai_url, api_key="sk-hidden") as client:
        await client.get_health()
    (record,) = [r for r in caplog.records if r.name == "loopai"]
    assert "GET" in record.getMessage() and "-> 200 (attempt 1" in record.getMessage()
    assert "sk-hidden" not in caplog.text


async def test_cancelled_requests_do_not_leak_pool_slots(loopai_server: LocalServer, loopai_url: str) -> None:
    """Hundreds of requests cancelled mid-flight leave the pool usable (httpx 0.28's leak)."""
    loopai_server.faults.add(Fault("latency", route="/api/v1/health/live", delay=30.0))
    async with LoopaiClient(loopai_url, max_connections=5, max_retries=0) as client:

        async def cancelled_call() -> None:
            with anyio.move_on_after(0.05):
                await client.get_liveness()

        async with anyio.create_task_group() as group:
            for _ in range(300):
                group.start_soon(cancelled_call)
        loopai_server.faults.clear()
        with anyio.fail_after(10):
            for _ in range(20):
                assert (await client.get_health(timeout=5.0)).status == "healthy"


async def test_with_raw_response_gives_status_headers_rate_limit_and_the_parsed_result() -> None:
    """with_raw_response.execute returns the HTTP answer, and parse() the same result execute returns."""
    server = LocalServer(seed=0, rate_limits=[RateLimitRule(100, "1m")])
    async with server.serve() as url, LoopaiClient(url) as client:
        task = await client.create_task(**SPAM_TASK)
        raw = await client.with_raw_response.execute(task.id, {"text": "free money"})
        assert raw.status_code == 200
        assert raw.headers["content-type"].startswith("application/json")
        result = raw.parse()
        assert isinstance(result, ExecutionResult) and result.output == "spam"
        assert raw.rate_limit is not None and raw.rate_limit.remaining == 99 and raw.rate_limit.limit == "1m"
        state = client.rate_limit_state("POST", f"/api/v1/tasks/{task.id}/execute")
        assert state is not None and state.remaining == 99
        batch = await client.with_raw_response.batch_execute(
            task.id, [{"text": str(n)} for n in range(30)], options=BatchOptions(chunk_size=10)
        )
        assert len(batch.answers) == 3 and batch.parse().total_items == 30
        with pytest.raises(AttributeError, match="stream_batch"):
            _ = client.with_raw_response.stream_batch


async def test_seed_sdk_attributes_are_there(loopai_url: str) -> None:
    """client.timeout, .max_retries and .api_key as given; the key still hidden from repr."""
    async with LoopaiClient(loopai_url, api_key="sk-seed", timeout=12.5, max_retries=5) as client:
        assert client.timeout == 12.5
        assert client.max_retries == 5
        assert client.api_key == "sk-seed"
        assert "sk-seed" not in repr(client)


async def test_connection_exception_keeps_the_original_exception() -> None:
    """ConnectionException.original_exception is the HTTP library's exception, as the seed SDK had it."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with LoopaiClient(f"http://127.0.0.1:{port}", max_retries=0) as client:
        with pytest.raises(ConnectionException) as caught:
            await client.get_health()
    assert isinstance(caught.value.original_exception, Exception)
    assert caught.value.__cause__ is caught.value.original_exception


async def test_any_sequence_of_inputs_is_taken(loopai_url: str) -> None:
    """A deque (a sequence that cannot be sliced) is a batch like a list."""
    import collections

    async with LoopaiClient(loopai_url) as client:
        task = await client.create_task(**SPAM_TASK)
        response = await client.batch_execute(task.id, collections.deque({"text": str(n)} for n in range(3)))
    assert [result.id for result in response.results] == ["0", "1", "2"]


async def test_a_raw_batch_whose_chunks_all_failed_still_returns(
    loopai_server: LocalServer, loopai_url: str
) -> None:
    """with_raw_response on a batch with no successful answer: the failed results, no status."""
    loopai_server.faults.add(Fault("status", route="/api/v1/batch/execute", status=503))
    async with LoopaiClient(loopai_url, max_retries=0) as client:
        task = await client.create_task(**SPAM_TASK)
        raw = await client.with_raw_response.batch_execute(task.id, [{"text": "x"}])
    assert raw.status_code is None and raw.answers == []
    assert not raw.parse().results[0].success


async def test_a_progress_callback_error_is_a_batch_exception_for_one_chunk_too(loopai_url: str) -> None:
    """The job's own failure is BatchException, whether the job is one request or many."""
    from loopai import BatchException

    def broken(progress: object) -> None:
        raise KeyError("progress")

    async with LoopaiClient(loopai_url) as client:
        task = await client.create_task(**SPAM_TASK)
        with pytest.raises(BatchException) as caught:
            await client.batch_execute(task.id, [{"text": "x"}], progress=broken)
    assert isinstance(caught.value.__cause__, KeyError)


async def test_url_credentials_are_sent_decoded_and_never_shown(
    loopai_server: LocalServer, loopai_url: str
) -> None:
    """http://bob:p%40ss@host sends basic auth for bob:p@ss; the password is in no repr."""
    import base64

    url = loopai_url.replace("http://", "http://bob:p%40ss%3Aw@")
    async with LoopaiClient(url) as client:
        await client.get_health()
        assert "p%40ss" not in repr(client) and "p@ss" not in repr(client)
    sent = loopai_server.requests[-1].headers["authorization"]
    assert sent == "Basic " + base64.b64encode(b"bob:p@ss:w").decode()
