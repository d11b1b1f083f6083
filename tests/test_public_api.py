"""The public surface: what users import, and how it presents itself."""

from __future__ import annotations

import pathlib
import re
from importlib.resources import files

import loopai
import loopai.exceptions
import loopai.models
import loopai.testing

SRC = pathlib.Path(loopai.__file__).parent


def test_all_is_sorted_and_complete() -> None:
    """loopai.__all__ lists every public name once, sorted, and each exists."""
    public = {name for name in dir(loopai) if name[0] not in "_@"} - {
        "exceptions", "jobs", "models", "testing",
    }  # fmt: skip
    assert loopai.__all__ == sorted(loopai.__all__, key=lambda n: (not n.isupper(), n))
    assert public <= set(loopai.__all__)
    for name in loopai.__all__:
        assert hasattr(loopai, name), name


def test_submodule_all_is_sorted_and_complete() -> None:
    """loopai.models, loopai.exceptions and loopai.testing each export a sorted, complete __all__."""
    for module in (loopai.models, loopai.exceptions):
        assert module.__all__ == sorted(module.__all__)
        public = {n for n, v in vars(module).items() if not n.startswith("_") and isinstance(v, type)}
        assert public == set(module.__all__)


def test_public_classes_report_their_public_module() -> None:
    """Reprs and tracebacks read loopai.X, loopai.models.X, loopai.exceptions.X."""
    assert loopai.LoopaiClient.__module__ == "loopai"
    assert loopai.RetryPolicy.__module__ == "loopai"
    assert loopai.SyncLoopaiClient.__module__ == "loopai"
    assert loopai.SyncBatchStream.__module__ == "loopai"
    assert loopai.Task.__module__ == "loopai.models"
    assert loopai.ValidationException.__module__ == "loopai.exceptions"
    assert loopai.testing.LocalServer.__module__ == "loopai.testing"
    for name in loopai.models.__all__:
        assert getattr(loopai.models, name).__module__ == "loopai.models"
    for name in loopai.exceptions.__all__:
        assert getattr(loopai.exceptions, name).__module__ == "loopai.exceptions"


def test_spec_names_are_importable_as_documented() -> None:
    """The spec's import lines work: loopai.models and loopai.exceptions hold the documented names."""
    from loopai.exceptions import (
        ConnectionException,
        ExecutionException,
        LoopaiException,
        ValidationException,
    )
    from loopai.models import (
        BatchExecuteItem,
        BatchExecuteRequest,
        BatchExecuteResponse,
        ExecutionResult,
        HealthResponse,
        Task,
    )

    for exc in (ValidationException, ExecutionException, ConnectionException):
        assert issubclass(exc, LoopaiException)
    assert {
        Task,
        ExecutionResult,
        BatchExecuteItem,
        BatchExecuteRequest,
        BatchExecuteResponse,
        HealthResponse,
    }


def test_nothing_imports_asyncio() -> None:
    """The SDK runs unchanged under trio: no module of loopai imports asyncio."""
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if re.search(r"^\s*(import asyncio|from asyncio)", path.read_text(), re.MULTILINE)
    ]
    assert offenders == []


def test_only_the_transport_module_imports_httpx2() -> None:
    """Swapping the HTTP library stays a one-file change."""
    importers = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if re.search(r"^\s*(import httpx2|from httpx2)", path.read_text(), re.MULTILINE)
    )
    assert importers == ["_transport.py"]


def test_package_ships_py_typed() -> None:
    """Type checkers see the package's annotations."""
    assert files("loopai").joinpath("py.typed").is_file()


def test_version_comes_from_metadata() -> None:
    """__version__ is the installed distribution's version."""
    from importlib.metadata import version

    assert loopai.__version__ == version("loopai")


def test_pytest_plugin_loads_without_the_server_extra() -> None:
    """With starlette, hypercorn and jsonschema missing, the pytest11 plugin still imports."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "for name in ('starlette', 'hypercorn', 'jsonschema', 'hypothesis'):\n"
        "    sys.modules[name] = None\n"
        "import loopai, loopai._pytest_plugin\n"
        "assert 'loopai.testing' not in sys.modules\n"
        "try:\n"
        "    import loopai.testing\n"
        "except ImportError:\n"
        "    print('testing needs the extra')\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "testing needs the extra"


def test_import_loopai_leaves_ray_alone() -> None:
    """`import loopai` never imports Ray or pyarrow: loopai.ray is imported only when asked for."""
    import subprocess
    import sys

    code = "import sys, loopai; sys.exit(bool({'ray', 'pyarrow', 'loopai.ray'} & set(sys.modules)))"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
