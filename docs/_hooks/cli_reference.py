"""MkDocs hook: the CLI reference, rendered from the argument parser.

A page asks for it with a line of its own::

    <!-- cli-reference: loopai._cli:_parser -->

naming a module and a function of it that takes no arguments and returns an
`argparse.ArgumentParser` (by convention ``build_parser``).  The hook replaces
the line with the ``--help`` of that parser and of every subcommand under it,
recursively, so the page cannot drift from the code.
"""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["on_page_markdown", "render_cli_reference", "walk_commands"]

#: Help is wrapped at this width whatever the terminal that builds the site.
WIDTH = 78

_PLACEHOLDER = re.compile(
    r"^<!-- cli-reference: (?P<target>[\w.]+:\w+) -->$", re.MULTILINE
)


def load_parser_factory(target: str) -> Callable[[], argparse.ArgumentParser]:
    """The function named by ``module:function``; raises if it is not there."""
    module_name, _, function_name = target.partition(":")
    factory = getattr(importlib.import_module(module_name), function_name)
    if not callable(factory):
        raise TypeError(f"cli-reference target {target!r} is not callable")
    return factory  # type: ignore[no-any-return]


def walk_commands(
    parser: argparse.ArgumentParser, depth: int = 0, summary: str | None = None
) -> Iterator[tuple[int, str | None, argparse.ArgumentParser]]:
    """The parser and its subcommands, depth first.

    Yields (depth, the command's one-line help, its parser).
    """
    yield depth, summary, parser
    seen: set[int] = set()
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, sub in action.choices.items():
            if id(sub) in seen:  # an alias of a command already shown
                continue
            seen.add(id(sub))
            yield from walk_commands(sub, depth + 1, helps.get(name))


def _help_text(parser: argparse.ArgumentParser) -> str:
    base = parser.formatter_class

    def formatter(prog: str) -> argparse.HelpFormatter:
        return base(prog, width=WIDTH)  # type: ignore[call-arg]

    parser.formatter_class = formatter
    try:
        return parser.format_help().rstrip()
    finally:
        parser.formatter_class = base


def render_cli_reference(parser: argparse.ArgumentParser) -> str:
    """Markdown for a parser: per command, a heading, its help, ``--help``."""
    sections = []
    for depth, summary, command in walk_commands(parser):
        heading = "#" * min(depth + 2, 6)
        parts = [f"{heading} `{command.prog}`"]
        if summary:
            parts.append(summary[:1].upper() + summary[1:] + ".")
        parts.append(f"```text\n{_help_text(command)}\n```")
        sections.append("\n\n".join(parts))
    return "\n\n".join(sections) + "\n"


def on_page_markdown(
    markdown: str,
    page: Any,  # noqa: ARG001 - MkDocs passes every event argument by name
    config: Any,  # noqa: ARG001
    files: Any,  # noqa: ARG001
) -> str:
    """MkDocs event: replace each cli-reference placeholder with its page."""

    def render(match: re.Match[str]) -> str:
        return render_cli_reference(load_parser_factory(match["target"])())

    return _PLACEHOLDER.sub(render, markdown)
