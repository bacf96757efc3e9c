"""When simulated people act: German working days and times of day, placed so that no action
falls on the same minute of the hour as a deadline of its case.

Why the minute matters: the temporal engine's instants carry the milliseconds of real time the
time-skipping server spends (an action meant for 10:20:00 happens at 10:20:00.04), the core
engine's do not. The evaluation counts whole hours and days between instants (hours to
acknowledge, days from a review's date to its recording), so a difference of exactly whole
hours would round one way in one engine and the other way in the other. Every action is kept
at least `MARGIN` away from each known instant of its case modulo an hour, and both engines
agree to the minute.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from domain.case import CaseState
from domain.workdays import GERMAN_TIME, is_working_day

MARGIN = timedelta(seconds=90)  # not a whole minute: instants are whole minutes plus milliseconds
SHIFT = timedelta(minutes=7)
HOUR = timedelta(hours=1)


def at_german(day: date, clock: time) -> datetime:
    """`day` at the German wall-clock time `clock`, as a UTC instant."""
    return datetime.combine(day, clock).replace(tzinfo=GERMAN_TIME).astimezone(UTC)


def working_day_on_or_after(day: date, land: str) -> date:
    while not is_working_day(day, land):
        day += timedelta(days=1)
    return day


def add_working(day: date, days: int, land: str) -> date:
    """The `days`-th working day after `day` (0: `day` itself, or the next working day)."""
    day = working_day_on_or_after(day, land)
    while days > 0:
        day += timedelta(days=1)
        if is_working_day(day, land):
            days -= 1
    return day


def german_date(instant: datetime) -> date:
    return instant.astimezone(GERMAN_TIME).date()


def _too_close(instant: datetime, other: datetime) -> bool:
    offset = (instant - other) % HOUR
    return offset < MARGIN or HOUR - offset < MARGIN


def placed(instant: datetime, avoid: Iterable[datetime]) -> datetime:
    """`instant`, moved on by seven minutes at a time until it keeps clear of every instant
    in `avoid` modulo an hour."""
    known = list(avoid)
    for _ in range(20):
        if not any(_too_close(instant, other) for other in known):
            return instant
        instant += SHIFT
    return instant


def case_instants(state: CaseState) -> list[datetime]:
    """The instants of a case an action might be measured against: its review date (the
    reminder and the overdue flag share its minute), its referrals' dispatches and deadlines,
    its activation and its reviews."""
    found: list[datetime] = []
    if state.next_review_due is not None:
        found.append(state.next_review_due)
    if state.activated_at is not None:
        found.append(state.activated_at)
    for referral in state.referrals:
        found.append(referral.dispatched_at)
        if referral.deadlines is not None:
            found.append(referral.deadlines.acknowledge_by)
    return found
