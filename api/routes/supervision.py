"""The municipal coordination's view: overdue reviews, open referrals, caseloads, one case's
summary and the evaluation figures. All from indexed read-model columns, never from the
workflows, and without personal data: ids, stages, dates and counts only."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import case as sql_case
from sqlalchemy import select as sa_select
from sqlmodel import col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from api.deps import MunicipalityListing, SessionDep, SupervisedCase
from api.pagination import Page, PageNumber, PageSize, paginate
from domain.enums import ActorKind
from domain.referral import ReferralStatus
from store.directory import OPEN_REFERRAL_STATUSES
from store.models import Role
from store.projections import CaseSummary, ReferralSummary, ReviewRecord, TaskRecord

router = APIRouter(tags=["supervision"])


class OverdueReview(BaseModel):
    case_id: str
    centre_id: str
    counsellor_id: str
    stage: str
    next_review_due: datetime | None
    days_overdue: int | None


class OpenReferral(BaseModel):
    id: str
    case_id: str
    partner_id: str
    actor: ActorKind
    measure: str
    status: ReferralStatus
    dispatched_at: datetime
    acknowledged_at: datetime | None
    escalated: bool


class CaseloadRow(BaseModel):
    centre_id: str
    counsellor_id: str
    stage: str
    cases: int
    overdue: int


class SupervisedTask(BaseModel):
    id: str
    kind: str
    title: str
    due_at: datetime | None
    referral_id: str | None


class CaseOverview(BaseModel):
    case_id: str
    centre_id: str
    counsellor_id: str
    stage: str
    opened_at: datetime
    updated_at: datetime
    next_review_due: datetime | None
    review_overdue: bool
    referrals: list[OpenReferral]
    supervisor_tasks: list[SupervisedTask]


class SurveyQuestion(BaseModel):
    yes: int
    no: int
    unanswered: int
    share_yes: float | None  # of the answers given, 0..1


class Evaluation(BaseModel):
    municipality_id: str
    reviews: int
    cases: int
    agreement_helped: SurveyQuestion
    easier_to_keep_at_it: SurveyQuestion


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


def _open_referral(row: ReferralSummary) -> OpenReferral:
    return OpenReferral(
        id=row.id,
        case_id=row.case_id,
        partner_id=row.partner_id,
        actor=row.actor_kind,
        measure=row.measure,
        status=row.status,
        dispatched_at=row.dispatched_at,
        acknowledged_at=row.acknowledged_at,
        escalated=row.escalated,
    )


def overdue_reviews_query(municipality_id: str) -> SelectOfScalar[CaseSummary]:
    """The query behind `GET /supervision/overdue-reviews` (also run by bench/api.py)."""
    return (
        select(CaseSummary)
        .where(
            CaseSummary.municipality_id == municipality_id,
            col(CaseSummary.review_overdue).is_(True),
        )
        .order_by(col(CaseSummary.next_review_due), col(CaseSummary.case_id))
    )


@router.get("/supervision/overdue-reviews", name="supervision.overdue_reviews")
def overdue_reviews(
    supervisor: MunicipalityListing,
    session: SessionDep,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[OverdueReview]:
    """Cases of the municipality whose review is overdue, most overdue first."""
    query = overdue_reviews_query(supervisor.municipality_id or "")
    now = datetime.now(UTC)
    return paginate(session, query, page, page_size, lambda row: _overdue(row, now))


@router.get("/supervision/open-referrals", name="supervision.open_referrals")
def open_referrals(
    supervisor: MunicipalityListing,
    session: SessionDep,
    escalated: Annotated[bool | None, Query(description="Nur eskalierte (true).")] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[OpenReferral]:
    """Referrals of the municipality not yet completed, declined or expired, oldest first."""
    query = select(ReferralSummary).where(
        ReferralSummary.municipality_id == supervisor.municipality_id,
        col(ReferralSummary.status).in_(OPEN_REFERRAL_STATUSES),
    )
    if escalated is not None:
        query = query.where(ReferralSummary.escalated == escalated)
    query = query.order_by(col(ReferralSummary.dispatched_at), col(ReferralSummary.id))
    return paginate(session, query, page, page_size, _open_referral)


@router.get("/supervision/caseload", name="supervision.caseload")
def caseload(supervisor: MunicipalityListing, session: SessionDep) -> list[CaseloadRow]:
    """Cases per centre, counsellor and stage, with how many of them are overdue."""
    overdue = func.sum(sql_case((col(CaseSummary.review_overdue).is_(True), 1), else_=0))
    query = (
        sa_select(
            col(CaseSummary.centre_id),
            col(CaseSummary.counsellor_id),
            col(CaseSummary.stage),
            func.count(),
            overdue,
        )
        .where(col(CaseSummary.municipality_id) == supervisor.municipality_id)
        .group_by(
            col(CaseSummary.centre_id), col(CaseSummary.counsellor_id), col(CaseSummary.stage)
        )
        .order_by(
            col(CaseSummary.centre_id), col(CaseSummary.counsellor_id), col(CaseSummary.stage)
        )
    )
    return [
        CaseloadRow(
            centre_id=centre, counsellor_id=counsellor, stage=stage, cases=count, overdue=late or 0
        )
        for centre, counsellor, stage, count, late in session.connection().execute(query)
    ]


@router.get("/supervision/cases/{case_id}", name="case.supervise")
def case_overview(case: SupervisedCase, session: SessionDep) -> CaseOverview:
    """One case of the municipality as coordination sees it: stage, clocks, referrals and the
    supervisor's tasks; no profile, no names."""
    row = session.get(CaseSummary, case.id)
    referrals = session.exec(
        select(ReferralSummary)
        .where(ReferralSummary.case_id == case.id)
        .order_by(col(ReferralSummary.dispatched_at), col(ReferralSummary.id))
    ).all()
    tasks = session.exec(
        select(TaskRecord)
        .where(
            TaskRecord.case_id == case.id,
            TaskRecord.assignee_role == Role.SUPERVISOR,
            col(TaskRecord.done).is_(False),
        )
        .order_by(col(TaskRecord.due_at), col(TaskRecord.id))
    ).all()
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
        centre_id=row.centre_id,
        counsellor_id=row.counsellor_id,
        stage=row.stage,
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        next_review_due=row.next_review_due,
        review_overdue=row.review_overdue,
        referrals=[_open_referral(r) for r in referrals],
        supervisor_tasks=[
            SupervisedTask(
                id=t.id, kind=t.kind, title=t.title, due_at=t.due_at, referral_id=t.referral_id
            )
            for t in tasks
        ],
    )


