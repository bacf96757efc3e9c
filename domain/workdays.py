"""Working-day arithmetic for referral clocks: weekends and the public holidays of a German
Land are not working days.

Pure: the holiday calendar comes from the `holidays` package (no clock, no I/O), so a workflow
can call it and get the same answer on replay. Days are counted on the
German calendar (Europe/Berlin), not in UTC: a referral sent on Friday at 23:30 UTC was sent
on Saturday in Germany.
"""

import functools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from holidays.countries.germany import Germany

from domain.clocks import Clocks

GERMAN_TIME = ZoneInfo("Europe/Berlin")

# The Länder by their ISO 3166-2 code without the "DE-" prefix. The `holidays` package also
# knows a few cities (e.g. Augsburg); a municipality is configured by its Land only.
# A case or municipality whose Land is not known (older data) counts the holidays of this one.
DEFAULT_LAND = "NW"
LAENDER = frozenset(
    ("BB", "BE", "BW", "BY", "HB", "HE", "HH", "MV", "NI", "NW", "RP", "SH", "SL", "SN", "ST", "TH")
)


def land_code(land: str) -> str:
    """`NW`, `nw` or `DE-NW` -> `NW`; anything else is a ValueError a person can act on."""
    code = land.strip().upper().removeprefix("DE-")
    if code not in LAENDER:
        raise ValueError(
            f"'{land}' ist kein Bundesland-Kürzel nach ISO 3166-2 "
            f"(erwartet eines von {', '.join(sorted(LAENDER))})."
        )
    return code


def is_working_day(day: date, land: str) -> bool:
    """Monday to Friday and not a public holiday in `land`."""
    return day.weekday() < 5 and day not in _holidays(land_code(land), day.year)


def add_working_days(start: datetime, days: int, land: str) -> datetime:
    """The instant `days` working days after `start`, at the same German wall-clock time.

    Counting starts with the day after `start`: Friday 10:00 plus one working day is Monday
    10:00 (or Tuesday when Monday is a holiday); a start on a weekend or holiday counts from the
    next working day as well. An aware `start` gives an aware result in the same time zone
    (the wall time is kept across a change to or from summer time); a naive `start` is taken to
    be German wall-clock time.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    code = land_code(land)
    local = start.astimezone(GERMAN_TIME) if start.tzinfo is not None else start
    day = local.date()
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in _holidays(code, day.year):
            remaining -= 1
    result = datetime.combine(day, local.time())
    if start.tzinfo is None:
        return result
    # Summer time starts and ends on a Sunday, so the wall-clock time of a working day always
    # names exactly one instant.
    return result.replace(tzinfo=GERMAN_TIME).astimezone(start.tzinfo)


def nth_working_day_back(day: date, days: int, land: str) -> date:
    """The `days`-th working day counted back from `day`, `day` itself included when it is one
    (Monday, 1 -> that Monday; Saturday, 1 -> the Friday before). The mirror of
    `add_working_days` on dates: the `days`-th working day after `start` falls on or before
    `day` exactly when `start` lies on a day before this one."""
    if days < 1:
        raise ValueError("days must be at least 1")
    code = land_code(land)
    remaining = days
    while True:
        if day.weekday() < 5 and day not in _holidays(code, day.year):
            remaining -= 1
            if remaining == 0:
                return day
        day -= timedelta(days=1)


def working_deadline(start: datetime, days: int, land: str, clocks: Clocks) -> datetime:
    """`days` working days after `start`; with the test-only `working_day_override` a working
    day is that fixed duration and the calendar is ignored (the dev server cannot skip time)."""
    if clocks.working_day_override is not None:
        return start + days * clocks.working_day_override
    return add_working_days(start, days, land)


@functools.lru_cache(maxsize=len(LAENDER) * 8)
def _holidays(land: str, year: int) -> frozenset[date]:
    # The dates depend only on the arguments (and the installed package version, which is why
    # a workflow computes its deadlines once and keeps them), so one process computes a Land's
    # year once: building the calendar was most of a referral's start (bench/lifecycle.py).
    # A frozenset, not the package's calendar object, which adds years to itself when asked
    # about a date outside them. The class itself, not `holidays.country_holidays`, which
    # imports lazily (inside the workflow sandbox that re-imports the package). A fixed
    # language: otherwise the package picks holiday names from the process's locale settings.
    return frozenset(Germany(subdiv=land, years=year, language="de"))
