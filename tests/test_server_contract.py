"""The local server speaks CONTRACT.md, checked at the wire with a raw HTTP client."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from loopai.testing import DEPLOYED_RULES, Fault, LocalServer, RateLimitRule, ServerQuirks

from .conftest import SPAM_TASK

FRESH = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$")
STORED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?$")


@pytest.fixture
async def http(loopai_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    """A raw HTTP client of the running server."""
    async with httpx2.AsyncClient(base_url=loopai_url) as client:
        yield client


async def create(http: httpx2.AsyncClient, **change: Any) -> dict[str, Any]:
    response = await http.post("/api/v1/tasks", json={**SPAM_TASK, **change})
    assert response.status_code == 201, response.text
    return dict(response.json())


def assert_problem(response: httpx2.Response, field: str) -> None:
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["title"] == "One or more validation errors occurred."
    assert body["status"] == 400
    assert field in body["errors"]
    assert body["traceId"].startswith("00-")


def assert_error(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = dict(response.json())
    assert body["code"] == code
    assert body["message"]
    assert FRESH.match(body["timestamp"])
    return body


async def test_create_task_answers_201_with_location(http: httpx2.AsyncClient, loopai_url: str) -> None:
    """201, an absolute Location under /api/v1/Tasks/, fresh timestamps, nulls omitted."""
    response = await http.post("/api/v1/tasks", json=SPAM_TASK)
    body = response.json()
    assert response.status_code == 201
    assert response.headers["location"] == f"{loopai_url}/api/v1/Tasks/{body['id']}"
    assert response.headers["api-supported-versions"] == "1.0"
    assert FRESH.match(body["created_at"])
    assert "active_version" not in body
    assert body["total_versions"] == 0
    assert body["accuracy_target"] == 0.95
    assert str(uuid.UUID(body["id"])) == body["id"]


async def test_get_task_reads_back_from_storage(http: httpx2.AsyncClient) -> None:
    """GET returns offset-less timestamps and single-precision numbers; routes ignore case."""
    created = await create(http)
    response = await http.get(f"/api/v1/Tasks/{created['id'].upper()}")
    body = response.json()
    assert response.status_code == 200
    assert STORED.match(body["created_at"])
    assert body["accuracy_target"] == 0.949999988079071
    assert body["sampling_rate"] == 0.10000000149011612


async def test_responses_are_pretty_and_escaped_like_development(http: httpx2.AsyncClient) -> None:
    """Indented JSON with non-ASCII and <>&'+ written as \\u escapes."""
    created = await create(http, description="Ünïcode <b> & 'quotes' + emoji 😀")
    response = await http.get(f"/api/v1/tasks/{created['id']}")
    assert response.text.startswith("{\n  ")
    assert "\\u00DC" in response.text and "\\u003C" in response.text and "\\uD83D\\uDE00" in response.text
    assert response.json()["description"] == "Ünïcode <b> & 'quotes' + emoji 😀"


async def test_quirks_can_be_switched_off(quiet_server_url: tuple[LocalServer, str]) -> None:
    """ServerQuirks.none(): compact JSON, exact numbers."""
    _, url = quiet_server_url
    async with httpx2.AsyncClient(base_url=url) as http:
        created = await create(http)
        response = await http.get(f"/api/v1/tasks/{created['id']}")
    assert not response.text.startswith("{\n")
    assert response.json()["accuracy_target"] == 0.95


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "bad name!"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"description": ""}, "description"),
        ({"accuracy_target": 1.5}, "accuracy_target"),
        ({"latency_target_ms": 0}, "latency_target_ms"),
        ({"sampling_rate": 2}, "sampling_rate"),
    ],
)
async def test_create_task_rule_violations_are_validation_errors(
    http: httpx2.AsyncClient, change: dict[str, Any], field: str
) -> None:
    """Validator rules answer 400 VALIDATION_ERROR with details naming the property."""
    body = assert_error(
        await http.post("/api/v1/tasks", json={**SPAM_TASK, **change}), 400, "VALIDATION_ERROR"
    )
    assert [d["property_name"] for d in body["details"]] == [field]


