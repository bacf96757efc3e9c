"""The coordination's daily lists as both front doors show them, each a page with its total:
the referrals late past their deadline (`GET /supervision/late-referrals`, the dashboard and
"/aufsicht/vermittlungen") and the supervisors' open tasks (`GET /supervision/tasks`, the
dashboard and "/aufsicht/aufgaben"). Built from `store.reads.supervision_lists`; ids, stages,
dates and counts only.
"""

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session

from api.pagination import CountedPage, paginate_counted
from domain.enums import ActorKind
from domain.late_referrals import Lateness, deadline, stalled_before
from domain.referral import ReferralStatus
from store.reads import supervision_lists as list_reads
from store.reads.supervision_lists import LateReferralRow, SupervisorTaskRow


class LateReferral(BaseModel):
    id: str
    case_id: str
    partner_id: str
    actor: ActorKind
    measure: str
    status: ReferralStatus
    lateness: Lateness  # unanswered, escalated or stalled (domain/late_referrals.py)
    # What the list is ordered by, soonest first: the escalation, the expiry, or (stalled) the
    # end of the stall period, which has passed.
    deadline: datetime | None
    dispatched_at: datetime
    acknowledge_by: datetime | None
    escalate_at: datetime | None
    expires_at: datetime | None
    acknowledged_at: datetime | None
    last_step_at: datetime  # the partner's last step (acknowledgement or progress note)
    escalated: bool


class SupervisorTask(BaseModel):
    id: str
    case_id: str
    kind: str
    title: str
    due_at: datetime | None
    created_at: datetime
    referral_id: str | None
    centre_id: str | None  # the centre that holds the case (None: not projected yet)


def _lateness(row: LateReferralRow) -> Lateness:
    # The query let through only late rows: an acknowledged one is stalled, a dispatched one
    # unanswered past its deadline, or escalated.
    if row.status is ReferralStatus.ACKNOWLEDGED:
        return Lateness.STALLED
    return Lateness.ESCALATED if row.escalated else Lateness.UNANSWERED


def _late(row: LateReferralRow, land: str) -> LateReferral:
    late = _lateness(row)
    return LateReferral(
        id=row.id,
        case_id=row.case_id,
        partner_id=row.partner_id,
        actor=row.actor_kind,
        measure=row.measure,
        status=row.status,
        lateness=late,
        deadline=deadline(late, row.escalate_at, row.expires_at, row.last_step_at, land),
        dispatched_at=row.dispatched_at,
        acknowledge_by=row.acknowledge_by,
        escalate_at=row.escalate_at,
        expires_at=row.expires_at,
        acknowledged_at=row.acknowledged_at,
        last_step_at=row.last_step_at,
        escalated=row.escalated,
    )


def late_referrals(
    session: Session, municipality_id: str, page: int, page_size: int, now: datetime
) -> CountedPage[LateReferral]:
    """Page `page` of the municipality's late referrals, the least time left first."""
    land = list_reads.municipality_land(session, municipality_id)
    found = list_reads.late_referrals(
        session, municipality_id, now, stalled_before(now, land), page, page_size
    )
    return paginate_counted(found, lambda row: _late(row, land))


def _task(row: SupervisorTaskRow) -> SupervisorTask:
    return SupervisorTask(
        id=row.id,
        case_id=row.case_id,
        kind=row.kind,
        title=row.title,
        due_at=row.due_at,
        created_at=row.created_at,
        referral_id=row.referral_id,
        centre_id=row.centre_id,
    )


def supervisor_tasks(
    session: Session, municipality_id: str, page: int, page_size: int
) -> CountedPage[SupervisorTask]:
    """Page `page` of the supervisors' open tasks of the municipality, soonest due first."""
    found = list_reads.supervisor_tasks(session, municipality_id, page, page_size)
    return paginate_counted(found, _task)
