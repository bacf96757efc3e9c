"""The evaluation's counts as the report reads them: the period's whole months from the monthly
cells (store/evaluation_cells.py, counted again first where stale), the days before the first
and after the last whole month from the facts (store/reads/evaluation.py), added up.

Most figures simply add up. Three do not, and are put together here:
- the survey and the goals count each client once, at the last review in the period. A review
  of a whole month is the last when the case's next review came after the whole months (the
  cells keep the month of the next one) and not in the days after them; those whose next
  review fell in the days after are found among the facts and taken away again;
- the active partners are a set: the cells' partners of the whole months joined with those of
  the days around them;
- the reviews pending now are counted from the open cases, for the whole period.

A period within one month, or with no whole month, is counted from the facts alone.
"""

import dataclasses
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func

from domain.case import COUNTED_CLOSURES, ClosureReason
from domain.enums import ActorKind, NeedKind
from domain.months import start_of_german_month
from store.evaluation_cells import (
    EvaluationAcknowledgeHours,
    EvaluationCount,
    EvaluationPartner,
    EvaluationSurvey,
)
from store.evaluation_cells_build import refresh
from store.models import Municipality
from store.projections import ReviewRecord
from store.reads.evaluation import (
    GOAL_KEYS,
    REFERRAL_OUTCOMES,
    ActorReferrals,
    EvaluationCounts,
    InboundCounts,
    ReportScope,
    ReviewCounts,
    acknowledge_hours,
    acting_partners,
    add_survey,
    additive_counts,
    fact_counts,
    last_reviews,
    pending_reviews,
    survey_columns,
)

_PER_MONTH = ("concluded", "reviews_due", "reviews_on_time")


@dataclasses.dataclass(frozen=True)
class _Split:
    """The period [start, end) as [start, first) + whole months [first, last) + [last, end)."""

    first: datetime
    last: datetime


def _split(scope: ReportScope) -> _Split | None:
    months = scope.month_starts
    first = scope.start if start_of_german_month(scope.start) == scope.start else None
    if first is None:
        first = months[1] if len(months) > 1 else None
    last = scope.end if start_of_german_month(scope.end) == scope.end else months[-1]
    if first is None or first >= last:
        return None
    return _Split(first, last)


def evaluation_counts(session: Session, scope: ReportScope) -> EvaluationCounts:
    """Every count the report publishes, for `scope` (see the module docstring)."""
    connection = session.connection()
    split = _split(scope)
    if split is None:
        return fact_counts(connection, scope)
    refresh(session.get_bind(), scope.municipalities, split.first, split.last, scope.now)
    index = {month: number for number, month in enumerate(scope.month_starts)}
    counts = _from_cells(connection, scope, split, index)
    municipalities = scope.municipalities or tuple(
        connection.execute(sa_select(col(Municipality.id))).scalars()
    )
    edges = [
        (start, end, month)
        for start, end, month in (
            (scope.start, split.first, 0),
            (split.last, scope.end, len(scope.month_starts) - 1),
        )
        if start < end
    ]
    partners = _cell_partners(connection, scope, split)
    for start, end, month in edges:
        edge = dataclasses.replace(
            scope,
            municipalities=municipalities,
            start=start,
            end=end,
            month_starts=(start,),
            last_before=scope.end,
        )
        _add(counts, additive_counts(connection, edge), month)
        add_survey(counts, connection.execute(last_reviews(edge)).all())
        partners.update(partner for _centre, partner in acting_partners(connection, edge))
    if split.last < scope.end:
        before = dataclasses.replace(scope, municipalities=municipalities)
        add_survey(counts, _followed_after(connection, before, split), sign=-1)
    _drop_empty(counts)
    # Named municipalities: one index range each (ix_case_summaries_overdue).
    pending_reviews(connection, dataclasses.replace(scope, municipalities=municipalities), counts)
    counts.partners_active = len(partners)
    return counts