def _question(yes: int | None, no: int | None, total: int) -> SurveyQuestion:
    yes, no = yes or 0, no or 0
    answered = yes + no
    return SurveyQuestion(
        yes=yes,
        no=no,
        unanswered=total - answered,
        share_yes=round(yes / answered, 4) if answered else None,
    )


@router.get("/reports/evaluation", name="supervision.evaluation")
def evaluation(supervisor: MunicipalityListing, session: SessionDep) -> Evaluation:
    """The model project's two questions over every review recorded in the municipality:
    "did the agreement help?" and "did it make it easier to stay on the ball?"."""

    def answered(column: Any, value: bool) -> Any:
        return func.sum(sql_case((column == value, 1), else_=0))

    query = (
        sa_select(
            func.count(),
            func.count(func.distinct(col(ReviewRecord.case_id))),
            answered(col(ReviewRecord.agreement_helped), True),
            answered(col(ReviewRecord.agreement_helped), False),
            answered(col(ReviewRecord.easier_to_keep_at_it), True),
            answered(col(ReviewRecord.easier_to_keep_at_it), False),
        )
        .select_from(ReviewRecord)
        .join(CaseSummary, col(CaseSummary.case_id) == col(ReviewRecord.case_id))
        .where(col(CaseSummary.municipality_id) == supervisor.municipality_id)
    )
    reviews, cases, helped, not_helped, easier, not_easier = (
        session.connection().execute(query).one()
    )
    return Evaluation(
        municipality_id=supervisor.municipality_id or "",
        reviews=reviews,
        cases=cases,
        agreement_helped=_question(helped, not_helped, reviews),
        easier_to_keep_at_it=_question(easier, not_easier, reviews),
    )
