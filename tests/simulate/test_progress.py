"""The simulation's progress display (simulate/progress.py): a rich bar on a terminal, plain
lines per simulated month elsewhere, nothing when quiet; all on stderr, and closed from a
`finally` after Ctrl-C without a traceback."""

import re
import threading
from datetime import date, timedelta
from io import StringIO

import pytest
from rich.console import Console

from simulate.progress import progress_bar

START = date(2011, 4, 1)
TOTAL_DAYS = 548
TARGET = 4000
# Any C0 control but the line feed, DEL, and C1 controls: what a bar redraws with.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _terminal() -> tuple[Console, StringIO]:
    screen = StringIO()
    return Console(file=screen, force_terminal=True, width=120, color_system="standard"), screen


def _refreshing() -> list[threading.Thread]:
    """rich's refresh threads still running, once they had time to see they were stopped
    (stop() signals its thread, which ends within one refresh interval)."""
    threads = [thread for thread in threading.enumerate() if "Refresh" in type(thread).__name__]
    for thread in threads:
        thread.join(timeout=2)
    return [thread for thread in threads if thread.is_alive()]


def test_without_a_terminal_it_writes_one_plain_line_per_month_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress = progress_bar(TOTAL_DAYS, TARGET, enabled=False)
    for offset in range(0, 70):
        day = START + timedelta(days=offset)
        progress.update(day, concluded=offset * 3, opened=offset * 4)
    progress.close()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert CONTROL.search(captured.err) is None
    lines = captured.err.splitlines()
    # April, May, June 2011 begin, and the last day is told when closed.
    assert lines == [
        "Simulation: 01.04.2011, Tag 1 von 548; "
        "Vereinbarungen abgeschlossen: 0 von 4.000, begonnen: 0",
        "Simulation: 01.05.2011, Tag 31 von 548; "
        "Vereinbarungen abgeschlossen: 90 von 4.000, begonnen: 120",
        "Simulation: 01.06.2011, Tag 62 von 548; "
        "Vereinbarungen abgeschlossen: 183 von 4.000, begonnen: 244",
        "Simulation: 09.06.2011, Tag 70 von 548; "
        "Vereinbarungen abgeschlossen: 207 von 4.000, begonnen: 276",
    ]


def test_quiet_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    progress = progress_bar(TOTAL_DAYS, TARGET, enabled=False, monthly=False)
    progress.update(START, concluded=1, opened=2)
    progress.close()
    assert capsys.readouterr() == ("", "")


def test_on_a_terminal_the_bar_shows_the_days_and_agreements_of_their_totals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    console, screen = _terminal()
    progress = progress_bar(TOTAL_DAYS, TARGET, enabled=True, start=START, console=console)
    progress.update(START + timedelta(days=99), concluded=1234, opened=1500)
    progress.close()
    shown = screen.getvalue()
    assert "\x1b[" in shown  # drawn as a terminal bar
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    assert "Simulierte Tage" in plain
    assert "100 von 548 · 09.07.2011" in plain
    assert "1.234 von 4.000 abgeschlossen · 1.500 begonnen" in plain
    assert capsys.readouterr().out == ""  # stdout stays the summary's
    assert _refreshing() == []


def test_the_default_bar_draws_on_stderr_not_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    progress = progress_bar(TOTAL_DAYS, TARGET, enabled=True)
    progress.update(START, concluded=0, opened=1)
    progress.close()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Simulierte Tage" in captured.err


def test_closing_after_ctrl_c_in_a_finally_raises_nothing_and_stops_the_bar() -> None:
    console, screen = _terminal()
    progress = progress_bar(TOTAL_DAYS, TARGET, enabled=True, start=START, console=console)
    with pytest.raises(KeyboardInterrupt):
        try:
            for offset in range(TOTAL_DAYS):
                progress.update(START + timedelta(days=offset), concluded=offset, opened=offset)
                if offset == 40:
                    raise KeyboardInterrupt
        finally:
            progress.close()
    progress.close()  # twice is harmless: the driver's cleanup may run after its own
    progress.update(START, concluded=0, opened=0)  # and a late report draws nothing
    assert _refreshing() == []
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert "41 von 548" in plain
