"""Working days skip weekends and the public holidays of the municipality's Land."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.workdays import add_working_days, is_working_day, land_code, nth_working_day_back

BERLIN_WINTER = timezone(timedelta(hours=1))
BERLIN_SUMMER = timezone(timedelta(hours=2))


def test_one_working_day_after_a_friday_is_the_monday() -> None:
    friday = datetime(2026, 11, 20, 10, 0, tzinfo=BERLIN_WINTER)
    assert add_working_days(friday, 1, "NW") == datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN_WINTER)


def test_five_working_days_are_one_calendar_week_without_holidays() -> None:
    wednesday = datetime(2026, 11, 11, 14, 30, tzinfo=UTC)
    assert add_working_days(wednesday, 5, "BE") == datetime(2026, 11, 18, 14, 30, tzinfo=UTC)


def test_easter_skips_good_friday_and_easter_monday_and_keeps_the_wall_clock_time() -> None:
    # Friday 27 March 2026, 10:00 in Germany (CET); summer time starts on Sunday 29 March.
    dispatched = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
    # Mon 30, Tue 31, Wed 1, Thu 2 | Good Friday 3, Easter Monday 6 | Tue 7 April, 10:00 CEST.
    assert add_working_days(dispatched, 5, "BE") == datetime(2026, 4, 7, 8, 0, tzinfo=UTC)


def test_corpus_christi_is_a_holiday_in_north_rhine_westphalia_but_not_in_berlin() -> None:
    # Friday before Whit Monday (25 May 2026); Corpus Christi is Thursday 4 June 2026.
    friday = datetime(2026, 5, 22, 9, 0, tzinfo=BERLIN_SUMMER)
    assert add_working_days(friday, 5, "NW") == datetime(2026, 6, 1, 9, 0, tzinfo=BERLIN_SUMMER)
    assert add_working_days(friday, 10, "BE") == datetime(2026, 6, 8, 9, 0, tzinfo=BERLIN_SUMMER)
    assert add_working_days(friday, 10, "NW") == datetime(2026, 6, 9, 9, 0, tzinfo=BERLIN_SUMMER)
    assert not is_working_day(date(2026, 6, 4), "NW")
    assert is_working_day(date(2026, 6, 4), "BE")


def test_a_start_on_a_weekend_counts_from_the_next_working_day() -> None:
    saturday = datetime(2026, 11, 21, 12, 0, tzinfo=BERLIN_WINTER)
    assert add_working_days(saturday, 1, "HH") == datetime(
        2026, 11, 23, 12, 0, tzinfo=BERLIN_WINTER
    )


def test_the_german_date_counts_not_the_utc_date() -> None:
    # Thursday 23:30 UTC is Friday 00:30 in Germany: one working day later is Monday 00:30,
    # which is Sunday 23:30 UTC (counting UTC dates would give Friday).
    late_thursday = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)
    assert add_working_days(late_thursday, 1, "NW") == datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    # Sunday 23:30 UTC is Monday 00:30 in Germany; plus one working day is Tuesday 00:30,
    # which is Monday 23:30 UTC.
    late_sunday = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)
    assert add_working_days(late_sunday, 1, "NW") == datetime(2026, 11, 16, 23, 30, tzinfo=UTC)


def test_the_turn_of_the_year_uses_the_next_years_holidays() -> None:
    # Christmas (25, 26), New Year (1 Jan 2027) and Epiphany (6 Jan, Bavaria only).
    dispatched = datetime(2026, 12, 23, 8, 0, tzinfo=UTC)
    # Thu 24, Mon 28, Tue 29, Wed 30, Thu 31, Mon 4, Tue 5, Wed 6 (a holiday only in BY).
    assert add_working_days(dispatched, 8, "NW") == datetime(2027, 1, 6, 8, 0, tzinfo=UTC)
    assert add_working_days(dispatched, 8, "BY") == datetime(2027, 1, 7, 8, 0, tzinfo=UTC)


def test_a_naive_datetime_is_german_wall_clock_time() -> None:
    assert add_working_days(datetime(2026, 5, 22, 9, 0), 1, "BE") == datetime(2026, 5, 26, 9, 0)


def test_zero_working_days_is_the_start_itself() -> None:
    start = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert add_working_days(start, 0, "NW") == start


@pytest.mark.parametrize("land", ["NW", "nw", "DE-NW", " de-nw "])
def test_land_codes_accept_the_iso_spellings(land: str) -> None:
    assert land_code(land) == "NW"


def test_an_unknown_land_is_rejected_in_german() -> None:
    with pytest.raises(ValueError, match="kein Bundesland"):
        add_working_days(datetime(2026, 1, 5, tzinfo=UTC), 1, "Augsburg")


def test_counting_working_days_back_includes_the_day_itself_when_it_is_one() -> None:
    monday, saturday = date(2026, 11, 23), date(2026, 11, 21)
    assert nth_working_day_back(monday, 1, "NW") == monday
    assert nth_working_day_back(monday, 2, "NW") == date(2026, 11, 20)  # the Friday before
    assert nth_working_day_back(saturday, 1, "NW") == date(2026, 11, 20)
    # Easter: Tuesday 7 April 2026 back over Easter Monday and Good Friday.
    assert nth_working_day_back(date(2026, 4, 7), 3, "BE") == date(2026, 4, 1)
    with pytest.raises(ValueError):
        nth_working_day_back(monday, 0, "NW")


@pytest.mark.parametrize("days", [1, 5, 20])
def test_counting_back_mirrors_adding_working_days(days: int) -> None:
    """`add_working_days(start, n)` falls on `day` or earlier exactly when `start` lies on a
    day before `nth_working_day_back(day, n)`: over two months around Easter and Whitsun."""
    first = date(2026, 3, 1)
    for offset in range(70):
        day = first + timedelta(days=offset)
        back = nth_working_day_back(day, days, "NW")
        for start_offset in range(-40, 1):
            start_day = day + timedelta(days=start_offset)
            start = datetime(start_day.year, start_day.month, start_day.day, 15, 0)
            assert (add_working_days(start, days, "NW").date() <= day) == (start_day < back)
