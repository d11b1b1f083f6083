"""Readable text for models, for a terminal: pure functions."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["fields_text", "value_text"]


def value_text(value: Any) -> str:
    """A value as a person reads it: strings bare, everything else compact JSON."""
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


def fields_text(model: Any, skip: frozenset[str] = frozenset()) -> str:
    """``name: value`` lines for a model's fields (None ones left out)."""
    data = msgspec.to_builtins(model)
    width = max((len(name) for name in data if name not in skip), default=0)
    return "\n".join(
        f"{name + ':':<{width + 1}} {value_text(value)}"
        for name, value in data.items()
        if name not in skip and value is not None
    )
