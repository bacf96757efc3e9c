"""What the municipal coordination sees of one case, and what it changes, as both front doors
show and do it: `GET /supervision/cases/{id}` and the page "/aufsicht/faelle/{id}"
(`overview`), and the withdrawal or re-route of an escalated referral
(`POST /supervision/referrals/{id}/withdraw|reroute` and the page
"/aufsicht/vermittlungen/{id}": `withdraw_escalated`, `reroute_escalated`), and the
assignment of a case transferred without a counsellor (`POST /supervision/cases/{id}/assign`
and the form of "/aufsicht/faelle/{id}": `assign_counsellor`). Built from the read model's rows
(`store.reads.supervision`); ids, stages, dates and counts only, no names.
"""

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlmodel import Session

from api import casework
from api.deps import CaseRef, Services, SupervisedReferralRef, actor_of
from api.gateway import Gateway
from domain.actions import (
    CounsellorChoice,
    Reassignment,
    ReferralReroute,
    ReferralWithdrawal,
    RerouteChoice,
    WithdrawalReason,
)
from domain.case import ActionResult
from domain.enums import ActorKind
from domain.referral import ReferralStatus
from store.projections import ReferralSummary
from store.reads import supervision as supervision_reads
from workflows.agreement import AgreementWorkflow


class OpenReferral(BaseModel):
    id: str
    case_id: str
    partner_id: str
    actor: ActorKind
    measure: str
    status: ReferralStatus
    dispatched_at: datetime
    acknowledge_by: datetime | None = None  # the referral's deadlines, fixed at dispatch
    escalate_at: datetime | None = None
    expires_at: datetime | None = None
    acknowledged_at: datetime | None
    escalated: bool


class SupervisedTask(BaseModel):
    id: str
    kind: str
    title: str
    due_at: datetime | None
    referral_id: str | None


class CaseOverview(BaseModel):
    case_id: str
    number: str = ""  # "MUS-2026-0147"; "" while the case is not projected yet
    centre_id: str
    counsellor_id: str
    stage: str
    opened_at: datetime
    updated_at: datetime
    next_review_due: datetime | None
    review_overdue: bool
    referrals: list[OpenReferral]
    supervisor_tasks: list[SupervisedTask]


def open_referral(row: ReferralSummary) -> OpenReferral:
    return OpenReferral(
        id=row.id,
        case_id=row.case_id,
        partner_id=row.partner_id,
        actor=row.actor_kind,
        measure=row.measure,
        status=row.status,
        dispatched_at=row.dispatched_at,
        acknowledge_by=row.acknowledge_by,
        escalate_at=row.escalate_at,
        expires_at=row.expires_at,
        acknowledged_at=row.acknowledged_at,
        escalated=row.escalated,
    )


def overview(session: Session, case: CaseRef) -> CaseOverview:
    """One case as coordination sees it: stage, clocks, referrals and the supervisors' tasks."""
    rows = supervision_reads.case_overview(session, case.id)
    row = rows.summary
    if row is None:
        # Opened a moment ago and not projected yet: what the scope check knew.
        now = datetime.now(UTC)
        return CaseOverview(
            case_id=case.id,
            centre_id=case.centre_id,
            counsellor_id=case.counsellor_id or "",
            stage="intake",
            opened_at=now,
            updated_at=now,
            next_review_due=None,
            review_overdue=False,
            referrals=[],
            supervisor_tasks=[],
        )
    return CaseOverview(
        case_id=row.case_id,
        number=row.number,
        centre_id=row.centre_id,
        counsellor_id=row.counsellor_id,
        stage=row.stage,
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        next_review_due=row.next_review_due,
        review_overdue=row.review_overdue,
        referrals=[open_referral(r) for r in rows.referrals],
        supervisor_tasks=[
            SupervisedTask(
                id=t.id, kind=t.kind, title=t.title, due_at=t.due_at, referral_id=t.referral_id
            )
            for t in rows.supervisor_tasks
        ],
    )


async def withdraw_escalated(
    gateway: Gateway, referral: SupervisedReferralRef, body: WithdrawalReason, key: str | None
) -> ActionResult:
    """Take back an escalated referral as the supervisor: the case's `withdraw_referral`
    update with her actor, which refuses (409) a referral that is not escalated."""
    change = ReferralWithdrawal(referral_id=referral.id, reason=body.reason)
    actor = actor_of(referral.actor)
    return await gateway.update_case(
        referral.case_id, AgreementWorkflow.withdraw_referral, change, key=key, actor=actor
    )


async def reroute_escalated(
    gateway: Gateway, referral: SupervisedReferralRef, body: RerouteChoice, key: str | None
) -> ActionResult:
    """Hand an escalated referral to another partner of its kind (or the next the directory
    offers) as the supervisor: the case's `reroute_referral` update with her actor."""
    change = ReferralReroute(
        referral_id=referral.id, partner_id=body.partner_id, reason=body.reason
    )
    actor = actor_of(referral.actor)
    return await gateway.update_case(
        referral.case_id, AgreementWorkflow.reroute_referral, change, key=key, actor=actor
    )


async def assign_counsellor(
    services: Services, case: CaseRef, body: CounsellorChoice, key: str | None
) -> ActionResult:
    """Give a case that waits for a counsellor after a transfer one of the centre that holds
    it, as the supervisor: 422 on `counsellor_id` unless the directory has her as an active
    counsellor of that centre; then the case's `reassign` update with the supervisor's actor,
    which refuses (409) a case not waiting for one and (422) a case another centre holds by
    now, and marks the supervisors' task done."""
    change = Reassignment(counsellor_id=body.counsellor_id, centre_id=case.centre_id)
    await casework.check_reassignment(services, case, change)
    actor = actor_of(case.actor)
    return await services.gateway.update_case(
        case.id, AgreementWorkflow.reassign, change, key=key, actor=actor
    )
