"""`loopai serve` and `python -m loopai.testing`: start, answer, stop cleanly on Ctrl-C."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys

import anyio
import pytest
from anyio.streams.text import TextReceiveStream

from loopai import LoopaiClient
from loopai._cli import main

from .conftest import SPAM_TASK


async def serve_and_classify(command: list[str]) -> tuple[str, str, int]:
    """Start the server, classify the spec's spam email through it, press Ctrl-C."""
    process = await anyio.open_process(command)
    assert process.stdout is not None
    try:
        with anyio.fail_after(30):
            lines = TextReceiveStream(process.stdout)
            first = await lines.receive()
            url = first.split("listening on ", 1)[1].split()[0]
            async with LoopaiClient(url) as client:
                task = await client.create_task(**SPAM_TASK)
                label = (await client.execute(task.id, {"text": "Buy now for free money!"})).output
            process.send_signal(signal.SIGINT)
            rest = "".join([chunk async for chunk in lines])
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
        await process.aclose()
    return str(label), first + rest, code


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
async def test_loopai_serve_runs_until_ctrl_c(backend: str) -> None:
    """loopai serve prints its URL, serves the quick start and exits 0 on SIGINT."""
    pytest.importorskip(backend)
    command = [
        sys.executable,
        "-m",
        "loopai.testing",
        "--port",
        "0",
        "--seed",
        "1",
        "--backend",
        backend,
    ]
    label, output, code = await serve_and_classify(command)
    assert label == "spam"
    assert "listening on http://127.0.0.1:" in output
    assert "stopped" in output
    assert code == 0


async def test_log_requests_prints_one_line_per_answer() -> None:
    """--log-requests prints arrival time, method, path, status and a key fingerprint for each answer."""
    command = [sys.executable, "-m", "loopai.testing", "--port", "0", "--log-requests"]
    _, output, code = await serve_and_classify(command)
    lines = [line.split() for line in output.splitlines() if line.startswith("request ")]
    assert [line[2:] for line in lines] == [
        ["POST", "/api/v1/tasks", "201", "-"],
        ["POST", f"/api/v1/tasks/{lines[1][3].split('/')[4]}/execute", "200", "-"],
    ]
    assert float(lines[0][1]) <= float(lines[1][1])
    assert code == 0


def test_bad_arguments_exit_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    """A bad fault spec is reported on stderr with exit status 2."""
    assert main(["serve", "--port", "0", "--fault", "explode"]) == 2
    assert "fault kind" in capsys.readouterr().err


def test_port_in_use_exits_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    """A taken port is reported, not a traceback."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    assert "cannot listen" in capsys.readouterr().err


HEAVY = (
    "starlette",
    "hypercorn",
    "jsonschema",
    "hypothesis",
    "tqdm",
    "loopai.testing",
    "loopai.jobs",
    "loopai._jobs._run",
)


def test_help_and_version_import_nothing_heavy() -> None:
    """`loopai --help` and `--version` load neither the server extra, the progress bar nor the job library."""
    code = (
        "import sys\n"
        "from loopai._cli import main\n"
        "for argv in (['--help'], ['--version'], ['batch', 'run', '--help'], ['serve', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code == 0, (argv, exit.code)\n"
        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.splitlines()[-1] == "[]"
    assert "usage: loopai" in completed.stdout
    assert "exit status:" in completed.stdout
    assert "loopai 0" in completed.stdout or "loopai 1" in completed.stdout


BLOCKER = """\
import sys


class _WithoutServerExtra:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"starlette", "hypercorn", "tqdm"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _WithoutServerExtra())
"""


def test_without_the_server_extra_serve_says_how_to_install_it(tmp_path: pathlib.Path) -> None:
    """With starlette missing: --help works, `serve` prints one line naming loopai[server] and exits 2."""
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    check = subprocess.run(
        [sys.executable, "-c", "import starlette"], env=env, capture_output=True, text=True, check=False
    )
    assert "No module named 'starlette'" in check.stderr
    for argv in (["--help"], ["--version"], ["serve", "--help"]):
        completed = subprocess.run(
            [sys.executable, "-m", "loopai", *argv], env=env, capture_output=True, text=True, check=False
        )
        assert completed.returncode == 0, completed.stderr
    serve = subprocess.run(
        [sys.executable, "-m", "loopai", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert serve.returncode == 2
    assert serve.stderr.count("\n") == 1
    assert "pip install 'loopai[server]'" in serve.stderr
    assert "Traceback" not in serve.stderr
    assert serve.stdout == ""


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """`loopai` alone is a usage error that shows the commands."""
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err
