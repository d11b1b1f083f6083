"""The pytest fixtures under every runner: anyio's plugin, pytest-asyncio strict and auto, plain tests.

Each test writes a small test module into a fresh directory and runs pytest
on it in a subprocess, with the plugins a user of that runner has loaded
(loopai's own through its ``pytest11`` entry point).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import loopai

SRC = Path(loopai.__file__).resolve().parent.parent
README = Path(__file__).resolve().parent.parent / "README.md"
HAS_PYTEST_ASYNCIO = importlib.util.find_spec("pytest_asyncio") is not None
HAS_TRIO = importlib.util.find_spec("trio") is not None
needs_pytest_asyncio = pytest.mark.skipif(not HAS_PYTEST_ASYNCIO, reason="pytest-asyncio is not installed")

ASYNC_TESTS = """
from loopai.testing import Fault


{marker}
async def test_retries_through_the_async_client(loopai_server, loopai_client):
    loopai_server.faults.add(Fault("status", status=503, times=2))
    assert (await loopai_client.get_health()).status == "healthy"
    assert len(loopai_server.requests) == 3


{marker}
async def test_async_and_sync_clients_together(loopai_client, loopai_sync_client):
    task = await loopai_client.create_task("t", "d", {{"type": "object"}}, {{"type": "string"}})
    assert loopai_sync_client.get_task(task.id).name == "t"
"""

SYNC_TESTS = """
from loopai.testing import Fault


def test_retries_through_the_sync_client(loopai_server, loopai_sync_client):
    loopai_server.faults.add(Fault("status", status=503, times=2))
    assert loopai_sync_client.get_health().status == "healthy"
    assert len(loopai_server.requests) == 3


def test_url_serves_plain_http(loopai_url):
    import urllib.request

    with urllib.request.urlopen(loopai_url + "/api/v1/health/live") as answer:
        assert answer.status == 200
"""


def _run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (directory / "pytest.ini").write_text("[pytest]\n")
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": path},
    )  # fmt: skip


def _passed(completed: subprocess.CompletedProcess[str]) -> int:
    summary = completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else ""
    assert "failed" not in summary and "error" not in summary, completed.stdout + completed.stderr
    found = re.search(r"(\d+) passed", summary)
    return int(found.group(1)) if found else 0


def test_fixtures_under_anyios_plugin(tmp_path: Path) -> None:
    """Async tests marked anyio get a server on their own loop, on every installed backend."""
    module = ASYNC_TESTS.format(marker="@pytest.mark.anyio")
    module += textwrap.dedent(
        """

        @pytest.mark.anyio
        async def test_waits_for_requests_on_the_tests_loop(loopai_server, loopai_client):
            await loopai_client.get_liveness()
            assert len(await loopai_server.wait_for_requests(1)) == 1
        """
    )
    (tmp_path / "test_kit.py").write_text("import pytest\n" + module)
    completed = _run_pytest(tmp_path)
    assert _passed(completed) == 3 * (2 if HAS_TRIO else 1)


@needs_pytest_asyncio
def test_fixtures_under_pytest_asyncio_strict_mode(tmp_path: Path) -> None:
    """Tests marked asyncio, in strict mode, get the async client (no 'unhandled async fixture')."""
    module = ASYNC_TESTS.format(marker="@pytest.mark.asyncio")
    (tmp_path / "test_kit.py").write_text("import pytest\n" + module)
    completed = _run_pytest(
        tmp_path, "-o", "asyncio_mode=strict", "-o", "asyncio_default_fixture_loop_scope=function"
    )
    assert _passed(completed) == 2


@needs_pytest_asyncio
def test_fixtures_under_pytest_asyncio_auto_mode(tmp_path: Path) -> None:
    """Unmarked async tests in auto mode get the fixtures and tear them down cleanly."""
    module = ASYNC_TESTS.format(marker="")
    (tmp_path / "test_kit.py").write_text(module)
    completed = _run_pytest(
        tmp_path, "-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function"
    )
    assert _passed(completed) == 2


def test_fixtures_in_plain_tests_without_any_async_plugin(tmp_path: Path) -> None:
    """Plain test functions use loopai_sync_client and loopai_url with no async plugin loaded."""
    (tmp_path / "test_kit.py").write_text(SYNC_TESTS)
    completed = _run_pytest(tmp_path, "-p", "no:anyio", "-p", "no:asyncio")
    assert _passed(completed) == 2


def test_async_client_in_a_plain_test_says_what_to_use(tmp_path: Path) -> None:
    """Asking for loopai_client in a plain test errors with a pointer to loopai_sync_client."""
    (tmp_path / "test_kit.py").write_text("def test_wrong(loopai_client):\n    pass\n")
    completed = _run_pytest(tmp_path)
    assert completed.returncode != 0
    assert "use loopai_sync_client in a plain test" in completed.stdout


def _readme_test_snippets() -> list[str]:
    section = README.read_text().split("## Testing your code against loopai", 1)[1].split("\n## ", 1)[0]
    return [block for block in re.findall(r"```python\n(.*?)```", section, re.DOTALL) if "def test_" in block]


def test_readme_pytest_snippets_run_as_pasted(tmp_path: Path) -> None:
    """Each test snippet of the README's testing section passes when saved as a file and run with pytest."""
    snippets = _readme_test_snippets()
    assert len(snippets) >= 2
    for number, snippet in enumerate(snippets):
        (tmp_path / f"test_readme_{number}.py").write_text(snippet)
    completed = _run_pytest(tmp_path)
    assert _passed(completed) >= len(snippets)
