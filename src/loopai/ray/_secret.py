"""`Secret`: an API key that stays out of reprs, logs and pickles on its way to the actors."""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["Secret", "SecretRef"]


class Secret:
    """A string shown as ``Secret('***')`` and refused by pickle.

    `loopai.ray.execute_dataset` accepts one as ``api_key``; it sends the
    value to its actors through Ray's object store (see `SecretRef`), never
    as a constructor argument that Ray could print.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"a Secret holds a str, got {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The secret value itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret does not pickle; loopai.ray sends it through Ray's object store")


class SecretRef:
    """A handle on a secret put in Ray's object store: it pickles as an object id only.

    Small objects live in the memory of the process that put them; a worker
    fetches the value with `resolve` when it starts.  Nothing Ray logs or
    shows (task and actor arguments, reprs, the dashboard) contains the value.
    """

    __slots__ = ("_ref",)

    def __init__(self, ref: Any) -> None:
        self._ref = ref

    @classmethod
    def put(cls, secret: Secret) -> SecretRef:
        """Store the secret's value in the object store (needs a connected Ray)."""
        import ray

        return cls(ray.put(secret.reveal()))

    def resolve(self) -> Secret:
        """The secret, fetched from the object store."""
        import ray

        return Secret(ray.get(self._ref))

    def __repr__(self) -> str:
        return "SecretRef('***')"

    def __reduce__(self) -> tuple[type[SecretRef], tuple[Any]]:
        return (SecretRef, (self._ref,))
