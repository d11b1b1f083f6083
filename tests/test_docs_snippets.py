"""Every Python snippet of the documentation site runs as written, against a fresh local server.

The collector reads the fenced ```python blocks of ``docs/**/*.md`` (also those
indented in tabs).  An HTML comment on the line before a block steers it:

- ``<!-- snippet: skip -->``: a fragment that cannot run on its own (keep these rare);
- ``<!-- snippet: requires NAME ... -->``: skipped while a name is missing, so the
  snippet starts running once the name lands.  NAME is a dotted path tried under
  ``loopai`` first (``SyncLoopaiClient``, ``testing.LocalServer.serve_in_thread``),
  then from the top (``pytest_asyncio``); ``NAME(param)`` also needs that parameter;
- ``<!-- snippet: pytest -->``: the block is a test file, run with pytest;
- several at once, separated by ``;``.

Each snippet runs in a subprocess of its own, in an empty directory, with a
fresh `LocalServer` listening on loopback: ``LOOPAI_BASE_URL`` points at it and
``http://localhost:8080`` in the code is replaced by its URL.  A snippet that
ends in ``asyncio.run(main())`` runs as written, then once more on trio
(``trio.run(main)``), so the docs stay backend-neutral.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest

import loopai
from loopai.testing import LocalServer

from .conftest import HAS_TRIO

DOCS = Path(__file__).resolve().parent.parent / "docs"
DOCUMENTED_URL = "http://localhost:8080"
TIMEOUT = 120

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.MULTILINE | re.DOTALL
)
_MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(?P<spec>.*?)\s*-->\s*$")
_ASYNCIO_RUN = re.compile(r"\basyncio\.run\((?P<main>\w+)\(\)\)")


@dataclass(frozen=True)
class Snippet:
    """One fenced Python block of a docs page and the directives before it."""

    page: str
    line: int
    code: str
    skip: bool = False
    pytest_file: bool = False
    requires: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Where it is: ``page.md:line``."""
        return f"{self.page}:{self.line}"

    @property
    def backends(self) -> tuple[str, ...]:
        """How it runs: ``asyncio`` and ``trio``, ``trio``, ``pytest``, or plain ``python``."""
        if self.pytest_file:
            return ("pytest",)
        if _ASYNCIO_RUN.search(self.code):
            return ("asyncio", "trio")
        if re.search(r"\btrio\.run\(", self.code):
            return ("trio",)
        return ("python",)


def parse_directives(spec: str) -> dict[str, Any]:
    """The fields a marker's text sets; raises ValueError for an unknown directive."""
    fields: dict[str, Any] = {}
    for directive in filter(None, (part.strip() for part in spec.split(";"))):
        word, _, rest = directive.partition(" ")
        if word == "skip":
            fields["skip"] = True
        elif word == "pytest":
            fields["pytest_file"] = True
        elif word == "requires" and rest.split():
            fields["requires"] = tuple(rest.split())
        else:
            raise ValueError(f"unknown snippet directive {directive!r}")
    return fields


