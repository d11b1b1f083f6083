"""`NOT_GIVEN`: the one marker of an argument left at the client's default."""

from __future__ import annotations

from typing import Final

__all__ = ["NOT_GIVEN", "NotGiven"]


class NotGiven:
    """The type of `NOT_GIVEN`: an argument left at the client's default."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:  # noqa: PYI034 - a singleton
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


#: Marks a per-call argument as "use the client's default" (distinct from None).
NOT_GIVEN: Final = NotGiven()
