"""MkDocs hook: the package's top-level names, listed from its ``__all__``.

A page asks for them with a line of its own::

    <!-- api-members: loopai -->

The hook replaces it with one mkdocstrings ``::: loopai.NAME`` block per name
of ``loopai.__all__``, except the names re-exported from the modules given
after ``except`` (``<!-- api-members: loopai except loopai.models -->``),
which their own pages document.  A name added to ``__all__`` appears in the
reference without editing the page.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

__all__ = ["member_names", "on_page_markdown"]

#: Names shown first, in this order, when the package has them.
LEADING = ("LoopaiClient", "SyncLoopaiClient", "RetryPolicy", "BatchOptions")

_PLACEHOLDER = re.compile(
    r"^<!-- api-members: (?P<module>[\w.]+)(?: except (?P<skip>[\w. ]+))? -->$",
    re.MULTILINE,
)


def member_names(
    module_name: str, documented_elsewhere: list[str]
) -> list[str]:
    """The module's ``__all__`` names not in the other modules' ``__all__``."""
    names = list(importlib.import_module(module_name).__all__)
    for other in documented_elsewhere:
        skip = set(importlib.import_module(other).__all__)
        names = [name for name in names if name not in skip]
    leading = [name for name in LEADING if name in names]
    return leading + [name for name in names if name not in leading]


def on_page_markdown(
    markdown: str,
    page: Any,  # noqa: ARG001 - MkDocs passes every event argument by name
    config: Any,  # noqa: ARG001
    files: Any,  # noqa: ARG001
) -> str:
    """MkDocs event: replace each api-members placeholder with its blocks."""

    def render(match: re.Match[str]) -> str:
        module = match["module"]
        names = member_names(module, (match["skip"] or "").split())
        return "\n\n".join(f"::: {module}.{name}" for name in names)

    return _PLACEHOLDER.sub(render, markdown)
