"""loopai.testing: a local Loopai server and a test kit for code that uses loopai.

The server answers every endpoint of the Loopai Cloud API as the real one
does (status codes, error shapes, timestamps, quirks), and adds what tests
need: fault injection, a request recorder, a seedable random source and
programs you register per task.  It needs the ``server`` extra
(``pip install loopai[server]``).
"""

from __future__ import annotations

from typing import Any

from .._client import LoopaiClient
from .._retry import RetryPolicy
from .._transport import asgi_transport
from ._faults import Fault, FaultPlan
from ._rate_limiter import DEPLOYED_RULES, RateLimitRule
from ._server import LocalServer, RecordedRefusal, RecordedRequest, ServerQuirks

__all__ = [
    "DEPLOYED_RULES",
    "FAST_RETRIES",
    "Fault",
    "FaultPlan",
    "LocalServer",
    "RateLimitRule",
    "RecordedRefusal",
    "RecordedRequest",
    "ServerQuirks",
    "in_process_client",
]

for _name in (
    "Fault",
    "FaultPlan",
    "LocalServer",
    "RateLimitRule",
    "RecordedRefusal",
    "RecordedRequest",
    "ServerQuirks",
):
    globals()[_name].__module__ = __name__
del _name

#: Retries without long waits, for tests (stamina's testing mode removes waits entirely).
FAST_RETRIES = RetryPolicy(wait_initial=0.01, wait_max=0.05, wait_jitter=0.0, max_retry_after=5.0)


def in_process_client(server: LocalServer, **kwargs: Any) -> LoopaiClient:
    """A `LoopaiClient` that calls ``server`` in process, with no sockets."""
    kwargs.setdefault("base_url", "http://loopai.local")
    return LoopaiClient(transport=asgi_transport(server), **kwargs)