async def test_storage_limits_fail_after_validation(http: httpx2.AsyncClient) -> None:
    """A name of 101-200 characters passes validation and fails with 500 TASK_CREATION_ERROR."""
    assert_error(
        await http.post("/api/v1/tasks", json={**SPAM_TASK, "name": "n" * 150}),
        500,
        "TASK_CREATION_ERROR",
    )
    assert_error(
        await http.post("/api/v1/tasks", json={**SPAM_TASK, "description": "d" * 2500}),
        500,
        "TASK_CREATION_ERROR",
    )


async def test_duplicate_names_conflict_case_insensitively(http: httpx2.AsyncClient) -> None:
    """A second task named Spam after spam is a 409."""
    await create(http, name="spam")
    assert_error(
        await http.post("/api/v1/tasks", json={**SPAM_TASK, "name": "Spam"}),
        409,
        "TASK_ALREADY_EXISTS",
    )


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"{not json", "$"),
        (json.dumps({**SPAM_TASK, "examples": None}).encode(), "$.examples"),
        (json.dumps({k: v for k, v in SPAM_TASK.items() if k != "name"}).encode(), "name"),
        (json.dumps({**SPAM_TASK, "accuracy_target": "high"}).encode(), "$.accuracy_target"),
        (b"[1, 2]", "$"),
    ],
)
async def test_unbindable_bodies_are_problem_details(
    http: httpx2.AsyncClient, content: bytes, field: str
) -> None:
    """Malformed JSON, nulls, missing or mistyped properties: 400 ProblemDetails."""
    response = await http.post("/api/v1/tasks", content=content, headers={"content-type": "application/json"})
    assert_problem(response, field)


async def test_non_guid_route_id_is_problem_details(http: httpx2.AsyncClient) -> None:
    """GET /api/v1/tasks/not-a-guid is a ProblemDetails 400."""
    assert_problem(await http.get("/api/v1/tasks/not-a-guid"), "taskId")


async def test_unknown_task_is_404(http: httpx2.AsyncClient) -> None:
    """GET of an unknown id is 404 TASK_NOT_FOUND."""
    body = assert_error(await http.get(f"/api/v1/tasks/{uuid.uuid4()}"), 404, "TASK_NOT_FOUND")
    assert body["trace_id"]


async def test_unknown_routes_and_wrong_methods_have_empty_bodies(http: httpx2.AsyncClient) -> None:
    """404 for an unknown route, 405 with Allow: GET for POST /api/v1/tasks/execute, no body."""
    missing = await http.get("/api/v1/nothing")
    assert (missing.status_code, missing.content) == (404, b"")
    wrong = await http.post("/api/v1/tasks/execute", json={})
    assert (wrong.status_code, wrong.content) == (405, b"")
    assert wrong.headers["allow"] == "GET"


async def test_oversized_bodies_are_413(http: httpx2.AsyncClient) -> None:
    """Bodies over 30,000,000 bytes get an empty 413."""
    response = await http.post("/api/v1/tasks", content=b" " * 30_000_001)
    assert (response.status_code, response.content) == (413, b"")


async def test_execute_success_shape(http: httpx2.AsyncClient) -> None:
    """200 ExecuteResponse: ids, version 1, status success, fresh executed_at, no nulls."""
    task = await create(http)
    response = await http.post(
        f"/api/v1/tasks/{task['id']}/execute",
        json={"task_id": task["id"], "input": {"text": "free money"}},
    )
    body = response.json()
    assert response.status_code == 200
    assert body["task_id"] == task["id"]
    assert (body["version"], body["status"], body["output"]) == (1, "success", "spam")
    assert "error_message" not in body
    assert FRESH.match(body["executed_at"])
    assert isinstance(body["latency_ms"], float | int)


async def test_execute_task_id_mismatch_and_unknown_task(http: httpx2.AsyncClient) -> None:
    """Path and body ids must match (400 TASK_ID_MISMATCH); an unknown task is 500 EXECUTION_ERROR."""
    task = await create(http)
    assert_error(
        await http.post(
            f"/api/v1/tasks/{task['id']}/execute", json={"task_id": str(uuid.uuid4()), "input": {}}
        ),
        400, "TASK_ID_MISMATCH",
    )  # fmt: skip
    other = str(uuid.uuid4())
    assert_error(
        await http.post(f"/api/v1/tasks/{other}/execute", json={"task_id": other, "input": {}}),
        500, "EXECUTION_ERROR",
    )  # fmt: skip


