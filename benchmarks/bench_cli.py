"""``loopai batch run`` on 1,000,000 JSONL lines, next to the same job through `stream_batch`, and its resume.

python -m benchmarks.bench_cli                 # 1,000,000 lines
python -m benchmarks.bench_cli --lines 20000   # a quick run

Against the bundled local server in its own process (compact JSON, no
request recording), each client in a fresh process so its peak RSS is its
own (VmHWM from /proc):

1. ``loopai batch run`` (JSONL in, JSONL out, synced to disk as chunks land);
2. the same job through `LoopaiClient.stream_batch` in a short Python
   script that reads the file lazily and writes each result as a JSON line
   (`stream_job`, what a user would write by hand; no resume, no fsync);
3. the resume of that job when half of it is done: the output cut to its
   first half (and a torn line), then the same command again.  Time to the
   end of the output scan (its "resuming" note), to the first result line
   written (an upper bound of the time to the first send), and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import anyio

from loopai import BatchOptions, LoopaiClient

from ._harness import ROOT, loopai_server, machine_line

SPAM_TASK: dict[str, Any] = {
    "description": "Classify emails as spam or not spam",
    "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    "output_schema": {"type": "string", "enum": ["spam", "not_spam"]},
}
CHUNK_SIZE, CONCURRENCY = 2000, 4


def write_input(path: Path, lines: int) -> None:
    with path.open("w") as file:
        for n in range(1, lines + 1):
            text = "buy now, free money" if n % 4 == 0 else "see you at 2pm"
            file.write(json.dumps({"text": f"message {n}: {text}"}) + "\n")


async def _create_task(url: str) -> str:
    async with LoopaiClient(url) as client:
        task = await client.create_task(name=f"bench-cli-{time.monotonic_ns()}", **SPAM_TASK)
        return str(task.id)


class _PeakRss:
    """The peak RSS of a child after its exec (VmHWM), read from /proc while it runs.

    ``ru_maxrss`` from ``wait4`` would count the child before its exec, when it
    is a fork of this (larger) process.
    """

    def __init__(self, pid: int) -> None:
        self._path = Path(f"/proc/{pid}/status")
        self.mib = 0.0
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while True:
            try:
                status = self._path.read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.mib = max(self.mib, int(line.split()[1]) / 1024)
            time.sleep(0.05)

    def stop(self) -> float:
        self._thread.join()
        return self.mib


def _run(command: list[str]) -> tuple[float, float, str]:
    """Run a command to its end: wall seconds, peak RSS in MiB, stderr."""
    started = time.perf_counter()
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        peak = _PeakRss(process.pid)
        assert process.stderr is not None
        err = process.stderr.read().decode()
        process.wait()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{command[:5]} exited {process.returncode}: {err[-2000:]}")
    return wall, peak.stop(), err


def _resume(command: list[str]) -> dict[str, float]:
    """Run the resume, timing its notes: end of the scan, first result line written, the end."""
    started = time.perf_counter()
    scanned = first = None
    with subprocess.Popen(
        [*command, "--status-interval", "0"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as process:
        peak = _PeakRss(process.pid)
        assert process.stderr is not None
        for raw in process.stderr:
            line = raw.decode()
            now = time.perf_counter() - started
            if scanned is None and "lines already done" in line:
                scanned = now
            elif first is None and scanned is not None and " done (" in line:
                first = now
        process.wait()
    if process.returncode != 0 or scanned is None or first is None:
        raise RuntimeError(f"the resume failed (exit {process.returncode})")
    return {
        "scan_s": scanned,
        "first_result_s": first,
        "wall_s": time.perf_counter() - started,
        "peak_rss_mib": peak.stop(),
    }


def _cut_in_half(output: Path, lines: int) -> int:
    """Keep the output's first half of lines and a torn one, as a kill -9 would; returns the lines kept."""
    keep = lines // 2
    with output.open("r+b") as file:
        for _ in range(keep):
            file.readline()
        torn = file.tell() + len(file.readline()) // 2
        file.truncate(torn)
    return keep


def _check(output: Path, lines: int) -> None:
    seen = bytearray(lines + 1)
    with output.open("rb") as file:
        for raw in file:
            seen[json.loads(raw)["line"]] += 1
    if seen.count(1) != lines:
        raise RuntimeError(f"{output} does not hold every line exactly once")