def _place(scope: ReportScope, table: Any) -> ColumnElement[bool]:
    conditions = [col(table.month) >= scope.start, col(table.month) < scope.end]
    if scope.municipalities is not None:
        conditions.append(col(table.municipality_id).in_(scope.municipalities))
    if scope.centre_id is not None:
        conditions.append(col(table.centre_id) == scope.centre_id)
    return and_(*conditions)


def _from_cells(
    connection: Any, scope: ReportScope, split: _Split, index: dict[datetime, int]
) -> EvaluationCounts:
    whole = dataclasses.replace(scope, start=split.first, end=split.last)
    counts = EvaluationCounts(
        concluded_per_month=[0] * len(scope.month_starts),
        reviews_per_month=[ReviewCounts() for _ in scope.month_starts],
        closures=dict.fromkeys(COUNTED_CLOSURES, 0),
    )
    cell = EvaluationCount
    figure, item, value = col(cell.figure), col(cell.item), func.sum(col(cell.value))
    for name, month, centre_id, number in connection.execute(
        sa_select(figure, col(cell.month), col(cell.centre_id), value)
        .where(_place(whole, cell), figure.in_(_PER_MONTH))
        .group_by(figure, col(cell.month), col(cell.centre_id))
    ).all():
        at = index[start_of_german_month(month)]
        if name == "concluded":
            counts.concluded += number
            counts.concluded_per_month[at] += number
            counts.concluded_per_centre[centre_id] = (
                counts.concluded_per_centre.get(centre_id, 0) + number
            )
        for found in (counts.reviews_per_month[at], counts.reviews):
            if name == "reviews_due":
                found.due += number
                found.late += number
            elif name == "reviews_on_time":
                found.on_time += number
                found.late -= number
    for name, key, number in connection.execute(
        sa_select(figure, item, value)
        .where(_place(whole, cell), figure.not_in(_PER_MONTH))
        .group_by(figure, item)
    ).all():
        _count(counts, name, key, int(number))
    hours = EvaluationAcknowledgeHours
    histogram = (
        sa_select(col(hours.actor_kind), col(hours.hours), func.sum(col(hours.referrals)))
        .where(_place(dataclasses.replace(whole, centre_id=None), hours))
        .group_by(col(hours.actor_kind), col(hours.hours))
        if scope.centre_id is None
        else acknowledge_hours(whole)  # one centre: its referrals' hours from the facts
    )
    for actor, value_hours, number in connection.execute(histogram).all():
        referrals = counts.referrals.setdefault(ActorKind(actor), ActorReferrals())
        referrals.acknowledge_hours[int(value_hours)] = int(number)
    survey = EvaluationSurvey
    following = col(survey.next_month if scope.centre_id is None else survey.next_here_month)
    add_survey(
        counts,
        connection.execute(
            sa_select(
                col(survey.centre_id),
                col(survey.agreement_helped),
                col(survey.easier_to_keep_at_it),
                func.sum(col(survey.clients)),
                *(func.sum(getattr(survey, f"goals_{key}")) for key in GOAL_KEYS),
            )
            .where(_place(whole, survey), or_(following.is_(None), following >= split.last))
            .group_by(
                col(survey.centre_id),
                col(survey.agreement_helped),
                col(survey.easier_to_keep_at_it),
            )
        ).all(),
    )
    return counts


def _count(counts: EvaluationCounts, name: str, key: str, number: int) -> None:
    """One additive figure of the cells into `counts`."""
    if name == "closures":
        counts.closures[ClosureReason(key)] += number
    elif name == "needs":
        counts.needs[NeedKind(key)] = counts.needs.get(NeedKind(key), 0) + number
    elif name == "rules":
        counts.rules[key] = counts.rules.get(key, 0) + number
    elif name.startswith("inbound_"):
        found = counts.inbound.setdefault(ActorKind(key), InboundCounts())
        status = name.removeprefix("inbound_")
        setattr(found, status, getattr(found, status) + number)
    elif name.startswith("referrals_"):
        referrals = counts.referrals.setdefault(ActorKind(key), ActorReferrals())
        outcome = name.removeprefix("referrals_")
        setattr(referrals, outcome, getattr(referrals, outcome) + number)


