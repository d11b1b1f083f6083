"""One local Ray cluster for the session, and the local Loopai server in its own process."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

ray = pytest.importorskip("ray")

from loopai import LoopaiClient  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    """Warnings stay errors, except Ray's own deprecations and its child processes' ResourceWarnings."""
    for spec in (
        "ignore::DeprecationWarning",
        "ignore::FutureWarning",
        "ignore::ResourceWarning",
        "ignore::pytest.PytestUnraisableExceptionWarning",
    ):
        config.addinivalue_line("filterwarnings", spec)


SPAM_TASK: dict[str, Any] = {
    "name": "spam-classifier",
    "description": "Classify emails as spam or not spam",
    "input_schema": {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    },
    "output_schema": {"type": "string", "enum": ["spam", "not_spam"]},
}


def text_of(row_id: int) -> str | None:
    """The email of row ``row_id``: spam, ham, or (every 101st) missing, which the server refuses."""
    if row_id % 101 == 100:
        return None
    return "Buy now for free money!" if row_id % 3 == 0 else "Meeting tomorrow at 2pm"


def expected_output(row_id: int) -> str | None:
    """The JSON text the spam classifier answers for row ``row_id``; None for a refused row."""
    text = text_of(row_id)
    if text is None:
        return None
    return '"spam"' if text.startswith("Buy") else '"not_spam"'


@dataclass
class ServerProcess:
    """`python -m loopai.testing` running in a child process, with the spam task created."""

    url: str
    task_id: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def answers(self) -> list[tuple[float, str, str, int, str]]:
        """(arrival time, method, path, status, key fingerprint) of every answer, from ``--log-requests``."""
        found = []
        for line in list(self.lines):
            if line.startswith("request "):
                _, when, method, path, status, key = line.split()
                found.append((float(when), method, path, int(status), key))
        return found


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerProcess]]:
    """Starts the local server with extra command-line switches; stops it after the test."""
    started: list[ServerProcess] = []

    def start(*switches: str) -> ServerProcess:
        command = [sys.executable, "-m", "loopai.testing", "--port", "0", "--compact", "--no-record"]
        process = subprocess.Popen([*command, *switches], stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.split("listening on ", 1)[1].split()[0]
        server = ServerProcess(url=url, task_id="", process=process)
        stdout = process.stdout
        threading.Thread(target=lambda: server.lines.extend(stdout), daemon=True).start()
        started.append(server)

        async def create() -> str:
            async with LoopaiClient(url) as client:
                return str((await client.create_task(**SPAM_TASK)).id)

        server.task_id = anyio.run(create)
        return server

    yield start
    for server in started:
        server.process.terminate()
        server.process.wait(timeout=30)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """A local two-CPU Ray cluster, shared by the session's tests."""
    ray.init(num_cpus=2, log_to_driver=False, include_dashboard=True)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.execution_no_progress_timeout_s = 120  # a stalled job fails the test instead of hanging it
    yield
    ray.shutdown()
