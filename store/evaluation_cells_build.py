"""Counting the evaluation's monthly cells (store/evaluation_cells.py) again from the facts.

`refresh` takes the stale (municipality, month) marks a report needs and counts each such
month anew, one short transaction per month: the mark is deleted first (with RETURNING, so of
two reports refreshing at once only one counts a month; a projection that marks the month
again meanwhile leaves its mark for the next report), then the month's cells are replaced.
Each figure is counted by the same functions that count the facts directly
(store/reads/evaluation.py), for one municipality, one centre and one month, so a cell says
exactly what the facts say.

`mark_everything_stale` marks every month of every municipality from the first fact to now:
after a migration, a backfill, or a bulk load (bench/evaluation.py), the next report counts
them.
"""

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
)
from sqlalchemy import case as sql_case
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from domain.inbound import InboundStatus
from domain.months import add_months_at, start_of_german_month
from store.evaluation_cells import (
    CELL_TABLES,
    EvaluationAcknowledgeHours,
    EvaluationCount,
    EvaluationPartner,
    EvaluationStaleMonth,
    EvaluationSurvey,
    mark_stale,
)
from store.facts import AgreementVersionFact, ClosureFact, NeedFact, RuleHitFact
from store.models import InboundReferral
from store.projections import ReferralSummary, ReviewRecord
from store.reads.evaluation import (
    GOAL_KEYS,
    REFERRAL_OUTCOMES,
    ReportScope,
    acting_partners,
    on_time,
    referral_outcomes,
    sum_if,
)
from store.types import UTCDateTime

log = logging.getLogger(__name__)

# (municipality column, instant column) of every fact a month counts: where a municipality's
# facts begin and end.
_INSTANTS: tuple[tuple[Any, Any], ...] = (
    (AgreementVersionFact.municipality_id, AgreementVersionFact.activated_at),
    (ClosureFact.municipality_id, ClosureFact.closed_at),
    (NeedFact.municipality_id, NeedFact.at),
    (RuleHitFact.municipality_id, RuleHitFact.at),
    (ReviewRecord.municipality_id, ReviewRecord.recorded_at),
    (ReviewRecord.municipality_id, ReviewRecord.due_at),
    (ReferralSummary.municipality_id, ReferralSummary.dispatched_at),
    (InboundReferral.municipality_id, InboundReferral.created_at),
)


def refresh(
    bind: Engine | Connection,
    municipalities: Sequence[str] | None,
    first: datetime,
    end: datetime,
    now: datetime,
) -> int:
    """Count again the stale months in [first, end) of those municipalities (None: all);
    returns how many were counted."""
    stale = EvaluationStaleMonth
    query = sa_select(col(stale.municipality_id), col(stale.month)).where(
        col(stale.month) >= first, col(stale.month) < end
    )
    if municipalities is not None:
        query = query.where(col(stale.municipality_id).in_(municipalities))
    with Session(bind) as session:
        marked = session.connection().execute(query).all()
    counted = 0
    for municipality_id, month in marked:
        with Session(bind) as session, session.begin():
            connection = session.connection()
            taken = connection.execute(
                delete(EvaluationStaleMonth)
                .where(
                    col(stale.municipality_id) == municipality_id,
                    col(stale.month) == month,
                )
                .returning(col(stale.municipality_id))
            ).all()
            if taken:
                count_month(connection, municipality_id, month, now)
                counted += 1
    if counted:
        log.info("evaluation: %d stale months counted again", counted)
    return counted


def count_month(
    connection: Connection, municipality_id: str, month: datetime, now: datetime
) -> None:
    """Replace the cells of one municipality's month with what its facts say."""
    end = add_months_at(month, 1)
    for table in CELL_TABLES:
        columns = table.__table__.c  # type: ignore[attr-defined]
        connection.execute(
            delete(table).where(columns.municipality_id == municipality_id, columns.month == month)
        )

    counts, hours = _month_counts(connection, municipality_id, month, end)
    cell = {"municipality_id": municipality_id, "month": month}
    _insert(connection, EvaluationCount, [cell | row for row in counts])
    _insert(
        connection,
        EvaluationAcknowledgeHours,
        [
            cell | {"actor_kind": actor, "hours": value, "referrals": number}
            for (actor, value), number in hours.items()
        ],
    )
    _insert(
        connection,
        EvaluationSurvey,
        [cell | row for row in _survey(connection, month, end, municipality_id)],
    )
    _insert(
        connection,
        EvaluationPartner,
        [
            cell | {"centre_id": centre_id, "partner_id": partner_id}
            for centre_id, partner_id in acting_partners(
                connection, ReportScope((municipality_id,), None, month, end, (month,), now)
            )
        ],
    )