def _add(counts: EvaluationCounts, part: EvaluationCounts, month: int) -> None:
    """A part of the period (one month's days, counted from the facts) into `counts`."""
    counts.concluded += part.concluded
    counts.concluded_per_month[month] += part.concluded
    for centre_id, number in part.concluded_per_centre.items():
        counts.concluded_per_centre[centre_id] = (
            counts.concluded_per_centre.get(centre_id, 0) + number
        )
    for found in (counts.reviews_per_month[month], counts.reviews):
        found.due += part.reviews.due
        found.on_time += part.reviews.on_time
        found.late += part.reviews.late
    for reason, number in part.closures.items():
        counts.closures[reason] += number
    for need, number in part.needs.items():
        counts.needs[need] = counts.needs.get(need, 0) + number
    for rule, number in part.rules.items():
        counts.rules[rule] = counts.rules.get(rule, 0) + number
    for actor, inbound in part.inbound.items():
        found_inbound = counts.inbound.setdefault(actor, InboundCounts())
        for status in ("accepted", "declined", "open"):
            setattr(
                found_inbound, status, getattr(found_inbound, status) + getattr(inbound, status)
            )
    for actor, referrals in part.referrals.items():
        found_referrals = counts.referrals.setdefault(actor, ActorReferrals())
        for outcome in REFERRAL_OUTCOMES:
            total = getattr(found_referrals, outcome) + getattr(referrals, outcome)
            setattr(found_referrals, outcome, total)
        for value, number in referrals.acknowledge_hours.items():
            found_referrals.acknowledge_hours[value] = (
                found_referrals.acknowledge_hours.get(value, 0) + number
            )


def _cell_partners(connection: Any, scope: ReportScope, split: _Split) -> set[str]:
    partner = EvaluationPartner
    whole = dataclasses.replace(scope, start=split.first, end=split.last)
    return set(
        connection.execute(
            sa_select(col(partner.partner_id)).where(_place(whole, partner)).distinct()
        ).scalars()
    )


def _followed_after(connection: Any, scope: ReportScope, split: _Split) -> Sequence[Any]:
    """The reviews of the whole months the cells counted as a client's last, whose next review
    (at the same centre, for one centre) came in the days after the whole months: grouped as
    `survey_columns`, to be taken away."""
    review = ReviewRecord
    # The recording instant through COALESCE: not a range any index could serve, so the
    # planner reads the few reviews whose next one came in the days after (the index on the
    # next review's instant), not all the whole months' reviews (SQLite has no statistics).
    recorded = func.coalesce(col(review.recorded_at), col(review.recorded_at))
    whole = and_(recorded >= split.first, recorded < split.last)
    place = col(review.municipality_id).in_(scope.municipalities or ())
    if scope.centre_id is None:
        next_recorded = col(review.next_recorded_at)
        followed = and_(next_recorded >= split.last, next_recorded < scope.end)
        query = sa_select(*survey_columns()).where(place, whole, followed)
    else:
        next_here = col(review.next_here_recorded_at)
        followed = and_(next_here >= split.last, next_here < scope.end)
        here = col(review.centre_id) == scope.centre_id
        query = sa_select(*survey_columns()).where(place, here, whole, followed)
    rows: Sequence[Any] = connection.execute(
        query.group_by(
            col(review.centre_id),
            col(review.agreement_helped),
            col(review.easier_to_keep_at_it),
        )
    ).all()
    return rows


def _drop_empty(counts: EvaluationCounts) -> None:
    """Counters left at zero by a taking away say nothing: as if never counted."""
    for survey in (counts.survey, *counts.survey_per_centre.values()):
        survey.helped = Counter({k: v for k, v in survey.helped.items() if v})
        survey.easier = Counter({k: v for k, v in survey.easier.items() if v})
    counts.survey_per_centre = {
        centre_id: survey
        for centre_id, survey in counts.survey_per_centre.items()
        if survey.helped or survey.easier
    }
