"""The evaluation's counts over the facts (`GET /reports/evaluation`, its CSV and the page
„Auswertung"): aggregate queries over the facts of store/facts.py and the evaluation's
columns of `reviews` and `referrals`, for a set of municipalities (or all), optionally one
centre, and a period. The report reads the monthly cells for a period's whole months and
counts only the days around them here (store/reads/evaluation_cells.py); `fact_counts`
counts a whole period here, the reference the tests and the bench hold the cells to.

Raw counts only, never a row of a case: the disclosure rules (domain/disclosure.py) are
applied by the report on top (api/evaluation.py). Months are German calendar months: the
caller passes their first instants (UTC) and the queries count by them, the same on SQLite
and PostgreSQL.

Each query reads one covering index (the rows stay unread): the municipality, then the
instant (migration 0011), so the days the report counts here (a month at most, around the
cells' whole months) are one range per municipality named. A count per month is one range per
month when the municipalities are named (else one pass, each row's month found by a few
comparisons). bench/evaluation.py measures the report against the same aggregation over all
the facts in hand-written SQL.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_, true, union, union_all
from sqlalchemy import case as sql_case
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func

from domain.case import COUNTED_CLOSURES, ClosureReason
from domain.enums import ActorKind, NeedKind
from domain.inbound import InboundStatus
from domain.referral import OutcomeResult, ReferralStatus
from store.facts import AgreementVersionFact, ClosureFact, NeedFact, RuleHitFact
from store.models import Centre, InboundReferral, Municipality, PartnerAgency
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
    # A client's last review is the one with no later review before this instant: the end of
    # the whole period, when this scope is a part of it (store/reads/evaluation_cells.py).
    last_before: datetime | None = None

    @property
    def survey_end(self) -> datetime:
        return self.last_before or self.end


@dataclass
class SurveyCounts:
    """The clients counted once each, at their last review in the period."""

    helped: Counter[bool | None] = field(default_factory=Counter)  # answer: clients
    easier: Counter[bool | None] = field(default_factory=Counter)
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


def _place(scope: ReportScope, municipality: Any, centre: Any) -> ColumnElement[bool]:
    """The scope's municipalities (all: no condition) and centre."""
    conditions: list[ColumnElement[bool]] = [true()]
    if scope.municipalities is not None:
        conditions.append(municipality.in_(scope.municipalities))
    if scope.centre_id is not None:
        conditions.append(centre == scope.centre_id)
    return and_(*conditions)


def _period(scope: ReportScope, at: Any) -> ColumnElement[bool]:
    return and_(at >= scope.start, at < scope.end)


def _where(scope: ReportScope, municipality: Any, centre: Any, at: Any) -> ColumnElement[bool]:
    return and_(_period(scope, at), _place(scope, municipality, centre))


def month_index(scope: ReportScope, at: Any) -> Any:
    """The index of the month of `at` among `scope.month_starts`, by halving: a handful of
    comparisons per row instead of one per month."""
    starts = scope.month_starts

    def within(low: int, high: int) -> Any:  # `at` falls in one of the months low..high
        if low == high:
            return literal(low)
        middle = (low + high + 1) // 2
        return sql_case((at < starts[middle], within(low, middle - 1)), else_=within(middle, high))

    return within(0, max(0, len(starts) - 1))


def _monthly(
    scope: ReportScope,
    at: Any,
    columns: Sequence[Any],
    where: ColumnElement[bool],
    group_by: Sequence[Any] = (),
    *,
    by_range: bool,
) -> Any:
    """`columns` per month of `at`, the month's index first. `by_range`, when the
    municipalities are named: one range per month (of an index on the municipality, then
    `at`), so the rows come counted by their range, neither sorted nor bucketed one by one.
    Otherwise one pass, each row's month computed (`month_index`)."""
    if not by_range or scope.municipalities is None:
        month = month_index(scope, at).label("month")
        return (
            sa_select(month, *columns).where(_period(scope, at), where).group_by(month, *group_by)
        )
    starts = [scope.start, *scope.month_starts[1:]]
    ends = [*scope.month_starts[1:], scope.end]
    return union_all(
        *(
            sa_select(literal(index).label("month"), *columns)
            .where(at >= start, at < end, where)
            .group_by(*group_by)
            for index, (start, end) in enumerate(zip(starts, ends, strict=True))
        )
    )