async def test_execute_range_rules(http: httpx2.AsyncClient) -> None:
    """version > 0 and timeout_ms 1-60000, else VALIDATION_ERROR."""
    task = await create(http)
    for change in ({"version": 0}, {"timeout_ms": 60_001}):
        body = {"task_id": task["id"], "input": {"text": "x"}, **change}
        assert_error(
            await http.post(f"/api/v1/tasks/{task['id']}/execute", json=body),
            400,
            "VALIDATION_ERROR",
        )


async def test_timeouts_are_reported_as_errors_like_the_deployed_server(
    loopai_server: LocalServer, http: httpx2.AsyncClient
) -> None:
    """A run over timeout_ms: status "error" and "Execution timeout after N ms"."""
    import anyio

    async def slow(data: dict[str, Any]) -> str:
        await anyio.sleep(5)
        return "spam"

    loopai_server.register_program("spam-classifier", slow)
    task = await create(http)
    body = {"task_id": task["id"], "input": {"text": "x"}, "timeout_ms": 10}
    result = (await http.post(f"/api/v1/tasks/{task['id']}/execute", json=body)).json()
    assert (result["status"], result["error_message"]) == ("error", "Execution timeout after 10 ms")


async def test_sampling_follows_force_validation_and_the_rate(http: httpx2.AsyncClient) -> None:
    """force_validation samples always; sampling_rate 0 never, 1 always."""
    never = await create(http, name="never", sampling_rate=0.0)
    always = await create(http, name="always", sampling_rate=1.0)

    async def sampled(task: dict[str, Any], force: bool) -> bool:
        body = {"task_id": task["id"], "input": {"text": "x"}, "force_validation": force}
        return bool(
            (await http.post(f"/api/v1/tasks/{task['id']}/execute", json=body)).json()[
                "sampled_for_validation"
            ]
        )

    assert [await sampled(never, False) for _ in range(5)] == [False] * 5
    assert [await sampled(always, False) for _ in range(5)] == [True] * 5
    assert await sampled(never, True)


async def test_batch_semantics(http: httpx2.AsyncClient) -> None:
    """Results in request order, version 0 when none given, totals that add up."""
    task = await create(http)
    items = [
        {"id": f"i{n}", "input": {"text": text}} for n, text in enumerate(["free money", "hello", "buy now"])
    ]
    body = (await http.post("/api/v1/batch/execute", json={"task_id": task["id"], "items": items})).json()
    assert [r["id"] for r in body["results"]] == ["i0", "i1", "i2"]
    assert [r["output"] for r in body["results"]] == ["spam", "not_spam", "spam"]
    assert (body["version"], body["total_items"], body["success_count"], body["failure_count"]) == (
        0,
        3,
        3,
        0,
    )
    assert FRESH.match(body["started_at"]) and FRESH.match(body["completed_at"])


async def test_batch_item_with_bad_input_fails_alone(http: httpx2.AsyncClient) -> None:
    """An item whose input breaks the schema fails; the others run."""
    task = await create(http)
    items = [{"id": "ok", "input": {"text": "x"}}, {"id": "bad", "input": {"text": 1}}]
    body = (await http.post("/api/v1/batch/execute", json={"task_id": task["id"], "items": items})).json()
    assert [r["success"] for r in body["results"]] == [True, False]
    assert "execution_id" not in body["results"][1]


async def test_batch_of_unknown_task_fails_every_item(http: httpx2.AsyncClient) -> None:
    """200, every item failed, no execution_id."""
    items = [{"id": "a", "input": {}}, {"id": "b", "input": {}}]
    body = (
        await http.post("/api/v1/batch/execute", json={"task_id": str(uuid.uuid4()), "items": items})
    ).json()
    assert body["failure_count"] == 2
    assert all("execution_id" not in r and r["error_message"] for r in body["results"])


@pytest.mark.parametrize("concurrency", [0, 101])
async def test_batch_concurrency_out_of_range(http: httpx2.AsyncClient, concurrency: int) -> None:
    """max_concurrency outside 1-100 is 400 INVALID_CONCURRENCY."""
    body = {"task_id": str(uuid.uuid4()), "items": [], "max_concurrency": concurrency}
    assert_error(await http.post("/api/v1/batch/execute", json=body), 400, "INVALID_CONCURRENCY")


