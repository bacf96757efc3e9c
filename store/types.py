"""Column types the read model needs on both SQLite and PostgreSQL.

- `UTCDateTime`: every instant is stored in UTC and comes back timezone-aware. PostgreSQL keeps
  `timestamptz`; SQLite has no time zones, so there the value is stored as naive UTC text and
  made aware again on the way out. A naive datetime is refused on the way in: guessing its zone
  is how a review silently becomes due two hours early.
- `StrEnumType`: a `StrEnum` stored as its plain value in a VARCHAR. No native PostgreSQL enum
  (adding a value would need a migration per backend) and no member names in the database (the
  JSON payloads and the rule files carry the values, so the rows should too).

This module knows no tables; `models` and `projections` use it.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant, stored as UTC (see the module docstring)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: pass an aware UTC one")
        value = value.astimezone(UTC)
        # SQLite's DATETIME text has no offset; naive UTC text also keeps ORDER BY correct there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        # PostgreSQL answers in the session's time zone; callers always get UTC.
        return value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


# One generous width for every enum column: a new, longer enum value then needs no migration.
ENUM_LENGTH = 32


class StrEnumType(TypeDecorator[E]):
    """A `StrEnum` stored as its value in a VARCHAR(`ENUM_LENGTH`)."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int = ENUM_LENGTH) -> None:
        longest = max(len(member.value) for member in enum)
        if longest > length:
            raise ValueError(f"{enum.__name__} has a value of {longest} characters; {length} fit")
        self.enum = enum
        self.length = length
        super().__init__(length=length)

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        # Raises ValueError for a string that is no value of the enum: bad data never lands.
        return self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum(value)

    def __repr__(self) -> str:
        return f"StrEnumType({self.enum.__name__}, length={self.length})"
