"""Exit statuses of the ``loopai`` command and one-line error messages: pure functions."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from .. import exceptions as errors

if TYPE_CHECKING:
    from ..jobs import JobReport

__all__ = [
    "AUTHENTICATION",
    "CONFLICT",
    "INTERRUPTED",
    "INVALID_REQUEST",
    "ITEMS_FAILED",
    "JOB_STOPPED",
    "NOT_FOUND",
    "OK",
    "RATE_LIMITED",
    "SERVER_ERROR",
    "STATUSES",
    "UNREACHABLE",
    "USAGE",
    "batch_status",
    "epilog",
    "format_error",
    "status_for",
]

OK = 0
ITEMS_FAILED = 1
USAGE = 2
JOB_STOPPED = 3
INVALID_REQUEST = 4
AUTHENTICATION = 5
NOT_FOUND = 6
CONFLICT = 7
RATE_LIMITED = 8
SERVER_ERROR = 9
UNREACHABLE = 10
INTERRUPTED = 130

#: Every exit status and what it means; the help epilog and README show this table.
STATUSES: tuple[tuple[int, str], ...] = (
    (OK, "success (batch run: every line succeeded)"),
    (ITEMS_FAILED, "batch run: some lines failed (see the output); execute: the program failed"),
    (USAGE, "usage error: bad arguments, unreadable input, unwritable output, refused resume, missing extra"),
    (JOB_STOPPED, "batch run stopped: a chunk request failed after retries; run it again to resume"),
    (INVALID_REQUEST, "the server refused the request as invalid (400, 422)"),
    (AUTHENTICATION, "the server refused the credentials (401, 403)"),
    (NOT_FOUND, "not found (404): no such task or version"),
    (CONFLICT, "conflict (409): a task with that name exists"),
    (RATE_LIMITED, "rate limited (429), still after retries"),
    (SERVER_ERROR, "the server failed (5xx) or its answer could not be read"),
    (UNREACHABLE, "the server could not be reached, or timed out"),
    (INTERRUPTED, "interrupted (Ctrl-C or SIGTERM); a batch run keeps what is on disk"),
)


def epilog() -> str:
    """The exit status table, for a command's help (within 78 columns)."""
    rows = [
        textwrap.fill(meaning, 78, initial_indent=f"  {status:>3}  ", subsequent_indent=" " * 7)
        for status, meaning in STATUSES
    ]
    return "exit status:\n" + "\n".join(rows)


def status_for(error: BaseException) -> int:
    """The exit status of a command that failed with ``error``."""
    from ..jobs import FileJobException

    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED
    if isinstance(error, (FileJobException, errors.InvalidArgumentException)):
        return USAGE
    if isinstance(error, errors.ValidationException):
        return INVALID_REQUEST
    if isinstance(error, errors.AuthenticationException):
        return AUTHENTICATION
    if isinstance(error, errors.NotFoundException):
        return NOT_FOUND
    if isinstance(error, errors.ConflictException):
        return CONFLICT
    if isinstance(error, errors.RateLimitException):
        return RATE_LIMITED
    if isinstance(error, errors.ConnectionException):
        return UNREACHABLE
    if isinstance(error, errors.ExecutionException) and error.execution_id is not None:
        return ITEMS_FAILED
    if isinstance(error, errors.BatchException):
        return JOB_STOPPED
    return SERVER_ERROR


def batch_status(report: JobReport) -> int:
    """The exit status of a finished, stopped or interrupted ``batch run``."""
    if report.stopped == "cancelled":
        return INTERRUPTED
    if not report.complete:
        return JOB_STOPPED
    return ITEMS_FAILED if report.failed else OK


def _one_line(text: str, limit: int = 500) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def format_error(error: BaseException) -> str:
    """One line for stderr: the status and code, the message, the trace id."""
    from ..jobs import FileJobException

    if isinstance(error, errors.LoopaiException):
        head = " ".join(str(part) for part in (error.status_code, error.code) if part is not None)
        head = head or type(error).__name__
        if isinstance(error, FileJobException):
            head = "error"
        trace = f" (trace_id {error.trace_id})" if error.trace_id else ""
        return _one_line(f"loopai: {head}: {error.message}{trace}")
    return _one_line(f"loopai: {type(error).__name__}: {error}")
