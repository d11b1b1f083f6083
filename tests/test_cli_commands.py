"""``loopai health``, ``tasks create/get`` and ``execute``: output, --json, one-line errors, exit statuses.

The command runs in a worker thread of the test process (its own event loop,
on the test's backend); `test_cli_batch` and `test_cli` run it as a subprocess.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest

from loopai._cli import main
from loopai.testing import LocalServer

from .conftest import SPAM_TASK

Run = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
def loopai(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> Callable[..., Awaitable[tuple[int, str, str]]]:
    """Run the command in a worker thread; its exit status, stdout and stderr."""

    async def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        with anyio.fail_after(60):
            status = await anyio.to_thread.run_sync(main, [*args, "--backend", anyio_backend])
        out, err = capsys.readouterr()
        return status, out, err

    return run


async def test_client_commands_print_text_or_json_and_exit_by_failure_kind(
    loopai_server: LocalServer, loopai_url: str, tmp_path: Path, loopai: Run
) -> None:
    """Each command works against the local server; each kind of failure is one line and its status."""
    url = ["--base-url", loopai_url]
    status, out, _ = await loopai("health", *url)
    assert (status, out) == (0, f"healthy at {loopai_url} (version 1.0.0, Development)\n")
    status, out, _ = await loopai("health", "--detailed", "--json", *url)
    assert status == 0
    assert json.loads(out)["components"]["database"]["status"] == "healthy"

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPAM_TASK))
    status, out, _ = await loopai("tasks", "create", str(spec), "--json", *url)
    assert status == 0
    task_id = json.loads(out)["id"]
    status, _, err = await loopai("tasks", "create", str(spec), *url)
    assert (status, err.count("\n")) == (7, 1)
    assert err.startswith("loopai: 409 TASK_ALREADY_EXISTS: ")
    assert "trace_id" in err
    status, out, _ = await loopai(
        "tasks", "create", "--name", "flags", "--description", "from flags",
        "--input-schema", '{"type": "object"}', "--output-schema", '{"type": "string"}', *url,
    )  # fmt: skip
    assert status == 0
    assert out.startswith("created task ")
    assert "name:              flags" in out

    status, out, _ = await loopai("tasks", "get", task_id, *url)
    assert status == 0
    assert f"id:                {task_id}" in out
    status, _, err = await loopai("tasks", "get", "00000000-0000-0000-0000-000000000001", *url)
    assert (status, err.count("\n")) == (6, 1)
    assert "TASK_NOT_FOUND" in err

    status, out, _ = await loopai("execute", task_id, '{"text": "Buy now for free money!"}', *url)
    assert (status, out) == (0, "spam\n")
    status, out, _ = await loopai(
        "execute", task_id, "-", "--json", *url, stdin=b'{"text": "Meeting at 2pm"}'
    )
    assert status == 0
    assert json.loads(out)["output"] == "not_spam"
    status, _, err = await loopai("execute", task_id, '{"txt": 1}', *url)
    assert (status, err.count("\n")) == (4, 1)
    assert "400 VALIDATION_ERROR" in err
    status, _, err = await loopai("execute", task_id, "not json", *url)
    assert (status, err.count("\n")) == (2, 1)

    status, _, err = await loopai("health", "--base-url", "http://127.0.0.1:1", "--max-retries", "0")
    assert (status, err.count("\n")) == (10, 1)
    assert err.startswith("loopai: ConnectionException: ")
    status, _, err = await loopai("tasks", "create", "--name", "x", *url)
    assert (status, err.count("\n")) == (2, 1)
    assert "missing description" in err


async def test_base_url_and_api_key_come_from_the_environment(
    loopai_server: LocalServer, loopai_url: str
) -> None:
    """LOOPAI_BASE_URL and LOOPAI_API_KEY are used when no flags are given; the key never shows."""
    import os

    env = {**os.environ, "LOOPAI_BASE_URL": loopai_url, "LOOPAI_API_KEY": "sk-secret-123"}
    with anyio.fail_after(60):
        done = await anyio.run_process([sys.executable, "-m", "loopai", "health"], env=env, check=False)
    assert done.returncode == 0
    assert loopai_url in done.stdout.decode()
    assert "sk-secret" not in done.stdout.decode() + done.stderr.decode()
    assert loopai_server.requests[-1].headers["authorization"] == "Bearer sk-secret-123"
