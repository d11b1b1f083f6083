"""SyncLoopaiClient: the blocking twin of LoopaiClient, in scripts, threads and running loops."""

from __future__ import annotations

import functools
import gc
import inspect
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loopai
from loopai import (
    ClientClosedException,
    LoopaiClient,
    NotFoundException,
    SyncBatchStream,
    SyncLoopaiClient,
    ValidationException,
)
from loopai._blocking_view import blocking_docstring
from loopai.testing import FAST_RETRIES, LocalServer

from .conftest import HAS_TRIO, SPAM_TASK

SRC = Path(loopai.__file__).resolve().parent.parent

#: Methods of LoopaiClient whose twins are not simply blocking calls of them.
LIFECYCLE = {"aclose", "close"}


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="loop-asyncio"),
        pytest.param(
            "trio", id="loop-trio", marks=pytest.mark.skipif(not HAS_TRIO, reason="trio is not installed")
        ),
    ]
)
def loop_backend(request: pytest.FixtureRequest) -> str:
    """The sync client's background loop runs on asyncio and on trio."""
    return str(request.param)


@pytest.fixture
def thread_server() -> Iterator[tuple[LocalServer, str]]:
    """A local server serving from its own thread."""
    server = LocalServer(seed=0)
    with server.serve_in_thread() as url:
        yield server, url


@pytest.fixture
def client(thread_server: tuple[LocalServer, str], loop_backend: str) -> Iterator[SyncLoopaiClient]:
    """A sync client of the thread server."""
    with SyncLoopaiClient(thread_server[1], retry_policy=FAST_RETRIES, backend=loop_backend) as sync:
        yield sync


def _public_methods(cls: type) -> dict[str, object]:
    return {name: value for name, value in vars(cls).items() if not name.startswith("_") and callable(value)}


# --- derived, not hand-kept -------------------------------------------------------------


def test_every_async_method_has_a_blocking_twin_with_its_parameters() -> None:
    """Each public method of LoopaiClient exists on SyncLoopaiClient with the same parameters and docs."""
    twins = 0
    for name, method in _public_methods(LoopaiClient).items():
        if name in LIFECYCLE:
            continue
        twin = getattr(SyncLoopaiClient, name, None)
        assert twin is not None, f"SyncLoopaiClient lacks {name}"
        assert not inspect.iscoroutinefunction(twin), name
        assert inspect.signature(twin).parameters == inspect.signature(method).parameters, name  # type: ignore[arg-type]
        assert twin.__doc__ == blocking_docstring(method.__doc__), name
        assert twin.__qualname__ == f"SyncLoopaiClient.{name}"
        twins += 1
    assert twins >= 13


def test_constructor_takes_the_async_clients_arguments_and_a_backend() -> None:
    """SyncLoopaiClient(...) takes LoopaiClient's arguments with the same defaults, plus backend."""
    sync = dict(inspect.signature(SyncLoopaiClient).parameters)
    assert [sync.pop("backend").default, sync.pop("backend_options").default] == ["asyncio", None]
    assert sync == dict(inspect.signature(LoopaiClient).parameters)


def test_public_attributes_of_the_async_client_show_through(client: SyncLoopaiClient) -> None:
    """Every public attribute of a LoopaiClient instance can be read on the sync client."""
    for name in dir(client.async_client):
        if not name.startswith("_") and name not in LIFECYCLE:
            assert hasattr(client, name), name
    assert client.base_url == client.async_client.base_url
    assert client.retry_policy is FAST_RETRIES
    with pytest.raises(AttributeError):
        _ = client.no_such_attribute  # type: ignore[attr-defined]


