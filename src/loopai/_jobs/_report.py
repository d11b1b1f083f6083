"""What a file job reports: while it runs (to a progress callback) and when it ends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["JobReport"]


@dataclass(frozen=True)
class JobReport:
    """The state of a file job: the whole output's counts and this run's pace.

    Attributes:
        output: The output file.
        total: Input lines with content (blank ones are skipped), once known;
            None for stdin until the input ends.
        earlier: Lines already in the output when this run started.
        succeeded: Succeeded lines in the output (earlier runs included).
        failed: Failed lines in the output (earlier runs included).
        failures: ``failed`` by kind of failure (``"program error"``,
            ``"invalid input line"``, ``"refused by the server"``, ...).
        sent: Items this run has sent (or is sending) to the server.
        elapsed: Seconds since this run started.
        stopped: Why the job stopped before the end (a chunk request failed
            after retries, or it was cancelled), or None.
        complete: Every input line has its result in the output.
    """

    output: str
    total: int | None
    earlier: int
    succeeded: int
    failed: int
    failures: Mapping[str, int] = field(default_factory=dict)
    sent: int = 0
    elapsed: float = 0.0
    stopped: str | None = None
    complete: bool = False

    @property
    def done(self) -> int:
        """Lines with a result in the output."""
        return self.succeeded + self.failed

    @property
    def done_this_run(self) -> int:
        """Lines this run added to the output."""
        return self.done - self.earlier

    @property
    def items_per_second(self) -> float:
        """This run's pace."""
        return self.done_this_run / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at this run's pace, when the total is known."""
        rate = self.items_per_second
        if self.total is None or rate <= 0:
            return None
        return max(self.total - self.done, 0) / rate
