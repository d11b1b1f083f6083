"""Shared pieces: timing medians, the machine line, local server processes."""

from __future__ import annotations

import gc
import inspect
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

#: The repository root: helper processes run `python -m benchmarks.…` from there.
ROOT = Path(__file__).resolve().parent.parent


def median_seconds(function: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``repeat`` calls (gc collected before each)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine_line() -> str:
    """Cores, Python and the versions of the packages that matter here."""
    packages = ["loopai", "httpx2", "httpx", "msgspec", "pydantic", "anyio", "trio", "stamina", "hypercorn"]
    found = [f"{name} {_version(name)}" for name in packages if _version(name)]
    return (
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
        f" ({platform.python_implementation()}); {', '.join(found)}"
    )


@contextmanager
def server_process(*args: str) -> Iterator[str]:
    """Run a server command that prints 'listening on URL' first; yields the URL."""
    with subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, text=True, stderr=subprocess.DEVNULL, cwd=ROOT
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if "listening on " not in line:
                raise RuntimeError(f"server did not start: {line!r}")
            yield line.split("listening on ", 1)[1].split()[0]
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def loopai_server() -> Iterator[str]:
    """The bundled local server in its own process, compact JSON, no request recording."""
    with server_process(
        "-m", "loopai.testing", "--port", "0", "--compact", "--exact-numbers", "--no-record", "--seed", "1"
    ) as url:
        yield url


def reset_peak_rss() -> None:
    """Reset this process's resident-memory high-water mark (Linux ``VmHWM``).

    getrusage's ru_maxrss would include the parent's size at fork; Linux lets a
    process reset its own mark instead.
    """
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mib() -> float:
    """This process's resident-memory high-water mark since the last reset, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    """This process's resident memory now, in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def client_accepts(*names: str) -> bool:
    """Whether `LoopaiClient` takes these keyword arguments (newer versions add some)."""
    from loopai import LoopaiClient

    parameters = inspect.signature(LoopaiClient).parameters
    return all(name in parameters for name in names)
