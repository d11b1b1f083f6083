"""The README's quick start runs as written, on both backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_quickstart_classifies_the_spec_emails(backend: str) -> None:
    """`python examples/quickstart.py` starts a server and prints spam, then not_spam."""
    pytest.importorskip(backend)
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), backend],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("Created task spam-classifier")
    assert lines[1:] == [
        "Classification of 'Buy now for free money!': spam",
        "Classification of 'Meeting tomorrow at 2pm': not_spam",
    ]
