"""The exceptions loopai raises; all derive from `LoopaiException`."""

from ._exceptions import (
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

__all__ = [
    "AuthenticationException",
    "BatchException",
    "ClientClosedException",
    "ConflictException",
    "ConnectionException",
    "ExecutionException",
    "InvalidArgumentException",
    "LoopaiException",
    "NotFoundException",
    "RateLimitException",
    "RedirectException",
    "ResponseDecodeException",
    "ResponseTooLargeException",
    "ServerException",
    "TimeoutException",
    "ValidationException",
]

for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
