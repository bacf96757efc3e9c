"""The evaluation's counts (`GET /reports/evaluation`, its CSV and the page „Auswertung"):
one aggregate query per figure over the facts of store/facts.py and the evaluation's columns
of `reviews` and `referrals`, for a set of municipalities (or all), optionally one centre, and
a period.

Raw counts only, never a row of a case: the disclosure rules (domain/disclosure.py) are
applied by the report on top (api/evaluation.py). Every query is filtered by the municipality
and an instant first, which is what each fact table's index leads with. Months are German
calendar months: the caller passes their first instants (UTC) and the queries bucket by a CASE
over them, the same on SQLite and PostgreSQL. bench/evaluation.py measures these queries
against the same aggregation in hand-written SQL.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_, union
from sqlalchemy import case as sql_case
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func

from domain.case import ClosureReason
from domain.enums import ActorKind, NeedKind
from domain.inbound import InboundStatus
from domain.referral import OutcomeResult, ReferralStatus
from store.facts import AgreementVersionFact, ClosureFact, NeedFact, RuleHitFact
from store.models import Centre, InboundReferral, Municipality
from store.projections import CaseSummary, ReferralNoteRecord, ReferralSummary, ReviewRecord

ON_TIME_DAYS = 14  # a review recorded at most this many days after its date is on time


@dataclass(frozen=True)
class ReportScope:
    """Whose figures, and when: `municipalities` None means every municipality."""

    municipalities: tuple[str, ...] | None
    centre_id: str | None
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC
    month_starts: tuple[datetime, ...]  # the first instant of each month in [start, end)
    now: datetime


@dataclass
class SurveyCounts:
    """The clients counted once each, at their last review in the period."""

    helped: dict[bool | None, int] = field(default_factory=dict)
    easier: dict[bool | None, int] = field(default_factory=dict)
    answered: int = 0  # clients who answered at least one of the two questions


@dataclass
class ReviewCounts:
    due: int = 0
    on_time: int = 0
    late: int = 0
    overdue_now: int = 0


@dataclass
class ActorReferrals:
    dispatched: int = 0
    acknowledged: int = 0
    declined: int = 0
    expired: int = 0
    withdrawn: int = 0
    completed: int = 0
    achieved: int = 0
    acknowledge_hours: dict[int, int] = field(default_factory=dict)  # hours: how many


@dataclass
class InboundCounts:
    accepted: int = 0
    declined: int = 0
    open: int = 0


@dataclass
class EvaluationCounts:
    concluded: int = 0
    concluded_per_month: list[int] = field(default_factory=list)  # by `month_starts`
    concluded_per_centre: dict[str, int] = field(default_factory=dict)
    survey: SurveyCounts = field(default_factory=SurveyCounts)
    survey_per_centre: dict[str, SurveyCounts] = field(default_factory=dict)
    reviews: ReviewCounts = field(default_factory=ReviewCounts)
    reviews_per_month: list[ReviewCounts] = field(default_factory=list)
    goals: dict[str, int] = field(default_factory=dict)  # open, in_progress, achieved, dropped
    closures: dict[ClosureReason, int] = field(default_factory=dict)
    referrals: dict[ActorKind, ActorReferrals] = field(default_factory=dict)
    inbound: dict[ActorKind, InboundCounts] = field(default_factory=dict)
    partners_active: int = 0
    needs: dict[NeedKind, int] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)


def _where(scope: ReportScope, municipality: Any, centre: Any, at: Any) -> ColumnElement[bool]:
    conditions = [at >= scope.start, at < scope.end]
    if scope.municipalities is not None:
        conditions.append(municipality.in_(scope.municipalities))
    if scope.centre_id is not None:
        conditions.append(centre == scope.centre_id)
    return and_(*conditions)


def _month(scope: ReportScope, at: Any) -> Any:
    """The index of the month of `at` among `scope.month_starts`."""
    starts = scope.month_starts
    if len(starts) <= 1:
        return literal(0)
    return sql_case(
        *[(at < start, index) for index, start in enumerate(starts[1:])],
        else_=len(starts) - 1,
    )


def _sum_if(condition: Any) -> Any:
    return func.coalesce(func.sum(sql_case((condition, 1), else_=0)), 0)


def evaluation_counts(session: Session, scope: ReportScope) -> EvaluationCounts:
    """Every count the report publishes, for `scope`."""
    connection = session.connection()
    counts = EvaluationCounts()
    _agreements(connection, scope, counts)
    _survey_and_goals(connection, scope, counts)
    _reviews(connection, scope, counts)
    _closures(connection, scope, counts)
    _referrals(connection, scope, counts)
    _inbound(connection, scope, counts)
    counts.partners_active = _partners_active(connection, scope)
    _needs_and_rules(connection, scope, counts)
    return counts


def _agreements(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    fact = AgreementVersionFact
    at = col(fact.activated_at)
    month = _month(scope, at).label("month")
    rows = connection.execute(
        sa_select(month, col(fact.centre_id), func.count())
        .where(
            _where(scope, col(fact.municipality_id), col(fact.centre_id), at),
            col(fact.version) == 1,
        )
        .group_by(month, col(fact.centre_id))
    ).all()
    counts.concluded_per_month = [0] * len(scope.month_starts)
    for month_index, centre_id, number in rows:
        counts.concluded += number
        counts.concluded_per_month[month_index] += number
        counts.concluded_per_centre[centre_id] = (
            counts.concluded_per_centre.get(centre_id, 0) + number
        )


def _survey_and_goals(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    review = ReviewRecord
    in_period = _where(
        scope, col(review.municipality_id), col(review.centre_id), col(review.recorded_at)
    )
    last = (
        sa_select(col(review.case_id).label("case_id"), func.max(col(review.seq)).label("seq"))
        .where(in_period)
        .group_by(col(review.case_id))
        .subquery()
    )
    helped, easier = col(review.agreement_helped), col(review.easier_to_keep_at_it)
    rows = connection.execute(
        sa_select(
            col(review.centre_id),
            helped,
            easier,
            func.count(),
            func.sum(col(review.goals_open)),
            func.sum(col(review.goals_in_progress)),
            func.sum(col(review.goals_achieved)),
            func.sum(col(review.goals_dropped)),
        )
        .select_from(review)
        .join(last, and_(col(review.case_id) == last.c.case_id, col(review.seq) == last.c.seq))
        .group_by(col(review.centre_id), helped, easier)
    ).all()
    goals = {"open": 0, "in_progress": 0, "achieved": 0, "dropped": 0}
    for centre_id, was_helpful, was_easier, clients, *goal_sums in rows:
        for survey in (
            counts.survey,
            counts.survey_per_centre.setdefault(centre_id, SurveyCounts()),
        ):
            survey.helped[was_helpful] = survey.helped.get(was_helpful, 0) + clients
            survey.easier[was_easier] = survey.easier.get(was_easier, 0) + clients
            if was_helpful is not None or was_easier is not None:
                survey.answered += clients
        for key, value in zip(goals, goal_sums, strict=True):
            goals[key] += int(value or 0)
    counts.goals = goals


def _reviews(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    """Reviews whose date falls in the period: recorded (on time or late, also when recorded
    before the date), or still missing once the date has come, and then overdue or not yet."""
    review = ReviewRecord
    due_at = col(review.due_at)
    recorded_due = _where(scope, col(review.municipality_id), col(review.centre_id), due_at)
    month = _month(scope, due_at).label("month")
    on_time = col(review.days_late) <= ON_TIME_DAYS
    per_month = [ReviewCounts() for _ in scope.month_starts]
    for month_index, due, in_time in connection.execute(
        sa_select(month, func.count(), _sum_if(on_time)).where(recorded_due).group_by(month)
    ).all():
        per_month[month_index].due += due
        per_month[month_index].on_time += in_time
        per_month[month_index].late += due - in_time
    summary = CaseSummary
    next_due = col(summary.next_review_due)
    # Overdue by the case's own clock (the workflow's time), or due by now and not yet.
    missing = and_(
        _where(scope, col(summary.municipality_id), col(summary.centre_id), next_due),
        or_(col(summary.review_overdue).is_(True), next_due <= scope.now),
    )
    month = _month(scope, next_due).label("month")
    for month_index, due, overdue in connection.execute(
        sa_select(month, func.count(), _sum_if(col(summary.review_overdue).is_(True)))
        .where(missing)
        .group_by(month)
    ).all():
        per_month[month_index].due += due
        per_month[month_index].overdue_now += overdue
    counts.reviews_per_month = per_month
    for month_counts in per_month:
        counts.reviews.due += month_counts.due
        counts.reviews.on_time += month_counts.on_time
        counts.reviews.late += month_counts.late
        counts.reviews.overdue_now += month_counts.overdue_now


def _closures(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    fact = ClosureFact
    rows = connection.execute(
        sa_select(col(fact.reason), func.count())
        .where(_where(scope, col(fact.municipality_id), col(fact.centre_id), col(fact.closed_at)))
        .group_by(col(fact.reason))
    ).all()
    counts.closures = {reason: 0 for reason in ClosureReason}
    counts.closures.update({ClosureReason(reason): number for reason, number in rows})


def _referrals(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    """Referrals dispatched in the period, by partner kind, with what became of them."""
    referral = ReferralSummary
    in_period = _where(
        scope, col(referral.municipality_id), col(referral.centre_id), col(referral.dispatched_at)
    )
    status = col(referral.status)
    rows = connection.execute(
        sa_select(
            col(referral.actor_kind),
            func.count(),
            func.count(col(referral.acknowledged_at)),
            _sum_if(status == ReferralStatus.DECLINED),
            _sum_if(status == ReferralStatus.EXPIRED),
            _sum_if(status == ReferralStatus.WITHDRAWN),
            _sum_if(status == ReferralStatus.COMPLETED),
            _sum_if(col(referral.result) == OutcomeResult.ACHIEVED),
        )
        .where(in_period)
        .group_by(col(referral.actor_kind))
    ).all()
    for actor, dispatched, acknowledged, declined, expired, withdrawn, completed, achieved in rows:
        counts.referrals[ActorKind(actor)] = ActorReferrals(
            dispatched=dispatched,
            acknowledged=acknowledged,
            declined=int(declined),
            expired=int(expired),
            withdrawn=int(withdrawn),
            completed=int(completed),
            achieved=int(achieved),
        )
    hours = col(referral.acknowledge_hours)
    for actor, value, number in connection.execute(
        sa_select(col(referral.actor_kind), hours, func.count())
        .where(in_period, hours.is_not(None))
        .group_by(col(referral.actor_kind), hours)
    ).all():
        found = counts.referrals.setdefault(ActorKind(actor), ActorReferrals())
        found.acknowledge_hours[int(value)] = number


def _inbound(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    inbound = InboundReferral
    rows = connection.execute(
        sa_select(col(inbound.partner_kind), col(inbound.status), func.count())
        .where(
            _where(
                scope, col(inbound.municipality_id), col(inbound.centre_id), col(inbound.created_at)
            )
        )
        .group_by(col(inbound.partner_kind), col(inbound.status))
    ).all()
    for kind, status, number in rows:
        found = counts.inbound.setdefault(ActorKind(kind), InboundCounts())
        setattr(found, InboundStatus(status).value, number)


def _partners_active(connection: Any, scope: ReportScope) -> int:
    """Partners that acted in the network in the period: acknowledged, declined or completed
    a referral, wrote a progress note, or referred a client to a centre."""
    referral = ReferralSummary
    acted: list[Any] = [
        sa_select(col(referral.partner_id).label("partner_id")).where(
            or_(
                _where(
                    scope,
                    col(referral.municipality_id),
                    col(referral.centre_id),
                    col(referral.acknowledged_at),
                ),
                and_(
                    _where(
                        scope,
                        col(referral.municipality_id),
                        col(referral.centre_id),
                        col(referral.ended_at),
                    ),
                    col(referral.status).in_([ReferralStatus.DECLINED, ReferralStatus.COMPLETED]),
                ),
            )
        ),
        sa_select(col(ReferralNoteRecord.partner_id).label("partner_id"))
        .join(referral, col(referral.id) == col(ReferralNoteRecord.referral_id))
        .where(
            _where(
                scope,
                col(referral.municipality_id),
                col(referral.centre_id),
                col(ReferralNoteRecord.at),
            )
        ),
        sa_select(col(InboundReferral.partner_id).label("partner_id")).where(
            _where(
                scope,
                col(InboundReferral.municipality_id),
                col(InboundReferral.centre_id),
                col(InboundReferral.created_at),
            )
        ),
    ]
    partners = union(*acted).subquery()
    return int(connection.execute(sa_select(func.count()).select_from(partners)).scalar_one())


def _needs_and_rules(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    need = NeedFact
    for kind, number in connection.execute(
        sa_select(col(need.need_kind), func.count())
        .where(_where(scope, col(need.municipality_id), col(need.centre_id), col(need.at)))
        .group_by(col(need.need_kind))
    ).all():
        counts.needs[NeedKind(kind)] = number
    hit = RuleHitFact
    for rule, number in connection.execute(
        sa_select(col(hit.rule), func.count())
        .where(_where(scope, col(hit.municipality_id), col(hit.centre_id), col(hit.at)))
        .group_by(col(hit.rule))
    ).all():
        counts.rules[rule] = number


def municipalities_of(session: Session, ids: Sequence[str] | None) -> list[tuple[str, str]]:
    """(id, name) of the municipalities `ids` names, or of all; for the page's picker."""
    query = sa_select(col(Municipality.id), col(Municipality.name)).order_by(col(Municipality.name))
    if ids is not None:
        query = query.where(col(Municipality.id).in_(ids))
    return [(row[0], row[1]) for row in session.connection().execute(query).all()]


def centres_of(session: Session, municipality_ids: Sequence[str] | None) -> list[tuple[str, str]]:
    """(id, name) of the centres of those municipalities (or of all), by name."""
    query = sa_select(col(Centre.id), col(Centre.name)).order_by(col(Centre.name))
    if municipality_ids is not None:
        query = query.where(col(Centre.municipality_id).in_(municipality_ids))
    return [(row[0], row[1]) for row in session.connection().execute(query).all()]
