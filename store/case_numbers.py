"""The human case numbers (domain/case_number.py): one counter per municipality and year, and
the number each case got, taken atomically when a case is opened.

`assign` is called by the API before it starts a case's workflow (api/casework.py, which
both `POST /cases` and the acceptance of an inbound referral go through), so the number is in
the workflow's input and its state; and by the projector for a case whose state has none (a
case opened before numbers existed, docs/architecture.md). A case id keeps the number it got
first: a retried open (same Idempotency-Key, same case id) gets it again, the counter does
not move.

Concurrent openings: the counter row is bumped by one `INSERT ... ON CONFLICT DO UPDATE ...
RETURNING`, which PostgreSQL runs under the row's lock (a second opener waits for the first
to commit and then reads its value) and SQLite under its database write lock; the counter and
the case's row commit together, so a rolled-back open gives its serial back.
"""

from datetime import date

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col

from domain.case_number import NUMBER_LENGTH, format_case_number
from store.db import dialect_insert
from store.models import SLUG_LENGTH, Municipality
from store.projections import ID_LENGTH


class CaseNumberCounter(SQLModel, table=True):
    """The last serial given in a municipality in a year."""

    __tablename__ = "case_number_counters"

    municipality_id: str = Field(primary_key=True, max_length=SLUG_LENGTH)
    year: int = Field(primary_key=True)
    last_serial: int = 0


class CaseNumber(SQLModel, table=True):
    """The number a case got (kept for good: a number is never given twice)."""

    __tablename__ = "case_numbers"

    case_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    number: str = Field(max_length=NUMBER_LENGTH, unique=True)


def assign(session: Session, case_id: str, municipality_id: str, opened_on: date) -> str:
    """The case's number: the one it has, or the municipality's next one for the year of
    `opened_on`, written in the session's transaction (the caller commits)."""
    # Nothing the session may hold unflushed changes these reads (numbers are written below,
    # at once), so they do not flush it: the projector numbers a case in the middle of a
    # transaction holding many rows.
    with session.no_autoflush:
        existing = session.get(CaseNumber, case_id)
        if existing is not None:
            return existing.number
        prefix = session.execute(
            select(col(Municipality.case_prefix)).where(col(Municipality.id) == municipality_id)
        ).scalar_one_or_none()
    if prefix is None:
        raise LookupError("municipality without a case prefix")
    insert = dialect_insert(session.get_bind())
    bump = (
        insert(CaseNumberCounter)
        .values(municipality_id=municipality_id, year=opened_on.year, last_serial=1)
        .on_conflict_do_update(
            index_elements=["municipality_id", "year"],
            set_={"last_serial": CaseNumberCounter.last_serial + 1},
        )
        .returning(CaseNumberCounter.last_serial)
    )
    serial = session.execute(bump).scalar_one()
    number = format_case_number(prefix, opened_on.year, serial)
    # At once, not at the next flush: a number taken twice fails here (assign_now retries).
    session.execute(insert(CaseNumber).values(case_id=case_id, number=number))
    return number


def assign_now(engine: Engine, case_id: str, municipality_id: str, opened_on: date) -> str:
    """`assign` in a transaction of its own. Two opens of the same case id at once (a retried
    request racing its original): the loser's insert fails on the case id and it reads the
    winner's number, its counter bump rolled back."""
    for attempt in range(2):
        try:
            with Session(engine) as session, session.begin():
                return assign(session, case_id, municipality_id, opened_on)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def number_of(engine: Engine, case_id: str) -> str | None:
    """The case's number (None: not numbered yet, see `assign`)."""
    with Session(engine) as session:
        found = session.get(CaseNumber, case_id)
        return found.number if found is not None else None
