"""German formats for the pages: dates, times, numbers, percentages, plurals, and the German
names of stored language and country codes, as Jinja filters.

One place, through Babel (CLDR's German), so no template or view formats a number or a date by
hand: „1.234“, „59,2 %“, „100 %“, „1 Überprüfung“, „01.12.2026“. `register` puts them on the
pages' environment. Display only: nothing here may feed a decision or a stored value.
"""

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from babel.plural import PluralRule
from jinja2 import Environment

from domain import languages
from domain.months import GERMAN_TIME

LOCALE = "de_DE"
_DATE = "dd.MM.yyyy"
_DATETIME = "dd.MM.yyyy HH:mm"
# German (CLDR): "one" for exactly 1 without decimals, "other" for everything else.
_PLURAL = PluralRule({"one": "i = 1 and v = 0"})
_EMPTY = "—"

Number = int | float | Decimal


def _day(value: date | datetime | str) -> date | datetime:
    """An ISO text (an event's data carries instants as text) read as the date or instant."""
    if isinstance(value, str):
        text = value.strip()
        return datetime.fromisoformat(text) if len(text) > 10 else date.fromisoformat(text)
    return value


def german_date(value: date | datetime | str | None) -> str:
    """„01.12.2026“; an instant as its day in Germany; „—“ for none."""
    if value is None or value == "":
        return _EMPTY
    day = _day(value)
    if isinstance(day, datetime):
        day = day.astimezone(GERMAN_TIME).date() if day.tzinfo else day.date()
    return format_date(day, _DATE, locale=LOCALE)


def german_datetime(value: datetime | str | None) -> str:
    """„01.12.2026 14:30“ in German time; „—“ for none."""
    if value is None or value == "":
        return _EMPTY
    instant = _day(value)
    if not isinstance(instant, datetime):
        return german_date(instant)
    return format_datetime(instant, _DATETIME, tzinfo=GERMAN_TIME, locale=LOCALE)


def number(value: Number | None, digits: int = 0) -> str:
    """„1.234“, „3,5“ (at most `digits` decimals, none shown when they are zero)."""
    if value is None:
        return _EMPTY
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, pattern, locale=LOCALE)


def percent(share: Number | None, digits: int = 1) -> str:
    """A share of 1 as German percent: 1.0 → „100 %“, 0.592 → „59,2 %“."""
    if share is None:
        return _EMPTY
    pattern = "#,##0" + ("." + "#" * digits if digits else "") + "\u00a0%"
    return format_percent(share, pattern, locale=LOCALE)


def plural(count: Number, one: str, other: str) -> str:
    """The count with the right form of its noun: „1 Überprüfung“, „3 Überprüfungen“."""
    word = one if _PLURAL(count) == "one" else other
    return f"{number(count, 2)} {word}"


def register(environment: Environment) -> None:
    """The filters (`date`, `datetime`, `number`, `percent`, `plural`, `language_names`,
    `country_name`) and the pickers' tables (`pickers`) on `environment`."""
    environment.filters["date"] = german_date
    environment.filters["datetime"] = german_datetime
    environment.filters["number"] = number
    environment.filters["percent"] = percent
    environment.filters["plural"] = plural
    environment.filters["language_names"] = languages.language_names
    environment.filters["language_name"] = languages.language_name
    environment.filters["country_name"] = languages.country_name
    environment.globals["pickers"] = languages
