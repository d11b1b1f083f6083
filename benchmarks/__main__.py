"""Run every benchmark and print one results table.

python -m benchmarks                  # full sizes (what `nox -s bench` runs)
python -m benchmarks --quick          # tiny sizes: a smoke run
python -m benchmarks --update-readme  # also rewrite the table in benchmarks/README.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from . import bench_batch, bench_client, bench_models, bench_sync
from ._harness import machine_line

README = Path(__file__).with_name("README.md")
START, END = "<!-- results:start -->", "<!-- results:end -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--update-readme", action="store_true", help="write the table into README.md")
    parser.add_argument(
        "--only", choices=("models", "client", "sync", "batch"), action="append", help="run only these parts"
    )
    args = parser.parse_args(argv)
    parts = args.only or ["models", "client", "sync", "batch"]
    sections = [
        f"Measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {machine_line()}.",
        f"Command: `python -m benchmarks{' --quick' if args.quick else ''}` (what `nox -s bench` runs).",
    ]
    modules = {"models": bench_models, "client": bench_client, "sync": bench_sync, "batch": bench_batch}
    for part in parts:
        print(f"running {part} ...", file=sys.stderr, flush=True)
        module = modules[part]
        sections += ["", f"### {part}", "", *module.table(module.run(quick=args.quick))]
    text = "\n".join(sections)
    print(text)
    if args.update_readme:
        readme = README.read_text()
        head, _, rest = readme.partition(START)
        _, _, tail = rest.partition(END)
        README.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
