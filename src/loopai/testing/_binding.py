"""Request binding as ASP.NET Core does it, and the two JSON error bodies.

Binding failures (malformed JSON, a missing required property, a wrong
type or a null for a non-nullable field, a non-GUID route id) are the
framework's ProblemDetails; rule violations are the controllers'
VALIDATION_ERROR ErrorResponse.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

__all__ = ["BindingError", "Field", "bind", "bind_data", "parse_guid", "problem", "trace_id"]

_JSON_TYPES = {
    "string": (str,),
    "object": (dict,),
    "array": (list,),
    "boolean": (bool,),
    "number": (int, float),
    "integer": (int,),
}


def trace_id() -> str:
    """A W3C-style trace id as ASP.NET writes it in ProblemDetails."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


@dataclass(frozen=True)
class Field:
    """One property of a request DTO."""

    kind: str  # a JSON type, "guid" or "any"
    required: bool = False
    nullable: bool = False


class BindingError(Exception):
    """The body could not be bound; ``errors`` is ProblemDetails' ``errors``."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def problem(errors: dict[str, list[str]]) -> dict[str, Any]:
    """A ProblemDetails body for binding errors."""
    return {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": errors,
        "traceId": trace_id(),
    }


def parse_guid(value: str, name: str) -> uuid.UUID:
    """A route GUID, or a BindingError like the framework's."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BindingError({name: [f"The value '{value}' is not valid."]}) from None


def _check(value: Any, spec: Field, path: str) -> Any:
    if value is None:
        if spec.nullable:
            return None
        raise BindingError({path: [f"The JSON value could not be converted. Path: {path}"]})
    if spec.kind == "any":
        return value
    if spec.kind == "guid":
        if isinstance(value, str):
            try:
                return uuid.UUID(value)
            except ValueError:
                pass
        raise BindingError({path: [f"The JSON value is not a valid GUID. Path: {path}"]})
    types = _JSON_TYPES[spec.kind]
    if isinstance(value, bool) and spec.kind != "boolean":
        types = ()
    if spec.kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, types):
        raise BindingError({path: [f"The JSON value could not be converted to {spec.kind}. Path: {path}"]})
    return value


def bind(body: bytes, fields: dict[str, Field], *, dto: str) -> dict[str, Any]:
    """Parse a JSON body against a DTO's fields (unknown properties are ignored)."""
    try:
        data = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError as exc:
        raise BindingError({"$": [f"The request body is not valid JSON: {exc}"]}) from None
    return bind_data(data, fields, dto=dto)


def bind_data(data: Any, fields: dict[str, Field], *, dto: str) -> dict[str, Any]:
    """Bind an already parsed JSON value against a DTO's fields."""
    if not isinstance(data, dict):
        raise BindingError({"$": [f"The JSON value could not be converted to {dto}. Path: $"]})
    missing = [name for name, spec in fields.items() if spec.required and name not in data]
    if missing:
        raise BindingError({name: [f"The {name} field is required."] for name in missing})
    return {name: _check(data[name], spec, f"$.{name}") for name, spec in fields.items() if name in data}
