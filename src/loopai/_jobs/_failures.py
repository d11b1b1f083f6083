"""Kinds of failure, read from a failed result: pure functions.

A chunk request that failed after the client's retries is not an answer
about its items: the job stops and a rerun sends them again.  Every other
failure is the item's own and is written to the output.
"""

from __future__ import annotations

import re

__all__ = [
    "BAD_INPUT",
    "NOT_RUN",
    "PROGRAM_ERROR",
    "PROGRAM_TIMEOUT",
    "REFUSED",
    "TOO_LARGE",
    "failure_kind",
    "request_failure",
]

BAD_INPUT = "invalid input line"
PROGRAM_ERROR = "program error"
PROGRAM_TIMEOUT = "program timeout"
REFUSED = "refused by the server"
TOO_LARGE = "too large to send"
NOT_RUN = "not run"

_BAD_LINE = re.compile(r"line \d+: ")
_REQUEST_FAILED = re.compile(r"request failed: (\w+)")


def request_failure(success: bool, execution_id: object, error_message: str | None) -> str | None:
    """The exception's name when the item failed because its chunk request did, else None."""
    if success or execution_id is not None or not error_message:
        return None
    return _failed_request(error_message)


def _failed_request(message: str) -> str | None:
    match = _REQUEST_FAILED.search(message)
    return match.group(1) if match else None


def failure_kind(execution_id: object, error_message: str | None) -> str:
    """A short name for why an item failed, for the summary's counts."""
    message = error_message or ""
    if _BAD_LINE.match(message):
        return BAD_INPUT
    if execution_id is not None:
        return (
            PROGRAM_TIMEOUT
            if "timed out" in message.lower() or "timeout" in message.lower()
            else PROGRAM_ERROR
        )
    failed_request = _failed_request(message)
    if failed_request is not None:
        return f"request failed ({failed_request})"
    if "body limit" in message:
        return TOO_LARGE
    if message.startswith(("not run", "cancelled")):
        return NOT_RUN
    return REFUSED
