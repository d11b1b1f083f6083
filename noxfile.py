"""Sessions: `nox` runs lint, typecheck, tests and docs; `nox -s bench` runs the benchmarks."""

from __future__ import annotations

import os
from pathlib import Path

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


def _expose_pyenv_pythons() -> None:
    """Put pyenv's installed 3.10-3.13 on PATH, so pythonX.Y resolves without `pyenv global`."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = []
    for wanted in PYTHONS:
        matches = sorted(
            versions.glob(f"{wanted}.*/bin"),
            key=lambda p: [int(x) for x in p.parent.name.split(".")[:3] if x.isdigit()],
        )
        if matches:
            found.append(str(matches[-1]))
    if found:
        os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_expose_pyenv_pythons()

nox.options.sessions = ["lint", "typecheck", "tests", "tests_without_trio", "docs"]
nox.options.reuse_venv = "yes"
COVERAGE_FLOOR = "90"


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite on asyncio and trio, with branch coverage of src/loopai."""
    session.install("-e", ".[trio,tests,bench]")
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report", f"--fail-under={COVERAGE_FLOOR}")


@nox.session(python="3.12")
def tests_without_trio(session: nox.Session) -> None:
    """The suite with trio not installed: trio stays an optional dependency."""
    session.install("-e", ".[tests]")
    session.run(
        "python", "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('trio') is not None)"
    )
    session.run("pytest", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and the import contracts (lint-imports, see pyproject.toml)."""
    session.install("ruff>=0.6", "import-linter>=2.17")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # import-linter reads the source without importing it: no need to install loopai here.
    session.run("lint-imports", env={"PYTHONPATH": "src"})


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src, tests, benchmarks and the never-run public API usage file."""
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """The benchmark suite at full size; prints the results table (see benchmarks/README.md)."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Build the site into site/ with `mkdocs build --strict`, run its snippets, check it in Chromium.

    The browser check needs Debian's `chromium` (`.ci/run` installs it); its
    screenshots land in site/_screenshots/.
    """
    session.install("-e", ".[docs,trio]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run(
        "pytest",
        "tests/test_docs_snippets.py",
        "tests/docs",
        *session.posargs,
        env={"LOOPAI_SITE_DIR": "site"},
    )


@nox.session(python="3.11")
def ray(session: nox.Session) -> None:
    """loopai.ray on a local two-CPU Ray cluster (tests_ray/, never collected by `tests`): a few minutes."""
    session.install("-e", ".[ray,tests]", "ray[default]")
    session.run("pytest", "tests_ray", "-p", "no:randomly", *session.posargs)
