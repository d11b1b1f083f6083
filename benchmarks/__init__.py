"""loopai's benchmark suite: `nox -s bench`, or `python -m benchmarks [--quick] [--update-readme]`."""
