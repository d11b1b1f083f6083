"""The progress bar of ``loopai batch run`` in a real terminal (tmux), read back with ``capture-pane``."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from loopai import LoopaiClient
from loopai.testing import LocalServer, ServerQuirks

from .conftest import SPAM_TASK

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

LINES = 3000
COUNT = re.compile(r"^loopai +(?:\d+%\|.*\| )?(\d+)(?:/\d+)? done, \d+ failed", re.MULTILINE)


async def screen(socket: str) -> str:
    """The terminal's text now."""
    done = await anyio.run_process(["tmux", "-L", socket, "capture-pane", "-p", "-t", "bar"], check=False)
    return done.stdout.decode()


async def wait_for_screen(socket: str, wanted: Callable[[str], bool]) -> str:
    """Wait until the terminal shows what ``wanted`` accepts."""
    # The terminal belongs to tmux: there is no event to wait on, so the screen is polled.
    while not wanted(text := await screen(socket)):  # noqa: ASYNC110
        await anyio.sleep(0.05)
    return text


def done_count(text: str) -> int | None:
    """The bar's count of done items, while the job runs."""
    if "loopai-exit=" in text:
        return None
    match = COUNT.search(text)
    return int(match.group(1)) if match else None


async def test_the_bar_renders_updates_and_ends_with_the_summary(tmp_path: Path, anyio_backend: str) -> None:
    """A live bar (done of total, failed, items/s, ETA) that moves, then the summary below it, ungarbled."""
    server = LocalServer(seed=0, quirks=ServerQuirks.none(), record=False)
    async with server.serve() as url, LoopaiClient(url) as client:
        task = await client.create_task(**SPAM_TASK)
        source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
        lines = [json.dumps({"text": f"hello {n}"}) for n in range(LINES)]
        source.write_text("\n".join([*lines, "{oops"]) + "\n")
        command = [
            sys.executable,
            "-m",
            "loopai",
            "batch",
            "run",
            str(task.id),
            str(source),
            "-o",
            str(output),
        ]
        command += ["--base-url", url, "--chunk-size", "100", "--items-per-second", "1500"]
        command += ["--backend", anyio_backend]
        shell = f"{shlex.join(command)}; echo loopai-exit=$?; sleep 60"
        socket = f"loopai-test-{os.getpid()}-{anyio_backend}"
        await anyio.run_process(
            ["tmux", "-L", socket, "new-session", "-d", "-x", "200", "-y", "30", "-s", "bar", shell]
        )
        try:
            with anyio.fail_after(60):
                first = await wait_for_screen(socket, lambda text: (done_count(text) or 0) > 0)
                seen = done_count(first) or 0
                later = await wait_for_screen(socket, lambda text: (done_count(text) or 0) > seen)
                final = await wait_for_screen(socket, lambda text: "loopai-exit=" in text)
        finally:
            await anyio.run_process(["tmux", "-L", socket, "kill-server"], check=False)
    assert re.search(r"items/s\]", later)
    bar = rf"^loopai +\d+%\|.+\| \d+/{LINES + 1} done, \d+ failed \[.+<.+, .+ items/s\]"
    assert re.search(bar, later, re.MULTILINE)
    shown = [line.rstrip() for line in final.splitlines() if line.strip()]
    assert shown[-4].startswith("loopai 100%|"), shown
    assert f"| {LINES + 1}/{LINES + 1} done, 1 failed [" in shown[-4]
    assert shown[-3].startswith("loopai: done in "), shown
    assert f"{LINES:,} succeeded, 1 failed (1 invalid input line)" in shown[-3]
    assert shown[-2] == f"loopai: {output} holds {LINES + 1:,} result lines"
    assert shown[-1] == "loopai-exit=1"