def sum_if(condition: Any) -> Any:
    """How many rows of the group meet `condition` (0, not null, for none)."""
    return func.coalesce(func.sum(sql_case((condition, 1), else_=0)), 0)


def on_time() -> ColumnElement[bool]:
    """A recorded review was on time: at most ON_TIME_DAYS after its date."""
    return col(ReviewRecord.days_late) <= ON_TIME_DAYS


# What became of the referrals of a group: the fields of `ActorReferrals`, in this order.
REFERRAL_OUTCOMES = (
    "dispatched",
    "acknowledged",
    "declined",
    "expired",
    "withdrawn",
    "completed",
    "achieved",
)


def referral_outcomes() -> list[Any]:
    """The aggregates of REFERRAL_OUTCOMES over a group of `referrals` rows."""
    referral = ReferralSummary
    status = col(referral.status)
    return [
        func.count(),
        func.count(col(referral.acknowledged_at)),
        sum_if(status == ReferralStatus.DECLINED),
        sum_if(status == ReferralStatus.EXPIRED),
        sum_if(status == ReferralStatus.WITHDRAWN),
        sum_if(status == ReferralStatus.COMPLETED),
        sum_if(col(referral.result) == OutcomeResult.ACHIEVED),
    ]


def fact_counts(connection: Any, scope: ReportScope) -> EvaluationCounts:
    """Every count the report publishes, for `scope`, counted over the facts themselves. The
    report reads the monthly cells instead where it can (store/reads/evaluation_cells.py),
    which count their months with these same functions."""
    counts = EvaluationCounts()
    _agreements(connection, scope, counts)
    _survey_and_goals(connection, scope, counts)
    recorded_reviews(connection, scope, counts)
    pending_reviews(connection, scope, counts)
    _closures(connection, scope, counts)
    _referrals(connection, scope, counts)
    _inbound(connection, scope, counts)
    counts.partners_active = len(
        {partner for _centre, partner in acting_partners(connection, scope)}
    )
    _needs_and_rules(connection, scope, counts)
    return counts


def additive_counts(connection: Any, scope: ReportScope) -> EvaluationCounts:
    """The counts that add up over months and centres (all but the survey, the goals, the
    reviews pending and the partners)."""
    counts = EvaluationCounts()
    _agreements(connection, scope, counts)
    recorded_reviews(connection, scope, counts)
    _closures(connection, scope, counts)
    _referrals(connection, scope, counts)
    _inbound(connection, scope, counts)
    _needs_and_rules(connection, scope, counts)
    return counts