def test_async_namespaces_added_later_become_blocking(client: SyncLoopaiClient) -> None:
    """An async-method namespace of the async client (like with_raw_response) shows through, blocking."""

    class Raw:
        def __init__(self, status: str) -> None:
            self.status_code = 200
            self._status = status

        async def parse(self) -> str:
            return self._status

    def derived(method: Callable[..., Awaitable[str]]) -> Callable[..., Awaitable[Raw]]:
        @functools.wraps(method)
        def wrapper(*args: object, **kwargs: object) -> Awaitable[Raw]:
            async def raw() -> Raw:
                return Raw(await method(*args, **kwargs))

            return raw()

        return wrapper

    class Namespace:
        def __init__(self, owner: LoopaiClient) -> None:
            self.owner = owner

        async def health_status(self, *, suffix: str = "") -> str:
            """The health status."""
            return (await self.owner.get_health()).status + suffix

        raw_health_status = derived(health_status)

    client.async_client.extra = Namespace(client.async_client)  # type: ignore[attr-defined]
    view = client.extra  # type: ignore[attr-defined]
    assert view.health_status(suffix="!") == "healthy!"
    raw = view.raw_health_status(suffix="?")  # a sync wrapper of an async def: still blocking
    assert raw.status_code == 200
    assert raw.parse() == "healthy?"  # and what it returns is viewed too
    assert view.owner.get_liveness().status == "alive"  # nested async objects are blocking too
    assert "blocking view" in repr(view)


# --- calls ---------------------------------------------------------------------------------


def test_every_endpoint_blocks_and_returns_the_model(client: SyncLoopaiClient) -> None:
    """Tasks, executions, batches, validation, artifacts and health all work blocking."""
    task = client.create_task(**SPAM_TASK)
    assert client.get_task(task.id).id == task.id
    result = client.execute(task.id, {"text": "Buy now for free money!"})
    assert result.output == "spam"
    batch = client.batch_execute(task.id, [{"text": "Meeting at 2pm"}, {"text": "free money"}])
    assert [r.id for r in batch.results] == ["0", "1"]
    advanced = client.batch_execute_advanced(task_id=task.id, items=[{"id": "a", "input": {"text": "x"}}])
    assert advanced.results[0].id == "a"
    validated = client.batch_validate(
        task.id, [{"id": "v", "input": {"text": "x"}, "output": "spam", "expected_output": "spam"}]
    )
    assert validated.valid_count == 1
    artifacts = client.list_artifacts(task.id)
    assert client.get_artifact(task.id, artifacts[0].version).id == artifacts[0].id
    assert client.get_health().status == "healthy"
    assert client.get_health_detailed().components
    assert client.get_readiness().ready
    assert client.get_liveness().status


def test_with_raw_response_blocks_and_returns_the_answer(client: SyncLoopaiClient) -> None:
    """client.with_raw_response.<method>(...) blocks and returns status, headers and the parsed result."""
    raw = client.with_raw_response.get_health()
    assert raw.status_code == 200
    assert raw.parse().status == "healthy"
    task = client.create_task(**SPAM_TASK)
    executed = client.with_raw_response.execute(task.id, {"text": "Buy now for free money!"})
    assert executed.parse().output == "spam"
    assert "content-type" in {name.lower() for name in executed.headers}
    with pytest.raises(AttributeError):
        _ = client.with_raw_response.stream_batch


def test_errors_arrive_as_the_async_clients_exceptions(client: SyncLoopaiClient) -> None:
    """A 404 raises NotFoundException in the calling thread; argument errors too."""
    with pytest.raises(NotFoundException):
        client.get_task(uuid.uuid4())
    with pytest.raises(ValidationException):
        client.execute(client.create_task(**SPAM_TASK).id, {"wrong": 1})
    with pytest.raises(loopai.InvalidArgumentException):
        client.get_task("not-a-uuid")