def _insert(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(insert(table), rows)


def _month_counts(
    connection: Connection, municipality_id: str, month: datetime, end: datetime
) -> tuple[list[dict[str, Any]], Counter[tuple[str, int]]]:
    """The additive figures of one municipality's month by centre: the rows of
    `evaluation_counts`, and the hours to acknowledgement by (kind, hours) of all its
    centres. Each figure one query grouped by centre, counting what
    store/reads/evaluation.py counts (the tests hold the two to the same figures)."""

    def within(table: Any, at: Any) -> ColumnElement[bool]:
        return and_(table.municipality_id == municipality_id, at >= month, at < end)

    rows: list[dict[str, Any]] = []

    def add(figure: str, query: Any) -> None:
        for centre_id, item, value in connection.execute(query).all():
            if value:
                row = {"centre_id": centre_id, "figure": figure, "item": item, "value": value}
                rows.append(row)

    agreement = AgreementVersionFact
    add(
        "concluded",
        sa_select(col(agreement.centre_id), literal(""), func.count())
        .where(within(agreement, col(agreement.activated_at)), col(agreement.version) == 1)
        .group_by(col(agreement.centre_id)),
    )
    review = ReviewRecord
    for centre_id, due, in_time in connection.execute(
        sa_select(col(review.centre_id), func.count(), sum_if(on_time()))
        .where(within(review, col(review.due_at)))
        .group_by(col(review.centre_id))
    ).all():
        rows.append({"centre_id": centre_id, "figure": "reviews_due", "item": "", "value": due})
        if in_time:
            rows.append(
                {"centre_id": centre_id, "figure": "reviews_on_time", "item": "", "value": in_time}
            )
    closure = ClosureFact
    add(
        "closures",
        sa_select(col(closure.centre_id), col(closure.reason), func.count())
        .where(within(closure, col(closure.closed_at)))
        .group_by(col(closure.centre_id), col(closure.reason)),
    )
    need = NeedFact
    add(
        "needs",
        sa_select(col(need.centre_id), col(need.need_kind), func.count())
        .where(within(need, col(need.at)))
        .group_by(col(need.centre_id), col(need.need_kind)),
    )
    hit = RuleHitFact
    add(
        "rules",
        sa_select(col(hit.centre_id), col(hit.rule), func.count())
        .where(within(hit, col(hit.at)))
        .group_by(col(hit.centre_id), col(hit.rule)),
    )
    inbound = InboundReferral
    for centre_id, kind, status, number in connection.execute(
        sa_select(
            col(inbound.centre_id), col(inbound.partner_kind), col(inbound.status), func.count()
        )
        .where(within(inbound, col(inbound.created_at)))
        .group_by(col(inbound.centre_id), col(inbound.partner_kind), col(inbound.status))
    ).all():
        figure = f"inbound_{InboundStatus(status).value}"
        rows.append({"centre_id": centre_id, "figure": figure, "item": kind, "value": number})
    referral = ReferralSummary
    hours: Counter[tuple[str, int]] = Counter()
    for centre_id, actor, value_hours, *numbers in connection.execute(
        sa_select(
            col(referral.centre_id),
            col(referral.actor_kind),
            col(referral.acknowledge_hours),
            *referral_outcomes(),
        )
        .where(within(referral, col(referral.dispatched_at)))
        .group_by(
            col(referral.centre_id), col(referral.actor_kind), col(referral.acknowledge_hours)
        )
    ).all():
        for outcome, number in zip(REFERRAL_OUTCOMES, numbers, strict=True):
            if number:
                rows.append(
                    {
                        "centre_id": centre_id,
                        "figure": f"referrals_{outcome}",
                        "item": actor,
                        "value": int(number),
                    }
                )
        if value_hours is not None:
            hours[(actor, int(value_hours))] += numbers[0]
    # The referral rows come per hour: one row per (centre, figure, kind).
    merged: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        merged[(row["centre_id"], row["figure"], row["item"])] += row["value"]
    return [
        {"centre_id": centre_id, "figure": figure, "item": item, "value": value}
        for (centre_id, figure, item), value in merged.items()
    ], hours


# A cell keeps the month of a review's next one up to this many months ahead, later ones as
# that month: a report's period is at most ten years (api.deps), so any later month is after
# every period the cell can be part of.
HORIZON_MONTHS = 144


def _month_of(at: Any) -> Any:
    """The index of the month of `at` among the bound `horizon_0` .. `horizon_N` (the month
    and the HORIZON_MONTHS after it), -1 when null: a handful of comparisons by halving."""
    starts = [bindparam(f"horizon_{n}", type_=UTCDateTime()) for n in range(HORIZON_MONTHS + 1)]

    def within(low: int, high: int) -> Any:
        if low == high:
            return literal(low)
        middle = (low + high + 1) // 2
        return sql_case((at < starts[middle], within(low, middle - 1)), else_=within(middle, high))

    return sql_case((at.is_(None), literal(-1)), else_=within(0, HORIZON_MONTHS))


def _survey_query() -> Any:
    """The month's reviews (municipality_id, month, end bound), grouped by centre, answers and
    the months of the case's next review, anywhere and at the same centre, the goals summed.
    Built once: the same statement for every month, so it is compiled once (its CASE trees
    are some 600 nodes)."""
    review = ReviewRecord
    following = _month_of(col(review.next_recorded_at)).label("following")
    following_here = _month_of(col(review.next_here_recorded_at)).label("following_here")
    answers = [
        col(review.centre_id),
        col(review.agreement_helped),
        col(review.easier_to_keep_at_it),
    ]
    return (
        sa_select(
            *answers,
            following,
            following_here,
            func.count(),
            *(func.sum(col(getattr(review, f"goals_{key}"))) for key in GOAL_KEYS),
        )
        .where(
            col(review.municipality_id) == bindparam("municipality_id"),
            col(review.recorded_at) >= bindparam("month", type_=UTCDateTime()),
            col(review.recorded_at) < bindparam("end", type_=UTCDateTime()),
        )
        .group_by(*answers, following, following_here)
    )


_SURVEY = _survey_query()


def _survey(
    connection: Connection, month: datetime, end: datetime, municipality_id: str
) -> list[dict[str, Any]]:
    """The month's reviews grouped as `_survey_query` says, as rows of `evaluation_survey`."""
    horizon = [month]
    for _ in range(HORIZON_MONTHS):
        horizon.append(add_months_at(horizon[-1], 1))
    bound = {f"horizon_{n}": at for n, at in enumerate(horizon)}
    rows: Sequence[Any] = connection.execute(
        _SURVEY, {"municipality_id": municipality_id, "month": month, "end": end, **bound}
    ).all()
    return [
        {
            "centre_id": centre_id,
            "agreement_helped": helped,
            "easier_to_keep_at_it": easier,
            "next_month": None if next_index < 0 else horizon[next_index],
            "next_here_month": None if here_index < 0 else horizon[here_index],
            "clients": clients,
            **{
                f"goals_{key}": int(value or 0) for key, value in zip(GOAL_KEYS, goals, strict=True)
            },
        }
        for centre_id, helped, easier, next_index, here_index, clients, *goals in rows
    ]


def mark_everything_stale(session: Session) -> int:
    """Mark every month of every municipality with facts, from its first fact to its last (or
    now), to be counted again; returns how many months were marked."""
    connection = session.connection()
    bounds: dict[str, list[datetime]] = {}
    for municipality, at in _INSTANTS:
        for municipality_id, first, last in connection.execute(
            sa_select(municipality, func.min(at), func.max(at))  # aware: the column's type
            .where(at.is_not(None))
            .group_by(municipality)
        ).all():
            if municipality_id:
                bounds.setdefault(municipality_id, []).extend([first, last])
    now = datetime.now(UTC)
    marked = 0
    for municipality_id, known in sorted(bounds.items()):
        month = start_of_german_month(min(known))
        last = max(now, *known)
        months = []
        while month <= last:
            months.append(month)
            month = add_months_at(month, 1)
        mark_stale(session, municipality_id, months)
        marked += len(months)
    return marked
