"""Run every benchmark and print one results table.

python -m benchmarks                  # full sizes (what `nox -s bench` runs)
python -m benchmarks --quick          # tiny sizes: a smoke run
python -m benchmarks --update-readme  # also rewrite the table in benchmarks/README.md
python -m benchmarks --only percall --only rate   # some parts only (python -m benchmarks.bench_sync alone)
python -m benchmarks --only soak --items 100000   # the soak at another size
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from . import (
    bench_batch,
    bench_client,
    bench_models,
    bench_per_call,
    bench_rate_budget,
    bench_soak,
    bench_sync,
)
from ._harness import machine_line

README = Path(__file__).with_name("README.md")
START, END = "<!-- results:start -->", "<!-- results:end -->"
PARTS = ("models", "client", "percall", "sync", "batch", "rate", "soak")
TITLES = {
    "percall": "per call (client CPU, medians of paired rounds)",
    "sync": "sync client (SyncLoopaiClient against LoopaiClient)",
    "rate": "rate budget",
    "soak": "soak (seeded faults on 5% of requests, max_retries=3)",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--update-readme", action="store_true", help="write the table into README.md")
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts")
    parser.add_argument(
        "--items", type=int, default=None, help="items of the soak (default 1,000,000; 2,000 with --quick)"
    )
    args = parser.parse_args(argv)
    parts = [part for part in PARTS if part in (args.only or PARTS)]
    command = " ".join(
        ["python -m benchmarks", *(arg for arg in (argv or sys.argv[1:]) if arg != "--update-readme")]
    )
    header = [
        f"Measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {machine_line()}.",
        f"Command: `{command}`{' (what `nox -s bench` runs)' if command == 'python -m benchmarks' else ''}.",
    ]
    sections: dict[str, list[str]] = {}
    results: dict[str, Any] = {}
    for part in parts:
        print(f"running {part} ...", file=sys.stderr, flush=True)
        if part == "models":
            results[part] = bench_models.run(quick=args.quick)
            rows = bench_models.table(results[part])
        elif part == "client":
            results[part] = bench_client.run(quick=args.quick)
            rows = bench_client.table(results[part])
        elif part == "percall":
            results[part] = bench_per_call.run(quick=args.quick, client_results=results.get("client"))
            rows = bench_per_call.table(results[part])
        elif part == "sync":
            results[part] = bench_sync.run(quick=args.quick)
            rows = bench_sync.table(results[part])
        elif part == "batch":
            results[part] = bench_batch.run(quick=args.quick)
            rows = bench_batch.table(results[part])
        elif part == "rate":
            results[part] = bench_rate_budget.run(quick=args.quick)
            rows = bench_rate_budget.table(results[part])
        else:
            results[part] = bench_soak.run(quick=args.quick, items=args.items)
            rows = bench_soak.table(results[part])
        sections[f"### {TITLES.get(part, part)}"] = rows
    print("\n".join(_render(header, sections)))
    if args.update_readme:
        readme = README.read_text()
        head, _, rest = readme.partition(START)
        block, _, tail = rest.partition(END)
        if len(parts) < len(PARTS):  # keep the sections this run did not measure
            old_header, old_sections = _parse(block)
            stamp = f"_{header[0]} Command: `{command}`._"
            sections = {**old_sections, **{title: [stamp, "", *rows] for title, rows in sections.items()}}
            header = old_header or header
            order = [f"### {TITLES.get(part, part)}" for part in PARTS]
            sections = dict(
                sorted(sections.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
            )
        README.write_text(f"{head}{START}\n{chr(10).join(_render(header, sections))}\n{END}{tail}")
    return 0


def _render(header: list[str], sections: dict[str, list[str]]) -> list[str]:
    lines = list(header)
    for title, rows in sections.items():
        lines += ["", title, "", *rows]
    return lines


def _parse(block: str) -> tuple[list[str], dict[str, list[str]]]:
    """The header lines and the titled sections of a results block written by `_render`."""
    header: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] = header
    for line in block.strip("\n").splitlines():
        if line.startswith("### "):
            current = sections[line] = []
        else:
            current.append(line)
    for rows in sections.values():
        while rows and not rows[0]:
            rows.pop(0)
        while rows and not rows[-1]:
            rows.pop()
    while header and not header[-1]:
        header.pop()
    return header, sections


if __name__ == "__main__":
    sys.exit(main())
