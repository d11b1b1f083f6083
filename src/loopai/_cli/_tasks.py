"""``loopai tasks create`` and ``loopai tasks get``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import _status
from ._options import client_options, make_client, print_json, run_async, usage_error

__all__ = ["add_parser", "task_fields"]

_FIELDS = (
    "name",
    "description",
    "input_schema",
    "output_schema",
    "examples",
    "accuracy_target",
    "latency_target_ms",
    "sampling_rate",
)
_REQUIRED = ("name", "description", "input_schema", "output_schema")


def add_parser(commands: Any) -> None:
    """Add ``tasks create`` and ``tasks get`` to the command's subparsers."""
    tasks = commands.add_parser(
        "tasks", help="create a task, or show one", description="Create or show tasks."
    )
    actions = tasks.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create",
        parents=[client_options()],
        help="create a task from a JSON spec file or flags",
        description="Create a task. SPEC is a JSON object with the fields of POST /api/v1/tasks"
        " (name, description, input_schema, output_schema, examples, accuracy_target,"
        " latency_target_ms, sampling_rate); flags override its fields.",
        epilog=_status.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("spec", nargs="?", metavar="SPEC", help="a JSON spec file, or - for stdin")
    create.add_argument("--name")
    create.add_argument("--description")
    create.add_argument("--input-schema", metavar="JSON", help="JSON Schema of inputs (JSON text, or @FILE)")
    create.add_argument(
        "--output-schema", metavar="JSON", help="JSON Schema of outputs (JSON text, or @FILE)"
    )
    create.add_argument(
        "--example",
        action="append",
        metavar="JSON",
        help='an example {"input": ..., "output": ...}; repeatable',
    )
    create.add_argument("--accuracy-target", type=float, metavar="0..1")
    create.add_argument("--latency-target-ms", type=int, metavar="MS")
    create.add_argument("--sampling-rate", type=float, metavar="0..1")
    create.set_defaults(run=_run_create)
    get = actions.add_parser(
        "get",
        parents=[client_options()],
        help="show a task",
        description="Show a task.",
        epilog=_status.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    get.add_argument("task_id", metavar="TASK_ID")
    get.set_defaults(run=lambda args: run_async(_get, args))


class SpecError(ValueError):
    """A task spec or flag that cannot be used."""


def _json(text: str, what: str) -> Any:
    import msgspec

    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"cannot read {what} from {text[1:]!r}: {exc.strerror}") from None
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise SpecError(f"{what} is not valid JSON: {exc}") from None


def task_fields(spec: dict[str, Any] | None, args: argparse.Namespace) -> dict[str, Any]:
    """The fields of ``create_task``: the spec's, overridden by flags (pure but for @FILE reads)."""
    fields = dict(spec or {})
    unknown = sorted(set(fields) - set(_FIELDS))
    if unknown:
        raise SpecError(f"unknown field(s) in the spec: {', '.join(unknown)}")
    for name in ("name", "description", "accuracy_target", "latency_target_ms", "sampling_rate"):
        value = getattr(args, name)
        if value is not None:
            fields[name] = value
    for name in ("input_schema", "output_schema"):
        value = getattr(args, name)
        if value is not None:
            fields[name] = _json(value, f"--{name.replace('_', '-')}")
    if args.example:
        fields["examples"] = [_json(text, "--example") for text in args.example]
    missing = [name for name in _REQUIRED if name not in fields]
    if missing:
        raise SpecError(
            f"missing {', '.join(missing)} (give a SPEC file or --{missing[0].replace('_', '-')})"
        )
    return fields


def _spec(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    spec = _json(sys.stdin.read(), "the spec") if path == "-" else _json("@" + path, "the spec")
    if not isinstance(spec, dict):
        raise SpecError("the spec must be a JSON object")
    return spec


def _run_create(args: argparse.Namespace) -> int:
    try:
        args.fields = task_fields(_spec(args.spec), args)
    except SpecError as exc:
        return usage_error(str(exc))
    return run_async(_create, args)


async def _create(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        task = await client.create_task(**args.fields)
    _show(task, args, created=True)
    return _status.OK


async def _get(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        task = await client.get_task(args.task_id)
    _show(task, args, created=False)
    return _status.OK


def _show(task: Any, args: argparse.Namespace, *, created: bool) -> None:
    if args.json:
        print_json(task)
        return
    from ._render import fields_text

    if created:
        print(f"created task {task.id} ({task.name})")
    print(fields_text(task))
