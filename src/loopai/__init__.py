"""loopai: the async Python client of the Loopai Cloud API, for asyncio and trio."""

from ._batch import BatchOptions, BatchProgress, BatchStream
from ._client import LoopaiClient
from ._not_given import NOT_GIVEN, NotGiven
from ._rate_budget import RateLimitState
from ._raw_response import LoopaiResponse, RateLimitInfo
from ._retry import RetryPolicy
from ._sync_batch_stream import SyncBatchStream
from ._sync_client import SyncLoopaiClient
from ._version import __version__
from .exceptions import (
    AuthenticationException,
    BatchException,
    ClientClosedException,
    ConflictException,
    ConnectionException,
    ExecutionException,
    InvalidArgumentException,
    LoopaiException,
    NotFoundException,
    RateLimitException,
    RedirectException,
    ResponseDecodeException,
    ResponseTooLargeException,
    ServerException,
    TimeoutException,
    ValidationException,
)
from .models import (
    BatchExecuteItem,
    BatchExecuteRequest,
    BatchExecuteResponse,
    BatchExecuteResult,
    ExecutionResult,
    ExecutionStatus,
    HealthResponse,
    Task,
)

__all__ = [
    "NOT_GIVEN",
    "AuthenticationException",
    "BatchException",
    "BatchExecuteItem",
    "BatchExecuteRequest",
    "BatchExecuteResponse",
    "BatchExecuteResult",
    "BatchOptions",
    "BatchProgress",
    "BatchStream",
    "ClientClosedException",
    "ConflictException",
    "ConnectionException",
    "ExecutionException",
    "ExecutionResult",
    "ExecutionStatus",
    "HealthResponse",
    "InvalidArgumentException",
    "LoopaiClient",
    "LoopaiException",
    "LoopaiResponse",
    "NotFoundException",
    "NotGiven",
    "RateLimitException",
    "RateLimitInfo",
    "RateLimitState",
    "RedirectException",
    "ResponseDecodeException",
    "ResponseTooLargeException",
    "RetryPolicy",
    "ServerException",
    "SyncBatchStream",
    "SyncLoopaiClient",
    "Task",
    "TimeoutException",
    "ValidationException",
    "__version__",
]

for _name in (
    "BatchOptions",
    "BatchProgress",
    "BatchStream",
    "LoopaiClient",
    "LoopaiResponse",
    "NotGiven",
    "RateLimitInfo",
    "RateLimitState",
    "RetryPolicy",
    "SyncBatchStream",
    "SyncLoopaiClient",
):
    globals()[_name].__module__ = __name__
del _name
