"""Input lines to batch items: pure functions of a line's bytes or a CSV row.

A line becomes an `Item` (to send), a `BadLine` (a failed result naming the
line and the problem, never sent) or None (blank, skipped).  Line numbers
are 1-based, as editors show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

__all__ = [
    "BadLine",
    "Item",
    "Parsed",
    "check_header",
    "is_blank_row",
    "item_id",
    "parse_csv_row",
    "parse_json_line",
]

_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder()
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Item:
    """A line to send: its number, its id and its input object."""

    line: int
    id: str
    input: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that cannot be sent; it becomes a failed result with ``message``."""

    line: int
    id: str
    message: str


Parsed = Item | BadLine | None


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "a number"


def item_id(value: object) -> str | None:
    """An id field's value as an item id: a non-empty string or an integer, else None."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _with_id(fields: dict[str, Any], line: int, id_field: str | None) -> Item | BadLine:
    if id_field is None:
        return Item(line, str(line), fields)
    if id_field not in fields:
        return BadLine(line, str(line), f"line {line}: no {id_field!r} field (--id-field)")
    value = fields.pop(id_field)
    ident = item_id(value)
    if ident is None:
        return BadLine(
            line,
            str(line),
            f"line {line}: the {id_field!r} field must be a non-empty string or an integer, got {value!r}",
        )
    return Item(line, ident, fields)


def parse_json_line(raw: bytes, line: int, id_field: str | None = None) -> Parsed:
    """One JSONL line: an object is an item; blank is None; anything else a `BadLine`."""
    if line == 1 and raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    if not raw.strip():
        return None
    try:
        value = _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        return BadLine(line, str(line), f"line {line}: invalid JSON: {exc}")
    if not isinstance(value, dict):
        return BadLine(line, str(line), f"line {line}: not a JSON object ({_json_type(value)})")
    return _with_id(value, line, id_field)


def check_header(header: list[str], id_field: str | None) -> str | None:
    """What is wrong with a CSV header row, or None."""
    if not header or not any(name.strip() for name in header):
        return "the CSV input has no header row (line 1 must name the fields)"
    seen: set[str] = set()
    for name in header:
        if name in seen:
            return f"the CSV header names the field {name!r} twice"
        seen.add(name)
    if id_field is not None and id_field not in seen:
        return f"the CSV header has no {id_field!r} field (--id-field)"
    return None


def is_blank_row(row: list[str], header: list[str]) -> bool:
    """An empty CSV line, or one of only spaces when the header has several fields."""
    return not row or (len(row) == 1 and not row[0].strip() and len(header) > 1)


def parse_csv_row(row: list[str], header: list[str], line: int, id_field: str | None = None) -> Parsed:
    """One CSV record (starting on ``line``) as an item of string fields; an empty row is None."""
    if is_blank_row(row, header):
        return None
    if len(row) != len(header):
        return BadLine(line, str(line), f"line {line}: {len(row)} fields, the header has {len(header)}")
    try:
        "".join(row).encode("utf-8")
    except UnicodeEncodeError:
        return BadLine(line, str(line), f"line {line}: not valid UTF-8")
    return _with_id(dict(zip(header, row, strict=True)), line, id_field)
