"""The deployed server's quirks that the local server reproduces, each a switch."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServerQuirks"]


@dataclass(frozen=True)
class ServerQuirks:
    """Behaviours of the deployed server that clients must survive.

    Args:
        single_precision: ``accuracy_target``, ``sampling_rate`` and scores
            read back in single precision (0.95 comes back 0.949999988079071).
        pretty_json: Development formatting: indented, non-ASCII and
            ``<>&'+`` written as ``\\u`` escapes.
        timeout_as_error: A timed-out run reports ``status`` "error" (as
            deployed) instead of "timeout".
        broken_rate_limiter: A rate-limited request gets 500 INTERNAL_ERROR
            without ``Retry-After`` instead of 429 (as deployed).
    """

    single_precision: bool = True
    pretty_json: bool = True
    timeout_as_error: bool = True
    broken_rate_limiter: bool = False

    @classmethod
    def none(cls) -> ServerQuirks:
        """A server without quirks: compact JSON, exact numbers, ``"timeout"`` status."""
        return cls(single_precision=False, pretty_json=False, timeout_as_error=False)