def test_threads_share_one_client(thread_server: tuple[LocalServer, str], client: SyncLoopaiClient) -> None:
    """Eight threads calling one client concurrently all get their own answers."""
    task = client.create_task(**SPAM_TASK)
    texts = [f"free money {i}" if i % 2 else f"meeting {i}" for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        outputs = list(pool.map(lambda text: client.execute(task.id, {"text": text}).output, texts))
    assert outputs == ["spam" if i % 2 else "not_spam" for i in range(40)]
    assert len(thread_server[0].requests_to("*/execute")) == 40


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(text=st.text(max_size=200))
def test_a_plain_hypothesis_property_uses_the_sync_client(
    loopai_server: LocalServer, loopai_sync_client: SyncLoopaiClient, text: str
) -> None:
    """A property written as a plain function checks the server's classifier through the fixtures."""
    if not loopai_server.store.tasks:
        loopai_sync_client.create_task(**SPAM_TASK)
    (task_id,) = loopai_server.store.tasks
    output = loopai_sync_client.execute(task_id, {"text": text}).output
    assert output in {"spam", "not_spam"}


async def test_works_inside_a_running_event_loop(
    thread_server: tuple[LocalServer, str], loop_backend: str
) -> None:
    """Called from async code (asyncio or trio, as in a notebook), the client runs on its own loop."""
    with SyncLoopaiClient(thread_server[1], backend=loop_backend) as sync:
        assert sync.get_health().status == "healthy"
    await anyio.lowlevel.checkpoint()


# --- streaming -------------------------------------------------------------------------------


def test_stream_batch_yields_every_result(client: SyncLoopaiClient) -> None:
    """`with client.stream_batch(...) as results: for r in results` gives one result per input."""
    task = client.create_task(**SPAM_TASK)
    stream = client.stream_batch(task.id, ({"text": f"m{i}"} for i in range(120)), ordered=True)
    assert isinstance(stream, SyncBatchStream)
    with stream as results:
        ids = [result.id for result in results]
    assert ids == [str(i) for i in range(120)]


def test_a_full_read_ahead_buffer_waits_for_the_reader(client: SyncLoopaiClient) -> None:
    """With a read-ahead of 3 results, every result still arrives once and in input order."""
    task = client.create_task(**SPAM_TASK)
    stream = client.stream_batch(task.id, [{"text": f"m{i}"} for i in range(50)], ordered=True)
    stream._read_ahead = 3
    with stream as results:
        ids = [result.id for result in results]
    assert ids == [str(i) for i in range(50)]


def test_leaving_a_stream_early_cancels_the_rest(
    thread_server: tuple[LocalServer, str], client: SyncLoopaiClient
) -> None:
    """Breaking out of the loop ends the job; the client goes on working."""
    task = client.create_task(**SPAM_TASK)
    options = loopai.BatchOptions(chunk_size=10, concurrency=1)
    with client.stream_batch(task.id, ({"text": str(i)} for i in range(10_000)), options=options) as results:
        first = next(iter(results))
    assert first.success
    assert len(thread_server[0].requests_to("*/batch/execute")) < 1000
    assert client.get_liveness().status


def test_a_stream_is_iterated_inside_its_block_only(client: SyncLoopaiClient) -> None:
    """Iterating before `with`, or entering twice, is a RuntimeError."""
    task = client.create_task(**SPAM_TASK)
    stream = client.stream_batch(task.id, [{"text": "x"}])
    with pytest.raises(RuntimeError):
        next(stream)
    with stream:
        assert len(list(stream)) == 1
    with pytest.raises(RuntimeError), stream:
        pass


def test_an_error_in_the_block_propagates_unchanged(client: SyncLoopaiClient) -> None:
    """The caller's own exception inside `with stream_batch(...)` comes out as it was raised."""
    task = client.create_task(**SPAM_TASK)
    with pytest.raises(KeyError), client.stream_batch(task.id, [{"text": "x"}] * 50) as results:
        for _ in results:
            raise KeyError("mine")


# --- lifecycle --------------------------------------------------------------------------------


def test_closed_client_raises_client_closed(thread_server: tuple[LocalServer, str]) -> None:
    """After close, calls and streams raise ClientClosedException; close is idempotent."""
    sync = SyncLoopaiClient(thread_server[1])
    sync.close()
    sync.close()
    assert sync.is_closed
    with pytest.raises(ClientClosedException):
        sync.get_health()
    with pytest.raises(ClientClosedException), sync:
        pass


def test_closing_during_a_call_releases_its_caller(thread_server: tuple[LocalServer, str]) -> None:
    """A call in flight in another thread when the client closes raises ClientClosedException there."""
    server, url = thread_server
    started = threading.Event()

    async def never_answers(data: dict[str, object]) -> str:
        started.set()
        await anyio.sleep_forever()
        return "unreachable"

    server.register_program("hangs", never_answers)
    sync = SyncLoopaiClient(url)
    task = sync.create_task("hangs", "never answers", {"type": "object"}, {"type": "string"})
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(sync.execute, task.id, {})
        assert started.wait(30)
        sync.close()
        with pytest.raises(ClientClosedException):
            pending.result(timeout=30)


def test_with_options_copy_shares_the_loop_and_pool(client: SyncLoopaiClient) -> None:
    """A with_options copy has its own defaults; closing it leaves the original open."""
    copy = client.with_options(max_retries=0, headers={"X-Test": "1"})
    assert isinstance(copy, SyncLoopaiClient)
    assert copy.retry_policy.max_retries == 0
    assert copy.get_liveness().status
    copy.close()
    assert copy.is_closed
    assert not client.is_closed
    assert client.get_liveness().status


def test_closing_the_original_closes_its_copies(thread_server: tuple[LocalServer, str]) -> None:
    """The copy of a closed client is closed too."""
    original = SyncLoopaiClient(thread_server[1])
    copy = original.with_options(timeout=5.0)
    original.close()
    assert copy.is_closed
    with pytest.raises(ClientClosedException):
        copy.get_health()
    copy.close()


def test_repr_names_the_client_and_hides_the_key() -> None:
    """The repr reads SyncLoopaiClient(...) and never shows the API key."""
    with SyncLoopaiClient("http://127.0.0.1:1", api_key="sk-secret-123") as sync:
        text = repr(sync)
    assert text.startswith("SyncLoopaiClient(")
    assert "sk-secret" not in text


def _portal_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "loopai-sync-client"]


