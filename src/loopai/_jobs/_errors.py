"""Why a file job cannot start: raised before any item is sent."""

from __future__ import annotations

from ..exceptions import LoopaiException

__all__ = ["FileJobException", "InputFileException", "OutputFileException", "ResumeRefusedException"]


class FileJobException(LoopaiException):
    """A file job cannot start; nothing was sent."""


class InputFileException(FileJobException):
    """The input cannot be read (missing, unreadable, not a file, a CSV header without the id field)."""


class OutputFileException(FileJobException):
    """The output or its job record cannot be written or read."""


class ResumeRefusedException(FileJobException):
    """The output exists but belongs to another job (another input, task or id field).

    The message says which; nothing was sent and the output is untouched.
    """
