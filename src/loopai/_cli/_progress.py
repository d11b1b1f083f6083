"""How ``loopai batch run`` shows progress: a live bar on a terminal, status lines elsewhere.

The bar is tqdm's, on stderr; other messages go through it (`note`), and so
do log records while it is shown, so nothing garbles it.  Off a terminal
(a pipe, a CI log) a plain status line goes to stderr every few seconds.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from ..jobs import JobReport

__all__ = ["Display", "QuietDisplay", "StatusLines", "TerminalBar", "status_line", "summary_lines"]


class Display(Protocol):
    """Where a running job's progress and notes go."""

    def update(self, report: JobReport) -> None:
        """Show the job's state."""

    def note(self, text: str) -> None:
        """Show a message without garbling the display."""

    def close(self) -> None:
        """Stop showing progress (the summary comes after)."""


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def status_line(report: JobReport) -> str:
    """One line of progress: done of total, failed, items/s, ETA (pure)."""
    total = f"/{report.total:,}" if report.total is not None else ""
    percent = f" ({100 * report.done / report.total:.1f}%)" if report.total else ""
    eta = report.eta
    eta_text = f", ETA {_duration(eta)}" if eta is not None else ""
    return (
        f"loopai: {report.done:,}{total} done{percent}, {report.failed:,} failed,"
        f" {report.items_per_second:,.0f} items/s{eta_text}"
    )


def summary_lines(report: JobReport) -> list[str]:
    """The end-of-job summary (pure)."""
    kinds = ", ".join(
        f"{count:,} {kind}" for kind, count in sorted(report.failures.items(), key=lambda kv: -kv[1])
    )
    failed = f"{report.failed:,} failed" + (f" ({kinds})" if kinds else "")
    if report.stopped == "cancelled":
        head = "interrupted"
    elif report.stopped is not None:
        head = "stopped"
    else:
        head = "done"
    pace = f"{report.items_per_second:,.0f} items/s"
    lines = [
        f"loopai: {head} in {_duration(report.elapsed)}: {report.succeeded:,} succeeded, {failed}; {pace}"
    ]
    earlier = f"; {report.earlier:,} from an earlier run" if report.earlier else ""
    lines.append(f"loopai: {report.output} holds {report.done:,} result lines{earlier}")
    if report.stopped is not None and report.stopped != "cancelled":
        lines.append(f"loopai: {report.stopped}")
    if not report.complete:
        lines.append("loopai: run the same command again to resume")
    return lines


class QuietDisplay:
    """No progress at all (``--quiet``)."""

    def update(self, report: JobReport) -> None:
        """Nothing."""

    def note(self, text: str) -> None:
        """Nothing."""

    def close(self) -> None:
        """Nothing."""


class StatusLines:
    """A plain status line every ``interval`` seconds, for pipes and CI logs."""

    def __init__(self, stream: TextIO, interval: float) -> None:
        self._stream = stream
        self._interval = interval
        self._last = time.monotonic()

    def update(self, report: JobReport) -> None:
        """Print a status line if ``interval`` has passed since the last one."""
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            print(status_line(report), file=self._stream, flush=True)

    def note(self, text: str) -> None:
        """Print the message."""
        print(f"loopai: {text}", file=self._stream, flush=True)

    def close(self) -> None:
        """Nothing to clean up."""


_BAR = "{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} done{postfix} [{elapsed}<{remaining}, {rate_fmt}]"
_COUNTER = "{desc}{n_fmt} done{postfix} [{elapsed}, {rate_fmt}]"  # until the total is known


class TerminalBar:
    """tqdm's bar: done of total, failed, items/s, ETA."""

    def __init__(self, stream: TextIO) -> None:
        from tqdm import tqdm

        self._stream = stream
        from tqdm.contrib.logging import logging_redirect_tqdm

        self._bar = tqdm(
            total=None,
            unit=" items",
            file=stream,
            dynamic_ncols=True,
            mininterval=0.2,
            smoothing=0.1,
            bar_format=_COUNTER,
            desc="loopai ",
            postfix="0 failed",
        )
        self._started = False
        self._logging = contextlib.ExitStack()
        # Log records (LOOPAI_LOG=info shows retries) go above the bar, not through it.
        loggers = [logging.root, logging.getLogger("loopai")]
        self._logging.enter_context(logging_redirect_tqdm(loggers=loggers, tqdm_class=tqdm))

    def update(self, report: JobReport) -> None:
        """Move the bar to the report's counts."""
        bar = self._bar
        if not self._started:
            self._started = True
            bar.n = bar.last_print_n = report.earlier
            bar.initial = report.earlier
        if report.total is not None and bar.total != report.total:
            bar.total = report.total
            bar.bar_format = _BAR
        bar.set_postfix_str(f"{report.failed:,} failed", refresh=False)
        bar.update(report.done - bar.n)

    def note(self, text: str) -> None:
        """Print the message above the bar."""
        self._bar.write(f"loopai: {text}", file=self._stream)

    def close(self) -> None:
        """Draw the final state and leave the bar on screen."""
        self._logging.close()
        self._bar.close()