def test_a_dropped_client_stops_its_thread() -> None:
    """A client garbage-collected without close closes its pool and ends its loop thread."""
    before = len(_portal_threads())
    sync = SyncLoopaiClient("http://127.0.0.1:1")
    assert len(_portal_threads()) == before + 1
    del sync
    gc.collect()
    assert len(_portal_threads()) == before


def test_a_bad_argument_fails_fast_and_leaves_no_thread() -> None:
    """An invalid constructor argument raises InvalidArgumentException and stops the loop thread."""
    before = len(_portal_threads())
    with pytest.raises(loopai.InvalidArgumentException):
        SyncLoopaiClient("ftp://nowhere")
    assert len(_portal_threads()) == before


INTERRUPT_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, threading

    import anyio

    from loopai import SyncLoopaiClient
    from loopai.testing import LocalServer

    started, cancelled = threading.Event(), threading.Event()


    async def slow(data):
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()


    def interrupt():
        for _ in range(2):
            started.wait(30)
            started.clear()
            os.kill(os.getpid(), signal.SIGINT)


    server = LocalServer(seed=0)
    server.register_program("slow", slow)
    with server.serve_in_thread() as url, SyncLoopaiClient(url, backend=sys.argv[1]) as client:
        task = client.create_task("slow", "never answers", {"type": "object"}, {"type": "string"})
        threading.Thread(target=interrupt, daemon=True).start()
        try:
            client.execute(task.id, {})
        except KeyboardInterrupt:
            print("interrupted")
        print("server saw the call cancelled:", cancelled.wait(30))
        print("then:", client.get_health().status)
        cancelled.clear()
        try:
            with client.stream_batch(task.id, [{}]) as results:
                for _ in results:
                    pass
        except KeyboardInterrupt:
            print("stream interrupted")
        print("server saw the stream cancelled:", cancelled.wait(30))
        print("then:", client.get_liveness().status)
    """
)


def test_ctrl_c_cancels_the_call_and_keeps_the_client(loop_backend: str, tmp_path: Path) -> None:
    """Ctrl-C while a call waits on a slow server cancels that call; the client works on."""
    script = tmp_path / "interrupt.py"
    script.write_text(INTERRUPT_SCRIPT)
    completed = subprocess.run(
        [sys.executable, str(script), loop_backend],
        capture_output=True, text=True, timeout=60, check=False, env=_env(),
    )  # fmt: skip
    assert completed.stdout.splitlines() == [
        "interrupted",
        "server saw the call cancelled: True",
        "then: healthy",
        "stream interrupted",
        "server saw the stream cancelled: True",
        "then: alive",
    ], completed.stderr


def _env() -> dict[str, str]:
    import os

    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}
