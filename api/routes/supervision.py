"""The municipal coordination's view: overdue reviews, open and late referrals, the
supervisors' tasks, caseloads, one case's summary. All from indexed
read-model columns (`store.reads.supervision`, `store.reads.supervision_lists`), never from
the workflows, and without personal data: ids, stages, dates and counts only. The daily lists
are pages with their total. The dashboard pages show the same reads (api/ui/), and the
coordination's pages send the same updates (`api.supervision`): an escalated referral
withdrawn or handed on, a transferred case given a counsellor."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api import supervision, supervision_lists
from api.deps import (
    GatewayDep,
    IdempotencyKey,
    MunicipalityListing,
    ServicesDep,
    SessionDep,
    SupervisedCase,
    SupervisedReferral,
)
from api.pagination import CountedPage, PageNumber, PageSize, paginate_counted
from api.supervision import CaseOverview, OpenReferral
from api.supervision_lists import LateReferral, SupervisorTask
from domain.actions import CounsellorChoice, RerouteChoice, WithdrawalReason
from domain.case import ActionResult
from store.projections import CaseSummary
from store.reads import supervision as supervision_reads

router = APIRouter(tags=["supervision"])


class OverdueReview(BaseModel):
    case_id: str
    centre_id: str
    counsellor_id: str
    stage: str
    next_review_due: datetime | None
    days_overdue: int | None


class CaseloadRow(BaseModel):
    centre_id: str
    counsellor_id: str
    stage: str
    cases: int
    overdue: int


def _overdue(row: CaseSummary, now: datetime) -> OverdueReview:
    due = row.next_review_due
    return OverdueReview(
        case_id=row.case_id,
        centre_id=row.centre_id,
        counsellor_id=row.counsellor_id,
        stage=row.stage,
        next_review_due=due,
        days_overdue=(now - due).days if due is not None else None,
    )


@router.get("/supervision/overdue-reviews", name="supervision.overdue_reviews")
def overdue_reviews(
    supervisor: MunicipalityListing,
    session: SessionDep,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> CountedPage[OverdueReview]:
    """Cases of the municipality whose review is overdue, most overdue first; `total`: all of
    them."""
    found = supervision_reads.overdue_review_page(
        session, supervisor.municipality_id or "", page, page_size
    )
    now = datetime.now(UTC)
    return paginate_counted(found, lambda row: _overdue(row, now))


@router.get("/supervision/open-referrals", name="supervision.open_referrals")
def open_referrals(
    supervisor: MunicipalityListing,
    session: SessionDep,
    escalated: Annotated[bool | None, Query(description="Nur eskalierte (true).")] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> CountedPage[OpenReferral]:
    """Referrals of the municipality not yet completed, declined or expired, oldest first;
    `total`: all of them."""
    found = supervision_reads.open_referral_page(
        session, supervisor.municipality_id or "", page, page_size, escalated
    )
    return paginate_counted(found, supervision.open_referral)


@router.get("/supervision/late-referrals", name="supervision.late_referrals")
def late_referrals(
    supervisor: MunicipalityListing,
    session: SessionDep,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> CountedPage[LateReferral]:
    """Referrals of the municipality past their deadline, the least time left first:
    acknowledged but stalled (no step from the partner for 20 working days; their deadline has
    passed), then unanswered past the acknowledgement deadline (by their escalation) and
    escalated (by their expiry). `total`: all of them."""
    now = datetime.now(UTC)
    return supervision_lists.late_referrals(
        session, supervisor.municipality_id or "", page, page_size, now
    )


@router.get("/supervision/tasks", name="supervision.tasks")
def tasks(
    supervisor: MunicipalityListing,
    session: SessionDep,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> CountedPage[SupervisorTask]:
    """The supervisors' open tasks of the municipality (escalated referrals, overdue reviews,
    measures reported without partner, transferred cases without a counsellor), soonest due
    first; `total`: all of them."""
    return supervision_lists.supervisor_tasks(
        session, supervisor.municipality_id or "", page, page_size
    )


@router.get("/supervision/caseload", name="supervision.caseload")
def caseload(supervisor: MunicipalityListing, session: SessionDep) -> list[CaseloadRow]:
    """Cases per centre, counsellor and stage, with how many of them are overdue."""
    counts = supervision_reads.caseload(session, supervisor.municipality_id or "")
    return [
        CaseloadRow(
            centre_id=c.centre_id,
            counsellor_id=c.counsellor_id,
            stage=c.stage,
            cases=c.cases,
            overdue=c.overdue,
        )
        for c in counts
    ]


@router.get("/supervision/cases/{case_id}", name="case.supervise")
def case_overview(case: SupervisedCase, session: SessionDep) -> CaseOverview:
    """One case of the municipality as coordination sees it: stage, clocks, referrals and the
    supervisor's tasks; no profile, no names."""
    return supervision.overview(session, case)


@router.post("/supervision/referrals/{referral_id}/withdraw", name="supervision.referral_withdraw")
async def withdraw_escalated_referral(
    body: WithdrawalReason,
    referral: SupervisedReferral,
    gateway: GatewayDep,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Take back an escalated referral of the municipality (unanswered after ten working
    days), with the reason; 409 for one that is not escalated."""
    return await supervision.withdraw_escalated(gateway, referral, body, key)


@router.post("/supervision/referrals/{referral_id}/reroute", name="supervision.referral_reroute")
async def reroute_escalated_referral(
    body: RerouteChoice,
    referral: SupervisedReferral,
    gateway: GatewayDep,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Hand an escalated referral to another partner of the same kind (`partner_id`, or the
    next the directory offers), with the reason; the escalated one is withdrawn."""
    return await supervision.reroute_escalated(gateway, referral, body, key)


@router.post("/supervision/cases/{case_id}/assign", name="supervision.case_assign")
async def assign_counsellor(
    body: CounsellorChoice,
    case: SupervisedCase,
    services: ServicesDep,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Give a case transferred without a counsellor one of the centre that holds it now (an
    active counsellor account of that centre: 422 on `counsellor_id` otherwise); the
    supervisors' task for it is done. 409 for a case that does not wait for a counsellor."""
    return await supervision.assign_counsellor(services, case, body, key)
