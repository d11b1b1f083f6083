"""A client-side pace for one job's requests and items, so the job stays under rate limits."""

from __future__ import annotations

import anyio

__all__ = ["Pacer"]


class Pacer:
    """Spaces out sends to at most ``requests_per_second`` and ``items_per_second``.

    Each send reserves the earliest time both budgets allow and sleeps until
    then; the first send goes at once.  Reservations are made without an
    await in between, so no lock is needed.
    """

    def __init__(self, requests_per_second: float | None, items_per_second: float | None) -> None:
        self._request_interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._item_interval = 1.0 / items_per_second if items_per_second else 0.0
        self._free_at = float("-inf")

    @property
    def active(self) -> bool:
        """Whether any pace is set."""
        return bool(self._request_interval or self._item_interval)

    async def wait(self, items: int) -> None:
        """Wait for the turn of a send of ``items`` items."""
        if not self.active:
            return
        now = anyio.current_time()
        start = max(now, self._free_at)
        self._free_at = start + max(self._request_interval, items * self._item_interval)
        if start > now:
            await anyio.sleep(start - now)