def _agreements(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    fact = AgreementVersionFact
    rows = connection.execute(
        _monthly(
            scope,
            col(fact.activated_at),
            [col(fact.centre_id), func.count()],
            and_(
                _place(scope, col(fact.municipality_id), col(fact.centre_id)),
                col(fact.version) == 1,
            ),
            [col(fact.centre_id)],
            by_range=True,
        )
    ).all()
    counts.concluded_per_month = [0] * len(scope.month_starts)
    for month_index, centre_id, number in rows:
        counts.concluded += number
        counts.concluded_per_month[month_index] += number
        counts.concluded_per_centre[centre_id] = (
            counts.concluded_per_centre.get(centre_id, 0) + number
        )


GOAL_KEYS = ("open", "in_progress", "achieved", "dropped")


def _survey_and_goals(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    add_survey(counts, connection.execute(last_reviews(scope)).all())


def survey_columns() -> list[Any]:
    """What a group of reviews adds to the survey: the centre, the two answers, how many
    clients, and the goals' statuses summed (`add_survey` reads them in this order)."""
    review = ReviewRecord
    return [
        col(review.centre_id),
        col(review.agreement_helped),
        col(review.easier_to_keep_at_it),
        func.count(),
        func.sum(col(review.goals_open)),
        func.sum(col(review.goals_in_progress)),
        func.sum(col(review.goals_achieved)),
        func.sum(col(review.goals_dropped)),
    ]


def last_reviews(scope: ReportScope) -> Any:
    """Each client once, at the last review recorded in the scope's period, grouped as
    `survey_columns`: the one whose case's next review came after `scope.survey_end` (the
    period's end; `next_recorded_at`: a case stays in its municipality). For one centre, the
    last review the client had there (`next_here_recorded_at`): the case may have moved
    between two reviews."""
    review = ReviewRecord
    helped, easier = col(review.agreement_helped), col(review.easier_to_keep_at_it)
    in_period = _where(
        scope, col(review.municipality_id), col(review.centre_id), col(review.recorded_at)
    )
    if scope.centre_id is None:
        next_recorded = col(review.next_recorded_at)
        last = or_(next_recorded.is_(None), next_recorded >= scope.survey_end)
        group = [col(review.municipality_id), col(review.centre_id), helped, easier]
    else:
        next_here = col(review.next_here_recorded_at)
        last = or_(next_here.is_(None), next_here >= scope.survey_end)
        group = [col(review.centre_id), helped, easier]
    return sa_select(*survey_columns()).where(in_period, last).group_by(*group)


def add_survey(counts: EvaluationCounts, rows: Sequence[Any], sign: int = 1) -> None:
    """Add (`sign` -1: take away) groups of reviews given as `survey_columns`."""
    goals = counts.goals or dict.fromkeys(GOAL_KEYS, 0)
    for centre_id, was_helpful, was_easier, clients, *goal_sums in rows:
        clients *= sign
        for survey in (
            counts.survey,
            counts.survey_per_centre.setdefault(centre_id, SurveyCounts()),
        ):
            survey.helped[was_helpful] += clients
            survey.easier[was_easier] += clients
            if was_helpful is not None or was_easier is not None:
                survey.answered += clients
        for key, value in zip(GOAL_KEYS, goal_sums, strict=True):
            goals[key] += sign * int(value or 0)
    counts.goals = goals


def _review_months(scope: ReportScope, counts: EvaluationCounts) -> list[ReviewCounts]:
    if not counts.reviews_per_month:
        counts.reviews_per_month = [ReviewCounts() for _ in scope.month_starts]
    return counts.reviews_per_month


def recorded_reviews(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    """Reviews whose date falls in the period and that were recorded (on time or late, also
    when recorded before the date)."""
    review = ReviewRecord
    per_month = _review_months(scope, counts)
    for month_index, due, in_time in connection.execute(
        _monthly(
            scope,
            col(review.due_at),
            [func.count(), sum_if(on_time())],
            _place(scope, col(review.municipality_id), col(review.centre_id)),
            by_range=True,
        )
    ).all():
        for found in (per_month[month_index], counts.reviews):
            found.due += due
            found.on_time += in_time
            found.late += due - in_time


def pending_reviews(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    """Reviews whose date falls in the period, still missing once the date has come: overdue,
    or not yet. Counted from the open cases (the list of what is due now), never from cells:
    those overdue by the case's own clock (the workflow's time), and the others due by now,
    each one range of ix_case_summaries_overdue per municipality."""
    summary = CaseSummary
    next_due = col(summary.next_review_due)
    overdue = col(summary.review_overdue)
    place = _place(scope, col(summary.municipality_id), col(summary.centre_id))
    per_month = _review_months(scope, counts)
    for is_overdue, by_now in ((True, None), (False, scope.now)):
        where = and_(place, overdue.is_(is_overdue))
        if by_now is not None:
            where = and_(where, next_due <= by_now)
        for month_index, due in connection.execute(
            _monthly(scope, next_due, [func.count()], where, by_range=False)
        ).all():
            for found in (per_month[month_index], counts.reviews):
                found.due += due
                if is_overdue:
                    found.overdue_now += due


def _closures(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    fact = ClosureFact
    # Every counted reason, zero or not (a duplicate has no fact: store/fact_writer.py).
    counts.closures = dict.fromkeys(COUNTED_CLOSURES, 0)
    for reason, number in connection.execute(
        sa_select(col(fact.reason), func.count())
        .where(_where(scope, col(fact.municipality_id), col(fact.centre_id), col(fact.closed_at)))
        .group_by(col(fact.municipality_id), col(fact.reason))
    ).all():
        key = ClosureReason(reason)
        counts.closures[key] = counts.closures.get(key, 0) + number


def _referrals(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    """Referrals dispatched in the period, by partner kind, with what became of them and the
    hours to their acknowledgement: one range of ix_referrals_municipality_dispatched."""
    referral = ReferralSummary
    hours = col(referral.acknowledge_hours)
    rows = connection.execute(
        sa_select(col(referral.actor_kind), hours, *referral_outcomes())
        .where(
            _where(
                scope,
                col(referral.municipality_id),
                col(referral.centre_id),
                col(referral.dispatched_at),
            )
        )
        .group_by(col(referral.municipality_id), col(referral.actor_kind), hours)
    ).all()
    for actor, value, *numbers in rows:
        found = counts.referrals.setdefault(ActorKind(actor), ActorReferrals())
        for outcome, number in zip(REFERRAL_OUTCOMES, numbers, strict=True):
            setattr(found, outcome, getattr(found, outcome) + int(number))
        if value is not None:
            found.acknowledge_hours[int(value)] = (
                found.acknowledge_hours.get(int(value), 0) + numbers[0]
            )


def acknowledge_hours(scope: ReportScope) -> Any:
    """(kind, hours, referrals) of the referrals dispatched in the period and acknowledged."""
    referral = ReferralSummary
    hours = col(referral.acknowledge_hours)
    return (
        sa_select(col(referral.actor_kind), hours, func.count())
        .where(
            _where(
                scope,
                col(referral.municipality_id),
                col(referral.centre_id),
                col(referral.dispatched_at),
            ),
            hours.is_not(None),
        )
        .group_by(col(referral.actor_kind), hours)
    )


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


def _partners_of(scope: ReportScope, partner_id: Any) -> list[ColumnElement[bool]]:
    """The partners of the scope's municipalities (none: no condition): a referral goes to a
    partner of its case's municipality (rules/partners.py), so only theirs can have written a
    note on one in scope. Lets the notes be read by partner (ix_referral_notes_partner)."""
    if scope.municipalities is None:
        return []
    ids = sa_select(col(PartnerAgency.id)).where(
        col(PartnerAgency.municipality_id).in_(scope.municipalities)
    )
    return [partner_id.in_(ids)]


def acting_partners(connection: Any, scope: ReportScope) -> set[tuple[str, str]]:
    """(centre, partner) of the partners that acted in the network in the period: acknowledged,
    declined or completed a referral of the centre, wrote a progress note on one, or referred
    a client to it. Each part one range of an index on its instant."""
    referral = ReferralSummary
    in_scope = _place(scope, col(referral.municipality_id), col(referral.centre_id))
    pair = [col(referral.centre_id), col(referral.partner_id)]
    inbound = InboundReferral
    note = ReferralNoteRecord
    parts = [
        sa_select(*pair).where(in_scope, _period(scope, col(referral.acknowledged_at))),
        sa_select(*pair).where(
            in_scope,
            _period(scope, col(referral.ended_at)),
            col(referral.status).in_([ReferralStatus.DECLINED, ReferralStatus.COMPLETED]),
        ),
        sa_select(col(inbound.centre_id), col(inbound.partner_id)).where(
            _where(
                scope, col(inbound.municipality_id), col(inbound.centre_id), col(inbound.created_at)
            )
        ),
        # From the period's notes to their referrals (a referral in scope names its centre):
        # a join would let the planner walk the municipality's referrals to their notes.
        sa_select(
            sa_select(col(referral.centre_id))
            .where(col(referral.id) == col(note.referral_id), in_scope)
            .scalar_subquery(),
            col(note.partner_id),
        ).where(_period(scope, col(note.at)), *_partners_of(scope, col(note.partner_id))),
    ]
    # UNION, not UNION ALL: the database drops the repeats (a partner acts many times a month).
    return {
        (centre, partner)
        for centre, partner in connection.execute(union(*parts)).all()
        if centre is not None
    }


def _needs_and_rules(connection: Any, scope: ReportScope, counts: EvaluationCounts) -> None:
    """Needs by kind, rule hits by rule: each one range of its month index."""
    need = NeedFact
    for kind, number in connection.execute(
        sa_select(col(need.need_kind), func.count())
        .where(_where(scope, col(need.municipality_id), col(need.centre_id), col(need.at)))
        .group_by(col(need.municipality_id), col(need.need_kind))
    ).all():
        counts.needs[NeedKind(kind)] = counts.needs.get(NeedKind(kind), 0) + number
    hit = RuleHitFact
    for rule, number in connection.execute(
        sa_select(col(hit.rule), func.count())
        .where(_where(scope, col(hit.municipality_id), col(hit.centre_id), col(hit.at)))
        .group_by(col(hit.municipality_id), col(hit.rule))
    ).all():
        counts.rules[rule] = counts.rules.get(rule, 0) + number


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
