"""German formats on the pages (api/ui/formats.py): dates, times, numbers, percentages and
plurals as Babel says them in German, and the templates' filters that use them."""

from datetime import UTC, date, datetime

import pytest

from api.ui import formats
from api.ui.web import templates

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (date(2027, 2, 28), "28.02.2027"),
        # An instant is the day in Germany: 23:30 UTC on New Year's Eve is already 1 January.
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "01.01.2027"),
        ("2027-02-28", "28.02.2027"),  # an event's data carries ISO text
        ("2027-02-28T10:00:00+00:00", "28.02.2027"),
        (None, "—"),
    ],
)
def test_dates_are_german(value: date | datetime | str | None, shown: str) -> None:
    assert formats.german_date(value) == shown


def test_times_are_german_in_german_time() -> None:
    summer = datetime(2026, 7, 1, 12, 5, tzinfo=UTC)
    assert formats.german_datetime(summer) == "01.07.2026 14:05"
    assert formats.german_datetime("2026-12-01T13:30:00+00:00") == "01.12.2026 14:30"
    assert formats.german_datetime(None) == "—"


@pytest.mark.parametrize(
    ("share", "shown"),
    [(1.0, "100 %"), (0.592, "59,2 %"), (0.5, "50 %"), (0.0, "0 %"), (0.12345, "12,3 %")],
)
def test_percentages_have_a_decimal_comma_and_no_needless_zero(share: float, shown: str) -> None:
    assert formats.percent(share) == shown.replace(" ", NBSP)


def test_numbers_have_a_thousands_point_and_a_decimal_comma() -> None:
    assert formats.number(1234) == "1.234"
    assert formats.number(1234567) == "1.234.567"
    assert formats.number(2.5, 1) == "2,5"
    assert formats.number(3.0, 1) == "3"
    assert formats.number(None) == "—"


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, "0 Fälle"), (1, "1 Fall"), (2, "2 Fälle"), (1000, "1.000 Fälle")],
)
def test_plurals_follow_the_count(count: int, shown: str) -> None:
    assert formats.plural(count, "Fall", "Fälle") == shown


def test_the_templates_use_the_filters() -> None:
    page = templates.from_string(
        "{{ 1 | plural('Überprüfung', 'Überprüfungen') }} in {{ 1 | plural('Fall', 'Fällen') }}"
        " · {{ 1.0 | percent }} · {{ ['ar', 'prs'] | language_names }} · {{ 'SY' | country_name }}"
        " · {{ '2027-02-28' | date }}"
    )
    assert page.render() == (
        f"1 Überprüfung in 1 Fall · 100{NBSP}% · Arabisch, Dari · Syrien · 28.02.2027"
    )