def collect_snippets(docs: Path = DOCS) -> list[Snippet]:
    """Every fenced Python block under ``docs``, in page order."""
    snippets = []
    for path in sorted(docs.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            before = [x for x in text[: match.start()].splitlines() if x.strip()]
            marker = _MARKER.match(before[-1]) if before else None
            fields = parse_directives(marker["spec"]) if marker else {}
            indent = len(match["indent"])
            code = "".join(x[indent:] for x in match["body"].splitlines(keepends=True))
            snippets.append(Snippet(str(path.relative_to(docs)), line, code, **fields))
    return snippets


def resolve(name: str) -> Any:
    """The object a dotted name refers to, under ``loopai`` or from the top; None if missing."""
    for candidate in (f"loopai.{name}", name):
        parts = candidate.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                found: Any = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attribute in parts[cut:]:
                    found = getattr(found, attribute)
            except AttributeError:
                break
            return found
    return None


def is_available(requirement: str) -> bool:
    """Whether a ``requires`` name (``NAME`` or ``NAME(param)``) exists yet."""
    target, _, param = requirement.partition("(")
    found = resolve(target)
    if found is None or not param:
        return found is not None
    return param.rstrip(")") in inspect.signature(found).parameters


def for_backend(code: str, backend: str) -> str:
    """The snippet's code as run on ``backend``: ``asyncio.run(main())`` becomes ``trio.run(main)``."""
    if backend != "trio" or not _ASYNCIO_RUN.search(code):
        return code
    code = re.sub(r"^import asyncio$", "import trio", code, flags=re.MULTILINE)
    code = _ASYNCIO_RUN.sub(r"trio.run(\g<main>)", code)
    if re.search(r"\basyncio\b", code):
        raise AssertionError("the snippet uses asyncio beyond asyncio.run(); write it with anyio")
    return code


SNIPPETS = collect_snippets()
CASES = [
    pytest.param(snippet, backend, id=f"{snippet.name}-{backend}")
    for snippet in SNIPPETS
    for backend in snippet.backends
]


def _command(snippet: Snippet, script: Path) -> list[str]:
    if snippet.pytest_file:
        return [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            script.name,
        ]
    return [sys.executable, script.name]


@pytest.mark.parametrize(("snippet", "backend"), CASES)
def test_snippet_runs(snippet: Snippet, backend: str, tmp_path: Path) -> None:
    """The snippet exits with status 0 against a fresh local server."""
    if snippet.skip:
        pytest.skip("marked `snippet: skip`")
    missing = [name for name in snippet.requires if not is_available(name)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}, which is not there yet")
    if (backend == "trio" or re.search(r"\btrio\b", snippet.code)) and not HAS_TRIO:
        pytest.skip("trio is not installed")
    server_backend = "trio" if backend == "trio" else "asyncio"
    with (
        anyio.from_thread.start_blocking_portal(backend=server_backend) as portal,
        portal.wrap_async_context_manager(LocalServer(seed=0).serve()) as url,
    ):
        script = tmp_path / ("test_snippet.py" if snippet.pytest_file else "snippet.py")
        script.write_text(for_backend(snippet.code, backend).replace(DOCUMENTED_URL, url), encoding="utf-8")
        # The subprocess imports the loopai this test imported, wherever its cwd is.
        path = [str(Path(loopai.__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "LOOPAI_BASE_URL": url, "PYTHONPATH": os.pathsep.join(filter(None, path))}
        env.pop("LOOPAI_API_KEY", None)
        completed = subprocess.run(
            _command(snippet, script),
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
    assert completed.returncode == 0, (
        f"{snippet.name} failed on {backend}:\n{completed.stdout}\n{completed.stderr}"
    )


def test_the_docs_have_snippets_and_few_skips() -> None:
    """The collector finds the site's snippets; fragments skipped outright stay rare."""
    assert len(SNIPPETS) >= 20
    assert sum(snippet.skip for snippet in SNIPPETS) <= 3


def test_snippets_fit_the_page() -> None:
    """No snippet line is wider than the page's code column (80 characters)."""
    wide = [
        f"{snippet.name}+{number}"
        for snippet in SNIPPETS
        for number, line in enumerate(snippet.code.splitlines(), 1)
        if len(line) > 80
    ]
    assert not wide, f"snippet lines over 80 characters: {wide}"


def test_directives_are_parsed() -> None:
    """Markers combine with ';' and unknown ones are refused."""
    assert parse_directives("pytest; requires A B(c)") == {"pytest_file": True, "requires": ("A", "B(c)")}
    with pytest.raises(ValueError, match="unknown snippet directive"):
        parse_directives("skipp")


def test_requirements_resolve_under_loopai_and_from_the_top() -> None:
    """Names resolve under loopai, then as absolute paths; parameters are checked by signature."""
    assert is_available("LoopaiClient")
    assert is_available("testing.LocalServer.serve")
    assert is_available("LoopaiClient(timeout)")
    assert is_available("msgspec.json")
    assert not is_available("LoopaiClient(no_such_parameter)")
    assert not is_available("NoSuchName")


def test_trio_variant_replaces_asyncio_run() -> None:
    """asyncio.run(main()) becomes trio.run(main); other asyncio use is refused."""
    assert for_backend("import asyncio\nasyncio.run(main())\n", "trio") == "import trio\ntrio.run(main)\n"
    with pytest.raises(AssertionError, match="anyio"):
        for_backend("import asyncio\nasyncio.run(main())\nasyncio.sleep(1)\n", "trio")
