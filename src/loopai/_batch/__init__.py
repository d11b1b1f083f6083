"""Batch jobs of any size: a pure core (`_plan`, `_ledger`) in a thin anyio shell (`_runner`).

The client hands a job its checked settings and a `SendChunk`; the package
never sees the client itself.
"""

from ._options import SERVER_BODY_LIMIT, BatchOptions, BatchProgress, JobSettings
from ._plan import IdPolicy, ItemLike
from ._runner import BatchStream, SendChunk, run_batch, stream_batch

__all__ = [
    "SERVER_BODY_LIMIT",
    "BatchOptions",
    "BatchProgress",
    "BatchStream",
    "IdPolicy",
    "ItemLike",
    "JobSettings",
    "SendChunk",
    "run_batch",
    "stream_batch",
]
