"""The docs' build hooks: the CLI reference from the parser, the API members from __all__."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

HOOKS = Path(__file__).resolve().parent.parent / "docs" / "_hooks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_hook", HOOKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    """The CLI reference hook, loaded from its file as MkDocs loads it."""
    return _load("cli_reference")


@pytest.fixture(scope="module")
def api_hook() -> ModuleType:
    """The API members hook, loaded from its file as MkDocs loads it."""
    return _load("api_reference")


def build_parser() -> argparse.ArgumentParser:
    """A parser shaped like the loopai command: nested subcommands and an alias."""
    parser = argparse.ArgumentParser(prog="tool", description="a tool")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--port", type=int, default=8080, help="port " + "and more words " * 10)
    batch = commands.add_parser("batch", aliases=["b"], help="batch jobs")
    jobs = batch.add_subparsers(dest="job", required=True)
    run = jobs.add_parser("run", help="run a job from a file")
    run.add_argument("input")
    return parser


def test_every_command_gets_a_heading_and_its_help(hook: ModuleType) -> None:
    """Each command, nested ones included, appears once with its one-line help and --help text."""
    page = hook.render_cli_reference(build_parser())
    headings = [line for line in page.splitlines() if line.startswith("#")]
    assert headings == ["## `tool`", "### `tool serve`", "### `tool batch`", "#### `tool batch run`"]
    assert "Run a job from a file." in page
    assert "usage: tool batch run [-h] input" in page
    assert all(len(line) <= hook.WIDTH for line in page.splitlines() if not line.startswith("#"))


def test_placeholder_is_replaced_and_other_text_kept(hook: ModuleType) -> None:
    """The page's placeholder line becomes the reference; the rest of the page is unchanged."""
    markdown = f"# CLI\n\nintro\n\n<!-- cli-reference: {__name__}:build_parser -->\n"
    page = hook.on_page_markdown(markdown, page=None, config=None, files=None)
    assert page.startswith("# CLI\n\nintro\n\n## `tool`")
    assert "cli-reference" not in page


def test_a_missing_parser_function_fails_the_build(hook: ModuleType) -> None:
    """A placeholder naming a function that does not exist raises (a strict build then fails)."""
    with pytest.raises(AttributeError):
        hook.on_page_markdown(f"<!-- cli-reference: {__name__}:no_such_function -->", None, None, None)


def test_api_members_leave_out_names_documented_elsewhere(api_hook: ModuleType) -> None:
    """The client comes first; models and exceptions re-exported by loopai are left to their pages."""
    names = api_hook.member_names("loopai", ["loopai.models", "loopai.exceptions"])
    assert names[0] == "LoopaiClient"
    assert "BatchStream" in names
    assert "Task" not in names
    assert "NotFoundException" not in names


def test_api_members_placeholder_becomes_mkdocstrings_blocks(api_hook: ModuleType) -> None:
    """Each member gets its own ::: block; a placeholder without `except` lists every name."""
    page = api_hook.on_page_markdown("<!-- api-members: loopai.exceptions -->", None, None, None)
    assert "::: loopai.exceptions.LoopaiException" in page.split("\n\n")
