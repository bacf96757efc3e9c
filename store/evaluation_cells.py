"""The evaluation's monthly cells: the report's figures counted once per municipality, centre
and German calendar month, so that a report over many months reads a few thousand small rows
instead of millions of facts (migration 0011; issue 13's "incrementally maintained aggregates").

A cell is a pure function of the facts (store/facts.py and the evaluation's columns of
`reviews`, `referrals`, `inbound_referrals`, `referral_notes`). It is never adjusted by +1 and
-1: a write that changes what a month counts marks that (municipality, month) stale
(`mark_stale`, in the writer's own transaction), and the next report that needs the month
counts it again from the facts (store/evaluation_cells_build.py). So a replayed event, a
backfill or a crash between two writes can never leave a cell wrong, and the report stays
exactly what the facts say (tests compare it with the count over the facts).

What a cell holds, keyed by the centre that held the case (as the facts are) but for the
hours:
- `evaluation_counts`: additive figures (agreements concluded, reviews due and on time,
  closures by reason, needs, rule hits, inbound referrals by partner kind and status,
  referrals by partner kind and what became of them), by `figure` and `item`;
- `evaluation_acknowledge_hours`: the hours to acknowledgement, a histogram per partner kind
  (for the median), of the whole municipality (a report for one centre counts its referrals'
  hours from the facts: per-centre histograms would be most of the cells' rows);
- `evaluation_survey`: the reviews recorded in the month, counted by their answers and by the
  month of the case's next review (anywhere, and at the same centre): a review is a client's
  last one in a period exactly when the next came after the period;
- `evaluation_partners`: which partners acted in the network that month.

Like the facts these rows hold ids, kinds, months and counts, never a person.
"""

import contextlib
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, Session, SQLModel

from domain.months import start_of_german_month
from store.db import dialect_insert
from store.models import SLUG_LENGTH
from store.types import UTCDateTime


class EvaluationCount(SQLModel, table=True):
    """One additive figure of one centre in one month (`figure`, and the kind, reason or rule
    it is counted by in `item`; "" when the figure has none)."""

    __tablename__ = "evaluation_counts"

    municipality_id: str = Field(primary_key=True, max_length=SLUG_LENGTH)
    month: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    centre_id: str = Field(primary_key=True, max_length=SLUG_LENGTH)
    figure: str = Field(primary_key=True, max_length=32)
    item: str = Field(primary_key=True, max_length=120)
    value: int


class EvaluationAcknowledgeHours(SQLModel, table=True):
    """How many referrals the municipality dispatched in the month were acknowledged after
    `hours` hours (all its centres: one centre's figures count its referrals' hours from the
    facts, store/reads/evaluation_cells.py)."""

    __tablename__ = "evaluation_acknowledge_hours"

    municipality_id: str = Field(primary_key=True, max_length=SLUG_LENGTH)
    month: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    actor_kind: str = Field(primary_key=True, max_length=32)
    hours: int = Field(primary_key=True)
    referrals: int


class EvaluationSurvey(SQLModel, table=True):
    """The reviews recorded in the month with these answers whose case's next review came in
    `next_month` (null: none yet) and whose next review at the same centre came in
    `next_here_month`, with the goals' statuses after them, summed."""

    __tablename__ = "evaluation_survey"
    __table_args__ = (Index("ix_evaluation_survey_cell", "municipality_id", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    municipality_id: str = Field(max_length=SLUG_LENGTH)
    month: datetime = Field(sa_type=UTCDateTime)
    centre_id: str = Field(max_length=SLUG_LENGTH)
    next_month: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_here_month: datetime | None = Field(default=None, sa_type=UTCDateTime)
    agreement_helped: bool | None = None
    easier_to_keep_at_it: bool | None = None
    clients: int
    goals_open: int
    goals_in_progress: int
    goals_achieved: int
    goals_dropped: int


class EvaluationPartner(SQLModel, table=True):
    """A partner acted in the month on a referral of this centre (or referred a client to it)."""

    __tablename__ = "evaluation_partners"

    municipality_id: str = Field(primary_key=True, max_length=SLUG_LENGTH)
    month: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    centre_id: str = Field(primary_key=True, max_length=SLUG_LENGTH)
    partner_id: str = Field(primary_key=True, max_length=SLUG_LENGTH)


class EvaluationStaleMonth(SQLModel, table=True):
    """A municipality's month whose cells no longer match its facts (or were never counted)."""

    __tablename__ = "evaluation_stale_months"

    municipality_id: str = Field(primary_key=True, max_length=SLUG_LENGTH)
    month: datetime = Field(primary_key=True, sa_type=UTCDateTime)


CELL_TABLES: tuple[type[SQLModel], ...] = (
    EvaluationCount,
    EvaluationAcknowledgeHours,
    EvaluationSurvey,
    EvaluationPartner,
)


# The session's marks kept for the end of `marked_at_end`.
_DEFERRED = "lotse_stale_deferred"


@contextlib.contextmanager
def marked_at_end(session: Session) -> Iterator[None]:
    """Within it, `mark_stale` only collects the months; they are marked when it ends, in one
    statement (the projector's: a batch marks many, most of them more than once). Nothing is
    marked when it ends by an exception (the caller's transaction is rolled back then)."""
    marks: set[tuple[str, datetime]] = set()
    session.info[_DEFERRED] = marks
    try:
        yield
    finally:
        del session.info[_DEFERRED]
    _mark(session, marks)


def mark_stale(session: Session, municipality_id: str, instants: Iterable[datetime | None]) -> None:
    """The months of `instants` (None: ignored) of the municipality are to be counted again.
    Part of the caller's transaction, so the mark commits with the facts it is about; a month
    is marked once per transaction. An INSERT that skips a month already marked: projections
    of two cases of the same month mark it at the same time."""
    months = {(municipality_id, start_of_german_month(at)) for at in instants if at is not None}
    deferred: set[tuple[str, datetime]] | None = session.info.get(_DEFERRED)
    if deferred is not None:
        deferred.update(months)
    else:
        _mark(session, months)


def _mark(session: Session, marks: set[tuple[str, datetime]]) -> None:
    """Mark these (municipality, month) pairs stale, in one statement; each pair once per
    transaction."""
    # The transaction itself, not its id(): an id can come again once a transaction is gone,
    # and a month marked in one rolled back would then be skipped in the next.
    transaction = session.get_transaction()
    known: set[tuple[str, datetime]]
    owner, known = session.info.get("lotse_stale_months", (None, set()))
    if owner is not transaction:
        known = set()
        session.info["lotse_stale_months"] = (transaction, known)
    new = sorted(mark for mark in marks if mark not in known and mark[0])
    if not new:
        return
    known.update(new)
    rows = [{"municipality_id": municipality_id, "month": month} for municipality_id, month in new]
    table = EvaluationStaleMonth.__table__  # type: ignore[attr-defined]
    session.execute(dialect_insert(session.get_bind())(table).values(rows).on_conflict_do_nothing())