async def test_batch_item_binding_errors_name_the_item(http: httpx2.AsyncClient) -> None:
    """A batch item without an id is ProblemDetails naming $.items[1].id."""
    items = [{"id": "a", "input": {}}, {"input": {}}]
    response = await http.post("/api/v1/batch/execute", json={"task_id": str(uuid.uuid4()), "items": items})
    assert_problem(response, "$.items[1].id")


async def test_async_programs_run_with_the_batch_concurrency(
    loopai_server: LocalServer, http: httpx2.AsyncClient
) -> None:
    """With an async program the server runs up to max_concurrency items at once."""
    import anyio

    running = 0
    peak = 0

    async def program(data: dict[str, Any]) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.01)
        running -= 1
        return "spam"

    loopai_server.register_program("spam-classifier", program)
    task = await create(http)
    items = [{"id": str(n), "input": {"text": "x"}} for n in range(12)]
    body = {"task_id": task["id"], "items": items, "max_concurrency": 3}
    result = (await http.post("/api/v1/batch/execute", json=body)).json()
    assert result["success_count"] == 12
    assert 1 < peak <= 3


async def test_artifacts_shape(http: httpx2.AsyncClient) -> None:
    """Unknown task: 200 []; after an execute: one active v1 artifact with stored timestamps."""
    assert (await http.get(f"/api/v1/tasks/{uuid.uuid4()}/artifacts")).json() == []
    task = await create(http)
    await http.post(
        f"/api/v1/tasks/{task['id']}/execute", json={"task_id": task["id"], "input": {"text": "x"}}
    )
    (artifact,) = (await http.get(f"/api/v1/tasks/{task['id']}/artifacts")).json()
    assert (artifact["version"], artifact["status"]) == (1, "active")
    assert STORED.match(artifact["created_at"])
    assert_error(await http.get(f"/api/v1/tasks/{task['id']}/artifacts/7"), 404, "ARTIFACT_NOT_FOUND")


async def test_health_endpoints(loopai_server: LocalServer, http: httpx2.AsyncClient) -> None:
    """JSON health endpoints, and /health as text/plain."""
    health = await http.get("/api/v1/health")
    assert health.json()["status"] == "healthy" and FRESH.match(health.json()["timestamp"])
    plain = await http.get("/health")
    assert (plain.text, plain.headers["content-type"].split(";")[0]) == ("Healthy", "text/plain")
    assert (await http.get("/api/v1/health/live")).json() == {"status": "alive"}
    loopai_server.set_component("database", "unhealthy")
    assert (await http.get("/health")).status_code == 503
    detailed = await http.get("/api/v1/health/detailed")
    assert (detailed.status_code, detailed.json()["status"]) == (503, "degraded")
    ready = await http.get("/api/v1/health/ready")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not_ready", "database": False, "redis": True}


async def test_rate_limiter_answers_like_the_real_one() -> None:
    """Over the limit: 429 with the configured body, Retry-After and X-Rate-Limit-* headers."""
    server = LocalServer(rate_limits=[RateLimitRule(2, "1m")])
    async with server.serve() as url, httpx2.AsyncClient(base_url=url) as http:
        assert [(await http.get("/api/v1/health")).status_code for _ in range(2)] == [200, 200]
        blocked = await http.get("/api/v1/health")
        other_path = await http.get("/api/v1/health/live")
    assert blocked.status_code == 429
    assert blocked.json() == {
        "code": "RATE_LIMIT_EXCEEDED",
        "message": "Rate limit exceeded. Please try again later.",
    }
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert blocked.headers["x-rate-limit-limit"] == "1m"
    assert blocked.headers["x-rate-limit-remaining"] == "0"
    assert blocked.headers["x-rate-limit-reset"].endswith("Z")
    assert other_path.status_code == 200  # counters are per path


async def test_broken_rate_limiter_answers_500() -> None:
    """The deployed quirk: a blocked request gets 500 INTERNAL_ERROR and no Retry-After."""
    server = LocalServer(rate_limits=[RateLimitRule(1, "1m")], quirks=ServerQuirks(broken_rate_limiter=True))
    async with server.serve() as url, httpx2.AsyncClient(base_url=url) as http:
        await http.get("/api/v1/health")
        blocked = await http.get("/api/v1/health")
    assert_error(blocked, 500, "INTERNAL_ERROR")
    assert "retry-after" not in blocked.headers


