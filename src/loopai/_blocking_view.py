"""Blocking views of async objects: what the sync client shows of the async client's other attributes.

`SyncLoopaiClient` declares a typed twin for each endpoint method; anything
else public on `LoopaiClient` (settings, namespaces of methods such as a
``with_raw_response``) reads through a blocking view: an async callable
becomes a blocking one run on the client's loop (any other method runs
there too: the async client's state belongs to its loop), an object with
async methods becomes a proxy whose methods block, and plain values pass as
they are.
"""

from __future__ import annotations

import functools
import inspect
import re
import types
from typing import Any

from ._loop_thread import LoopThread

__all__ = ["blocking_docstring", "blocking_view"]

_AWAIT = re.compile(r"\basync (with|for)\b|\bawait ")


def blocking_docstring(doc: str | None) -> str | None:
    """An async method's docstring, its examples read as blocking code."""
    return None if doc is None else _AWAIT.sub(lambda m: m.group(1) or "", doc)


def blocking_view(loop: LoopThread, value: Any) -> Any:
    """``value`` for blocking callers on ``loop``'s client."""
    if callable(value) and not isinstance(value, type):
        # Any method of a loop-bound object runs on the loop's thread; what it returns
        # is awaited there if awaitable (an async method, or a wrapper of one).

        async def invoke(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            return blocking_view(loop, loop.run(functools.partial(invoke, *args, **kwargs)))

        call.__doc__ = blocking_docstring(value.__doc__)
        return call
    if _has_async_methods(value):
        return _BlockingNamespace(loop, value)
    return value


def _is_async_callable(value: object) -> bool:
    if not callable(value) or isinstance(value, type):
        return False
    try:
        unwrapped = inspect.unwrap(value)  # a wrapper made with functools.wraps of an async def
    except ValueError:
        unwrapped = value
    return inspect.iscoroutinefunction(value) or inspect.iscoroutinefunction(unwrapped)


def _has_async_methods(value: object) -> bool:
    if isinstance(value, (type, types.ModuleType)) or callable(value):
        return False
    kind = type(value)
    return any(
        _is_async_callable(getattr(kind, name, None)) for name in dir(kind) if not name.startswith("_")
    )


class _BlockingNamespace:
    """A blocking view of an object with async methods."""

    def __init__(self, loop: LoopThread, target: object) -> None:
        self._loop = loop
        self._target = target

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return blocking_view(self._loop, getattr(self._target, name))

    def __repr__(self) -> str:
        return f"<blocking view of {self._target!r}>"
