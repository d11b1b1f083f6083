"""Checks of call arguments, made before any request is sent.

Each raises `InvalidArgumentException` naming the argument and the limit.
The limits are the server's effective ones (CONTRACT.md): its storage is
tighter than its validator, so a name over 100 characters or a description
over 2,000 would pass validation and then fail with a 500.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from ._exceptions import InvalidArgumentException

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.\-]+")


def task_id(value: object, argument: str = "task_id") -> UUID:
    """A task id as a UUID, from a UUID or its string form."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    raise InvalidArgumentException(argument, f"must be a UUID or a UUID string, got {value!r}")


def whole_number(value: object, argument: str, low: int, high: int | None = None) -> int:
    """An int within ``low..high`` (bool refused)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgumentException(argument, f"must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bounds = f"{low}-{high}" if high is not None else f">= {low}"
        raise InvalidArgumentException(argument, f"must be {bounds}, got {value}")
    return value


def optional_whole_number(value: object, argument: str, low: int, high: int | None = None) -> int | None:
    """As `whole_number`, or None."""
    return None if value is None else whole_number(value, argument, low, high)


def fraction(value: object, argument: str) -> float:
    """A number in 0.0..1.0."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise InvalidArgumentException(argument, f"must be a number, got {type(value).__name__}")
    if not 0.0 <= value <= 1.0:
        raise InvalidArgumentException(argument, f"must be between 0.0 and 1.0, got {value}")
    return float(value)


def json_object(value: object, argument: str) -> dict[str, Any]:
    """A JSON object (a dict with string keys)."""
    if not isinstance(value, Mapping):
        raise InvalidArgumentException(argument, f"must be a dict, got {type(value).__name__}")
    return dict(value)


def task_name(value: object) -> str:
    """A task name: 1-100 characters of letters, digits, ``_``, ``.`` and ``-``."""
    if not isinstance(value, str) or not value:
        raise InvalidArgumentException("name", "must be a non-empty string")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidArgumentException(
            "name", f"is {len(value)} characters; the server stores at most {MAX_NAME_LENGTH}"
        )
    if not _NAME_PATTERN.fullmatch(value):
        raise InvalidArgumentException("name", f"{value!r} may hold only letters, digits, '_', '.' and '-'")
    return value


def description(value: object) -> str:
    """A task description: 1-2,000 characters."""
    if not isinstance(value, str) or not value:
        raise InvalidArgumentException("description", "must be a non-empty string")
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise InvalidArgumentException(
            "description",
            f"is {len(value)} characters; the server stores at most {MAX_DESCRIPTION_LENGTH}",
        )
    return value


def api_key(value: object) -> str | None:
    """An API key fit for a header, or None; the message never quotes the key."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidArgumentException("api_key", f"must be a string, got {type(value).__name__}")
    if value != value.strip():
        raise InvalidArgumentException(
            "api_key", "has leading or trailing whitespace (a newline read from a file?); strip it"
        )
    for position, char in enumerate(value):
        if not " " <= char <= "~":
            kind = "a non-ASCII character" if ord(char) > 127 else f"a control character (0x{ord(char):02x})"
            raise InvalidArgumentException("api_key", f"holds {kind} at position {position}")
    return value


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def header_map(value: object, argument: str = "headers") -> dict[str, str]:
    """Extra headers: token names and values without control characters (never quoted back)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentException(argument, f"must be a mapping, got {type(value).__name__}")
    checked: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise InvalidArgumentException(argument, f"{name!r} is not a valid header name")
        if not isinstance(text, str):
            raise InvalidArgumentException(
                f"{argument}[{name!r}]", f"must be a string, got {type(text).__name__}"
            )
        if any(not (" " <= c <= "~" or c == "\t") for c in text) or text != text.strip():
            raise InvalidArgumentException(
                f"{argument}[{name!r}]", "holds control, non-ASCII or surrounding whitespace characters"
            )
        checked[name] = text
    return checked


def positive_rate(value: object, argument: str) -> float | None:
    """A finite rate > 0 per second, or None."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidArgumentException(argument, f"must be a finite number > 0 or None, got {value!r}")
    return float(value)
