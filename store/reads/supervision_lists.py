"""The coordination's daily lists, each paged with its total: the referrals late past their
deadline (unanswered, escalated or stalled; domain/late_referrals.py) with the least time left
first, and the supervisors' open tasks of the municipality, soonest due first. (The overdue
reviews are `store.reads.supervision.overdue_review_page`.)

Each page is two statements, the rows and their count, however many rows there are: the
order, the limit and the offset are SQL's. Ids, stages, dates and counts only; no client's
name is selected.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_, type_coerce
from sqlalchemy import case as sql_case
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func

from domain.enums import ActorKind, NeedKind
from domain.referral import ReferralStatus
from domain.workdays import DEFAULT_LAND
from store.models import Municipality, Role
from store.projections import CaseSummary, ReferralStepRecord, ReferralSummary, TaskRecord
from store.reads.paging import Counted, count_of, counted
from store.types import UTCDateTime


def municipality_land(session: Session, municipality_id: str) -> str:
    """The Land whose working days the municipality's clocks count (the default Land for a
    municipality the directory lacks)."""
    municipality = session.get(Municipality, municipality_id)
    return municipality.land if municipality is not None else DEFAULT_LAND


@dataclass(frozen=True)
class LateReferralRow:
    """A late referral as the list shows it: the read model's columns without the client's,
    and the partner's last step (its newest timeline entry; the acknowledgement, or the
    dispatch, for a referral whose steps predate the timeline)."""

    id: str
    case_id: str
    partner_id: str
    actor_kind: ActorKind
    measure: str
    need_kind: NeedKind
    status: ReferralStatus
    dispatched_at: datetime
    acknowledge_by: datetime | None
    escalate_at: datetime | None
    expires_at: datetime | None
    acknowledged_at: datetime | None
    escalated: bool
    last_step_at: datetime


def _last_step() -> ColumnElement[Any]:
    """The referral's last step, per row (the index on `referral_steps.referral_id`)."""
    newest = (
        sa_select(func.max(col(ReferralStepRecord.at)))
        .where(col(ReferralStepRecord.referral_id) == col(ReferralSummary.id))
        .correlate(ReferralSummary)
        .scalar_subquery()
    )
    return type_coerce(
        func.coalesce(
            newest, col(ReferralSummary.acknowledged_at), col(ReferralSummary.dispatched_at)
        ),
        UTCDateTime(),
    )


def _instant(value: datetime) -> ColumnElement[Any]:
    # Bound as the column type: naive UTC text on SQLite, so it compares like the stored values.
    return literal(value, UTCDateTime())


def late_referrals(
    session: Session,
    municipality_id: str,
    now: datetime,
    stalled_before: datetime,
    page: int,
    page_size: int,
) -> Counted[LateReferralRow]:
    """Page `page` of the municipality's late referrals (domain/late_referrals.py), the least
    time left first: the stalled ones (their deadline has passed), longest silent first, then
    the unanswered ones by their next deadline (escalation; for an escalated one, expiry).
    `stalled_before`: `domain.late_referrals.stalled_before` for the municipality's Land."""
    last_step = _last_step()
    status = col(ReferralSummary.status)
    dispatched = status == ReferralStatus.DISPATCHED
    acknowledged = status == ReferralStatus.ACKNOWLEDGED
    unanswered = and_(
        dispatched,
        or_(
            col(ReferralSummary.escalated).is_(True),
            col(ReferralSummary.acknowledge_by) < _instant(now),
        ),
    )
    stalled = and_(acknowledged, last_step < _instant(stalled_before))
    # Rows without deadlines (none since migration 0004) sort by their dispatch.
    next_deadline = sql_case(
        (acknowledged, last_step),
        (
            col(ReferralSummary.escalated).is_(True),
            func.coalesce(col(ReferralSummary.expires_at), col(ReferralSummary.dispatched_at)),
        ),
        else_=func.coalesce(col(ReferralSummary.escalate_at), col(ReferralSummary.dispatched_at)),
    )
    query = (
        sa_select(
            col(ReferralSummary.id),
            col(ReferralSummary.case_id),
            col(ReferralSummary.partner_id),
            col(ReferralSummary.actor_kind),
            col(ReferralSummary.measure),
            col(ReferralSummary.need_kind),
            status,
            col(ReferralSummary.dispatched_at),
            col(ReferralSummary.acknowledge_by),
            col(ReferralSummary.escalate_at),
            col(ReferralSummary.expires_at),
            col(ReferralSummary.acknowledged_at),
            col(ReferralSummary.escalated),
            last_step.label("last_step_at"),
        )
        .where(
            col(ReferralSummary.municipality_id) == municipality_id,
            status.in_((ReferralStatus.DISPATCHED, ReferralStatus.ACKNOWLEDGED)),
            or_(unanswered, stalled),
        )
        .order_by(
            sql_case((acknowledged, 0), else_=1),
            next_deadline,
            col(ReferralSummary.id),
        )
    )
    found = session.connection().execute(query.offset((page - 1) * page_size).limit(page_size))
    rows = [LateReferralRow(**row._asdict()) for row in found]
    return counted(rows, count_of(session, query), page, page_size)


@dataclass(frozen=True)
class SupervisorTaskRow:
    """An open task of the municipality's supervisors, with the centre that holds its case
    (None while the case is not projected)."""

    id: str
    case_id: str
    kind: str
    title: str  # German, the workflow's words; no client data
    due_at: datetime | None
    created_at: datetime
    referral_id: str | None
    centre_id: str | None


def supervisor_tasks(
    session: Session, municipality_id: str, page: int, page_size: int
) -> Counted[SupervisorTaskRow]:
    """Page `page` of the supervisors' open tasks of the municipality, soonest due first
    (`ix_tasks_assignee`: supervisor tasks name the municipality as assignee)."""
    mine = (
        col(TaskRecord.assignee_role) == Role.SUPERVISOR,
        col(TaskRecord.assignee_id) == municipality_id,
        col(TaskRecord.done).is_(False),
    )
    query = (
        sa_select(
            col(TaskRecord.id),
            col(TaskRecord.case_id),
            col(TaskRecord.kind),
            col(TaskRecord.title),
            col(TaskRecord.due_at),
            col(TaskRecord.created_at),
            col(TaskRecord.referral_id),
            col(CaseSummary.centre_id),
        )
        .select_from(TaskRecord)
        .outerjoin(CaseSummary, col(CaseSummary.case_id) == col(TaskRecord.case_id))
        .where(*mine)
        .order_by(col(TaskRecord.due_at).asc().nulls_last(), col(TaskRecord.id))
    )
    found = session.connection().execute(query.offset((page - 1) * page_size).limit(page_size))
    rows = [SupervisorTaskRow(**row._asdict()) for row in found]
    total = count_of(session, sa_select(col(TaskRecord.id)).where(*mine))
    return counted(rows, total, page, page_size)
