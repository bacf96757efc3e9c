"""How far `lotse simulate` is: simulated days (of the period) and agreements concluded (of the
model project's target), on stderr, so that stdout's last line stays the run's JSON summary.

On a terminal a rich progress bar redraws in place. Elsewhere (a pipe, a CI log) a bar's
control characters would be noise, so it is one plain German line per simulated month, or
nothing at all (`--quiet`). Either closes from a `finally` after Ctrl-C without raising, and
closing twice is harmless: the driver's cleanup must not turn an interrupt into a traceback.

Only counts and days are shown: no case, no name.
"""

import sys
from datetime import date
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from api.ui.evaluation_view import german_int
from api.ui.web import german_date


class Progress(Protocol):
    """What the driver reports to, after each simulated step."""

    def update(self, day: date, concluded: int, opened: int) -> None: ...

    def close(self) -> None: ...


def _of(done: int, total: int) -> str:
    return f"{german_int(done)} von {german_int(total)}"


class _Days:
    """The day number of a simulated date: the first day is 1, and no more than the total."""

    def __init__(self, total_days: int, start: date | None) -> None:
        self.total_days = total_days
        self.start = start

    def number(self, day: date) -> int:
        if self.start is None:
            self.start = day  # the driver's first report is the period's first day
        return max(0, min(self.total_days, (day - self.start).days + 1))


class Silent:
    """No display (`--quiet`)."""

    def update(self, day: date, concluded: int, opened: int) -> None:
        return None

    def close(self) -> None:
        return None


class MonthlyLines:
    """One plain line per simulated month on `stream` (sys.stderr when None, looked up when
    written, so a redirected stderr is honoured), and the last state when closed."""

    def __init__(
        self,
        total_days: int,
        target_agreements: int,
        *,
        start: date | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self._days = _Days(total_days, start)
        self._target = target_agreements
        self._stream = stream
        self._month: tuple[int, int] | None = None
        # The last report not written yet: formatted only when written (a run reports
        # thousands of steps; a line a month).
        self._pending: tuple[date, int, int] | None = None

    def update(self, day: date, concluded: int, opened: int) -> None:
        month = (day.year, day.month)
        if month != self._month:
            self._month = month
            self._pending = None
            self._write(self._line(day, concluded, opened))
        else:
            self._pending = (day, concluded, opened)

    def close(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._write(self._line(*pending))

    def _line(self, day: date, concluded: int, opened: int) -> str:
        days = _of(self._days.number(day), self._days.total_days)
        return (
            f"Simulation: {german_date(day)}, Tag {days}; "
            f"Vereinbarungen abgeschlossen: {_of(concluded, self._target)}, "
            f"begonnen: {german_int(opened)}"
        )

    def _write(self, line: str) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        print(line, file=stream, flush=True)


class Bar:
    """rich's progress bar: two lines, the simulated days and the concluded agreements."""

    def __init__(
        self,
        total_days: int,
        target_agreements: int,
        *,
        start: date | None = None,
        console: Console | None = None,
    ) -> None:
        self._days = _Days(total_days, start)
        self._target = target_agreements
        self._closed = False
        self._shown: tuple[date, int, int] | None = None
        self._progress = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[shown]}"),
            TimeElapsedColumn(),
            console=console if console is not None else Console(stderr=True),
            # Whatever the driver prints to stdout goes to stdout, not above the bar on stderr.
            redirect_stdout=False,
            refresh_per_second=4,
        )
        self._day_task: TaskID = self._progress.add_task(
            "Simulierte Tage", total=max(1, total_days), shown=_of(0, total_days)
        )
        self._agreement_task: TaskID = self._progress.add_task(
            "Vereinbarungen", total=max(1, target_agreements), shown=_of(0, target_agreements)
        )
        self._progress.start()

    def update(self, day: date, concluded: int, opened: int) -> None:
        # The driver reports every step, many a day: redraw only what changed.
        if self._closed or (day, concluded, opened) == self._shown:
            return
        self._shown = (day, concluded, opened)
        number = self._days.number(day)
        self._progress.update(
            self._day_task,
            completed=number,
            shown=f"{_of(number, self._days.total_days)} · {german_date(day)}",
        )
        self._progress.update(
            self._agreement_task,
            completed=min(concluded, self._target),
            shown=f"{_of(concluded, self._target)} abgeschlossen · {german_int(opened)} begonnen",
        )

    def close(self) -> None:
        """Stop the refresh thread and leave the last state on screen; safe after Ctrl-C."""
        if self._closed:
            return
        self._closed = True
        self._progress.stop()


def progress_bar(
    total_days: int,
    target_agreements: int,
    *,
    enabled: bool,
    monthly: bool = True,
    start: date | None = None,
    console: Console | None = None,
    stream: TextIO | None = None,
) -> Progress:
    """A bar on stderr when `enabled` (a terminal, not `--quiet`); otherwise one line per
    simulated month to stderr, or nothing when `monthly` is False. `start` is the period's
    first day (default: the first day reported); `console` and `stream` replace stderr."""
    if enabled:
        return Bar(total_days, target_agreements, start=start, console=console)
    if monthly:
        return MonthlyLines(total_days, target_agreements, start=start, stream=stream)
    return Silent()
