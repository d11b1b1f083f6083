"""``model_dump`` and ``model_dump_json``: the pydantic names the seed SDK's models had, for msgspec Structs.

Pure functions of a Struct: field names as attributes (or the wire's with
``by_alias``), every field included (defaults and None too) unless asked
otherwise, nested models turned into dicts.  ``mode="json"`` gives JSON-ready
values (UUIDs and datetimes as strings, the way pydantic writes them);
``mode="python"`` keeps them as objects.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import msgspec

__all__ = ["DumpMode", "dump", "dump_json"]

DumpMode = Literal["python", "json"]

_JSON_STRINGS = (UUID, datetime, date, time, Decimal)


def dump(
    model: msgspec.Struct,
    *,
    mode: DumpMode = "python",
    by_alias: bool = False,
    exclude_none: bool = False,
    include: Collection[str] | None = None,
    exclude: Collection[str] | None = None,
) -> dict[str, Any]:
    """The model's fields as a dict (``include``/``exclude`` name top-level fields)."""
    if mode not in ("python", "json"):
        raise ValueError(f"mode must be 'python' or 'json', not {mode!r}")
    json_mode = mode == "json"
    result: dict[str, Any] = {}
    for field in msgspec.structs.fields(model):
        if (include is not None and field.name not in include) or (exclude and field.name in exclude):
            continue
        value = getattr(model, field.name)
        if value is None and exclude_none:
            continue
        key = field.encode_name if by_alias else field.name
        result[key] = _value(value, json_mode=json_mode, by_alias=by_alias, exclude_none=exclude_none)
    return result


def dump_json(
    model: msgspec.Struct,
    *,
    indent: int | None = None,
    by_alias: bool = False,
    exclude_none: bool = False,
    include: Collection[str] | None = None,
    exclude: Collection[str] | None = None,
) -> str:
    """The model as a JSON string: compact, or indented by ``indent`` spaces."""
    data = dump(
        model, mode="json", by_alias=by_alias, exclude_none=exclude_none, include=include, exclude=exclude
    )
    encoded = msgspec.json.encode(data)
    if indent is not None:
        encoded = msgspec.json.format(encoded, indent=indent)
    return encoded.decode()


def _value(value: Any, *, json_mode: bool, by_alias: bool, exclude_none: bool) -> Any:
    if isinstance(value, msgspec.Struct):
        return dump(
            value, mode="json" if json_mode else "python", by_alias=by_alias, exclude_none=exclude_none
        )
    if isinstance(value, (list, tuple)):
        return [_value(v, json_mode=json_mode, by_alias=by_alias, exclude_none=exclude_none) for v in value]
    if isinstance(value, dict):
        return {
            (str(k) if json_mode else k): _value(
                v, json_mode=json_mode, by_alias=by_alias, exclude_none=exclude_none
            )
            for k, v in value.items()
        }
    if json_mode and isinstance(value, _JSON_STRINGS):
        return msgspec.to_builtins(value)
    return value
