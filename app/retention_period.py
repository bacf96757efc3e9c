"""A retention period as the settings give it: an ISO 8601 calendar duration `PnYnMnD`
(`P3Y`, `P6M`, `P1Y6M`, `P30D`), counted in the calendar (three years from 29 February end on
28 February), not as a fixed number of seconds.

No ISO-duration library is installed (isodate, pendulum); pydantic's own `timedelta` parsing
turns a year into 365 days, which drifts by leap days. So this reads the three calendar parts
strictly and leaves the arithmetic to dateutil's `relativedelta`. Times of day (`PT…`) and
weeks are refused: a retention is counted in days.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from dateutil.relativedelta import relativedelta

# ASCII digits only (`\d` would take "٣"), and no whitespace or control character around it.
_PERIOD = re.compile(
    r"P(?:(?P<years>[0-9]{1,3})Y)?(?:(?P<months>[0-9]{1,4})M)?(?:(?P<days>[0-9]{1,5})D)?"
)


@dataclass(frozen=True)
class RetentionPeriod:
    years: int = 0
    months: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str, setting: str) -> "RetentionPeriod":
        """`text` as a period; a ValueError in German naming `setting` (the environment
        variable) when it is no `PnYnMnD` or is empty (P0D would erase every closed case)."""
        match = _PERIOD.fullmatch(text)
        if match is None or not any(match.groupdict().values()):
            raise ValueError(
                f"{setting} muss eine Dauer nach ISO 8601 in Jahren, Monaten und Tagen sein, "
                "z. B. P3Y, P6M oder P1Y6M"
            )
        period = cls(**{key: int(value or 0) for key, value in match.groupdict().items()})
        if period == cls():
            raise ValueError(f"{setting} muss länger als null Tage sein")
        return period

    def before(self, now: datetime) -> datetime:
        """The instant this period before `now`: what closed earlier has expired."""
        return now - relativedelta(years=self.years, months=self.months, days=self.days)

    def __str__(self) -> str:
        parts = ((self.years, "Y"), (self.months, "M"), (self.days, "D"))
        return "P" + "".join(f"{value}{unit}" for value, unit in parts if value)