def test_deployed_rules_and_rule_parsing() -> None:
    """The deployed defaults and the command line's rule form."""
    assert RateLimitRule(30, "1m", "*/execute") in DEPLOYED_RULES
    assert RateLimitRule.parse("30/1m@*/execute") == RateLimitRule(30, "1m", "*/execute")
    assert RateLimitRule.parse("5/h").seconds == 3600
    with pytest.raises(ValueError, match="period"):
        RateLimitRule.parse("5/1x")


async def test_status_fault_for_the_next_n_requests(
    loopai_server: LocalServer, http: httpx2.AsyncClient
) -> None:
    """A status fault with times=2 answers twice, with Retry-After, then stops."""
    loopai_server.faults.add(Fault.parse("status=503@/api/v1/health,times=2,retry_after=3"))
    first, second, third = [await http.get("/api/v1/health") for _ in range(3)]
    assert [r.status_code for r in (first, second, third)] == [503, 503, 200]
    assert first.headers["retry-after"] == "3"
    assert first.json()["code"] == "INTERNAL_ERROR"


async def test_probability_faults_follow_the_seed() -> None:
    """With a seed, which requests fail is reproducible."""

    async def pattern() -> list[int]:
        server = LocalServer(seed=42, faults=[Fault.parse("status=502,p=0.5")])
        async with server.serve() as url, httpx2.AsyncClient(base_url=url) as http:
            return [(await http.get("/api/v1/health/live")).status_code for _ in range(20)]

    first = await pattern()
    assert first == await pattern()
    assert {200, 502} == set(first)


async def test_malformed_and_truncated_faults(loopai_server: LocalServer, http: httpx2.AsyncClient) -> None:
    """malformed answers a 200 that is not JSON; truncated cuts the real body in half."""
    loopai_server.faults.add(Fault("malformed", route="/api/v1/health", times=1))
    loopai_server.faults.add(Fault("truncated", route="/api/v1/health/live", times=1))
    malformed = await http.get("/api/v1/health")
    truncated = await http.get("/api/v1/health/live")
    assert malformed.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.content)
    assert len(truncated.content) == len(b'{\n  "status": "alive"\n}') // 2


async def test_drop_fault_breaks_the_connection(loopai_server: LocalServer, http: httpx2.AsyncClient) -> None:
    """drop sends headers and closes the connection without the body."""
    loopai_server.faults.add(Fault("drop", times=1))
    with pytest.raises(httpx2.RemoteProtocolError):
        await http.get("/api/v1/health")
    assert (await http.get("/api/v1/health")).status_code == 200


async def test_latency_fault_delays_without_failing(
    loopai_server: LocalServer, http: httpx2.AsyncClient
) -> None:
    """latency answers normally after the delay (the request is recorded before it)."""
    import anyio

    loopai_server.faults.add(Fault.parse("latency=0.2@/api/v1/health/live"))
    started = anyio.current_time()
    response = await http.get("/api/v1/health/live")
    assert response.status_code == 200
    assert anyio.current_time() - started >= 0.2


def test_fault_specs_are_checked() -> None:
    """Unknown kinds, options and probabilities are refused with a clear message."""
    with pytest.raises(ValueError, match="kind"):
        Fault.parse("explode")
    with pytest.raises(ValueError, match="option"):
        Fault.parse("drop,color=red")
    with pytest.raises(ValueError, match="probability"):
        Fault.parse("drop,p=2")
    with pytest.raises(ValueError, match="takes no value"):
        Fault.parse("drop=3")
    fault = Fault.parse("status=429@/api/*,method=post,code=SLOW,delay=0.5")
    assert (fault.status, fault.method, fault.code, fault.delay) == (429, "POST", "SLOW", 0.5)


async def test_recorder_keeps_method_path_headers_body_and_concurrency(
    loopai_server: LocalServer, http: httpx2.AsyncClient
) -> None:
    """Every request is recorded; tests can wait on arrivals instead of sleeping."""
    await http.post("/api/v1/tasks?api-version=1.0", json=SPAM_TASK, headers={"X-Api-Version": "1.0"})
    (request,) = await loopai_server.wait_for_requests(1, "/api/v1/tasks")
    assert (request.method, request.path, request.query) == (
        "POST",
        "/api/v1/tasks",
        "api-version=1.0",
    )
    assert request.headers["x-api-version"] == "1.0"
    assert json.loads(request.body)["name"] == SPAM_TASK["name"]
    assert request.in_flight == 1
    loopai_server.reset_records()
    assert loopai_server.requests == []