def run(lines: int = 1_000_000) -> dict[str, Any]:
    """The figures, as a dict (see the module's docstring)."""
    results: dict[str, Any] = {"lines": lines, "chunk_size": CHUNK_SIZE, "concurrency": CONCURRENCY}
    with tempfile.TemporaryDirectory() as folder, loopai_server() as url:
        source = Path(folder) / "in.jsonl"
        write_input(source, lines)
        results["input_mib"] = source.stat().st_size / 2**20
        task_id = anyio.run(_create_task, url)
        output = Path(folder) / "out.jsonl"
        cli = [sys.executable, "-m", "loopai", "batch", "run", task_id, str(source), "-o", str(output)]
        cli += ["--base-url", url, "--chunk-size", str(CHUNK_SIZE), "--concurrency", str(CONCURRENCY)]
        wall, rss, _ = _run([*cli, "--quiet"])
        _check(output, lines)
        results["cli"] = {"wall_s": wall, "items_per_second": lines / wall, "peak_rss_mib": rss}
        results["output_mib"] = output.stat().st_size / 2**20

        streamed = Path(folder) / "streamed.jsonl"
        script = [
            sys.executable,
            "-m",
            "benchmarks.bench_cli",
            "--stream",
            url,
            task_id,
            str(source),
            str(streamed),
        ]
        wall, rss, _ = _run(script)
        results["stream_batch"] = {"wall_s": wall, "items_per_second": lines / wall, "peak_rss_mib": rss}

        results["resume_kept"] = _cut_in_half(output, lines)
        results["resume"] = _resume(cli)
        _check(output, lines)
    return results


async def stream_job(url: str, task_id: str, source: str, target: str) -> None:
    """The same job by hand: read JSONL lazily, `stream_batch`, write each result as a JSON line."""
    import msgspec

    decode = msgspec.json.Decoder().decode
    encode = msgspec.json.Encoder().encode

    def inputs() -> Any:
        with Path(source).open("rb") as file:
            for raw in file:
                yield decode(raw)

    options = BatchOptions(chunk_size=CHUNK_SIZE, concurrency=CONCURRENCY)
    async with LoopaiClient(url) as client:
        with Path(target).open("wb") as out:  # noqa: ASYNC230 - plain writes, as a user's script does
            async with client.stream_batch(task_id, inputs(), options=options) as results:
                async for result in results:
                    out.write(encode(result) + b"\n")


def table(results: dict[str, Any]) -> list[str]:
    """Markdown rows of the figures."""
    lines = results["lines"]
    cli, stream, resume = results["cli"], results["stream_batch"], results["resume"]
    return [
        (
            f"{lines:,} JSONL lines ({results['input_mib']:.0f} MiB in, {results['output_mib']:.0f} MiB out),"
            f" chunks of {results['chunk_size']:,}, {results['concurrency']} in flight:"
        ),
        "",
        "| job | wall | items/s | peak RSS |",
        "|---|---|---|---|",
        (
            f"| `loopai batch run` (synced to disk) | {cli['wall_s']:.1f} s | {cli['items_per_second']:,.0f}"
            f" | {cli['peak_rss_mib']:.0f} MiB |"
        ),
        (
            f"| `stream_batch` by hand (no fsync, no resume) | {stream['wall_s']:.1f} s"
            f" | {stream['items_per_second']:,.0f} | {stream['peak_rss_mib']:.0f} MiB |"
        ),
        "",
        (
            f"| resume with {results['resume_kept']:,} lines done | scan done | first result written"
            " | whole resume | peak RSS |"
        ),
        "|---|---|---|---|---|",
        (
            f"| `loopai batch run` again | {resume['scan_s']:.2f} s | {resume['first_result_s']:.2f} s"
            f" | {resume['wall_s']:.1f} s | {resume['peak_rss_mib']:.0f} MiB |"
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_cli")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument(
        "--stream", nargs=4, metavar=("URL", "TASK_ID", "INPUT", "OUTPUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.stream:
        anyio.run(stream_job, *args.stream)
        return 0
    results = run(args.lines)
    print(f"Measured on {machine_line()}.")
    print("\n".join(table(results)))
    print(json.dumps(results), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
