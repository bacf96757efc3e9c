"""Pure date helpers. Every function takes the reference day as an argument: the domain never
reads the clock, so the same facts give the same answer in a workflow, a test or a replay."""

from datetime import date


def age_on(birth_date: date, day: date) -> int:
    """Completed years of life on `day` (a person born on 29 Feb turns a year older on 1 Mar)."""
    had_birthday = (day.month, day.day) >= (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (0 if had_birthday else 1)


def days_between(start: date, end: date) -> int:
    """Calendar days from `start` to `end` (negative when `end` lies before `start`)."""
    return (end - start).days
