"""Calendar-month arithmetic and the German calendar day for the case clocks.

Reviews are due "3 months" and "at most 6 months" later: calendar months on the German
calendar, not 90 or 180 days. Pure: the instant is always passed in, never read.
"""

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Loaded once at import: the domain is passed through the workflow sandbox, so the workflow
# never reads the time zone database itself.
GERMAN_TIME = ZoneInfo("Europe/Berlin")


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months; a day the target month lacks becomes its last day
    (31 Jan + 1 month = 28/29 Feb, 31 Aug + 6 months = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_months_at(instant: datetime, months: int) -> datetime:
    """`instant` moved by calendar months on the German wall clock, as a UTC instant (the same
    time of day in Germany, whatever daylight saving did in between)."""
    local = instant.astimezone(GERMAN_TIME)
    moved = add_months(local.date(), months)
    return datetime.combine(moved, local.time(), GERMAN_TIME).astimezone(UTC)


def german_day(instant: datetime) -> date:
    """The calendar day `instant` falls on in Germany (23:30 UTC on a Friday is Saturday)."""
    return instant.astimezone(GERMAN_TIME).date()


def start_of_german_day(day: date) -> datetime:
    """Midnight at the start of `day` in Germany, as a UTC instant."""
    return datetime.combine(day, time(0), GERMAN_TIME).astimezone(UTC)


def later_by(instant: datetime, months: int, override: timedelta | None) -> datetime:
    """`months` calendar months after `instant`, or `override` when a test shortened the clock."""
    if override is not None:
        return instant + override
    return add_months_at(instant, months)


def start_of_german_month(instant: datetime) -> datetime:
    """The first instant (UTC) of the German calendar month `instant` falls in: the month an
    evaluation counts it in (23:30 UTC on 31 March is April in Germany)."""
    local = instant.astimezone(GERMAN_TIME)
    return start_of_german_day(date(local.year, local.month, 1))
