"""The municipal coordination's reads (`/supervision/...`, `/reports/evaluation` and the
pages under "/aufsicht"): overdue reviews, open referrals, the caseload counts, one case's
overview, the evaluation counts and the municipality's case list. Ids, stages, dates and
counts only: no names leave these queries but the ones a row holds anyway.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from store.directory import OPEN_REFERRAL_STATUSES
from store.models import Role
from store.projections import CaseSummary, ReferralSummary, ReviewRecord, TaskRecord
from store.reads.paging import Slice, first, page_of


def overdue_reviews(municipality_id: str) -> SelectOfScalar[CaseSummary]:
    """Cases of the municipality whose review is overdue, most overdue first
    (`ix_case_summaries_overdue`; bench/api.py measures this query)."""
    return (
        select(CaseSummary)
        .where(
            CaseSummary.municipality_id == municipality_id,
            col(CaseSummary.review_overdue).is_(True),
        )
        .order_by(col(CaseSummary.next_review_due), col(CaseSummary.case_id))
    )


def overdue_review_page(
    session: Session, municipality_id: str, page: int, page_size: int
) -> Slice[CaseSummary]:
    return page_of(session, overdue_reviews(municipality_id), page, page_size)


def open_referrals(
    municipality_id: str, escalated: bool | None = None
) -> SelectOfScalar[ReferralSummary]:
    """Referrals of the municipality not yet completed, declined or expired, oldest first."""
    query = select(ReferralSummary).where(
        ReferralSummary.municipality_id == municipality_id,
        col(ReferralSummary.status).in_(OPEN_REFERRAL_STATUSES),
    )
    if escalated is not None:
        query = query.where(ReferralSummary.escalated == escalated)
    return query.order_by(col(ReferralSummary.dispatched_at), col(ReferralSummary.id))


def open_referral_page(
    session: Session,
    municipality_id: str,
    page: int,
    page_size: int,
    escalated: bool | None = None,
) -> Slice[ReferralSummary]:
    return page_of(session, open_referrals(municipality_id, escalated), page, page_size)


def oldest_open_referrals(
    session: Session, municipality_id: str, limit: int
) -> list[ReferralSummary]:
    """The first `limit` open referrals, whole rows (the dashboard picks the overdue ones)."""
    return first(session, open_referrals(municipality_id), limit)


@dataclass(frozen=True)
class CaseloadCount:
    """Cases of one counsellor of one centre in one stage, and how many are overdue."""

    centre_id: str
    counsellor_id: str
    stage: str
    cases: int
    overdue: int


def caseload(session: Session, municipality_id: str) -> list[CaseloadCount]:
    """Cases per centre, counsellor and stage, ordered by the three."""
    overdue = func.sum(sql_case((col(CaseSummary.review_overdue).is_(True), 1), else_=0))
    query = (
        sa_select(
            col(CaseSummary.centre_id),
            col(CaseSummary.counsellor_id),
            col(CaseSummary.stage),
            func.count(),
            overdue,
        )
        .where(col(CaseSummary.municipality_id) == municipality_id)
        .group_by(
            col(CaseSummary.centre_id), col(CaseSummary.counsellor_id), col(CaseSummary.stage)
        )
        .order_by(
            col(CaseSummary.centre_id), col(CaseSummary.counsellor_id), col(CaseSummary.stage)
        )
    )
    return [
        CaseloadCount(centre, counsellor, stage, count, late or 0)
        for centre, counsellor, stage, count, late in session.connection().execute(query)
    ]


@dataclass(frozen=True)
class CaseOverviewRows:
    """What coordination sees of one case: its summary row (None while not projected yet),
    its referrals (oldest first) and the supervisors' open tasks on it (soonest first)."""

    summary: CaseSummary | None
    referrals: list[ReferralSummary]
    supervisor_tasks: list[TaskRecord]


def case_overview(session: Session, case_id: str) -> CaseOverviewRows:
    row = session.get(CaseSummary, case_id)
    referrals = session.exec(
        select(ReferralSummary)
        .where(ReferralSummary.case_id == case_id)
        .order_by(col(ReferralSummary.dispatched_at), col(ReferralSummary.id))
    ).all()
    tasks = session.exec(
        select(TaskRecord)
        .where(
            TaskRecord.case_id == case_id,
            TaskRecord.assignee_role == Role.SUPERVISOR,
            col(TaskRecord.done).is_(False),
        )
        .order_by(col(TaskRecord.due_at), col(TaskRecord.id))
    ).all()
    return CaseOverviewRows(row, list(referrals), list(tasks))


@dataclass(frozen=True)
class EvaluationCounts:
    """The model project's two survey questions over the municipality's reviews: how many
    reviews and cases, and the yes and no answers to each question."""

    reviews: int
    cases: int
    helped: int
    not_helped: int
    easier: int
    not_easier: int


def evaluation(session: Session, municipality_id: str) -> EvaluationCounts:
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
        .where(col(CaseSummary.municipality_id) == municipality_id)
    )
    reviews, cases, helped, not_helped, easier, not_easier = (
        session.connection().execute(query).one()
    )
    return EvaluationCounts(
        reviews, cases, helped or 0, not_helped or 0, easier or 0, not_easier or 0
    )


def municipality_cases(
    session: Session,
    municipality_id: str,
    limit: int,
    *,
    centre: str | None = None,
    counsellor: str | None = None,
    stage: str | None = None,
    overdue_only: bool = False,
) -> list[CaseSummary]:
    """The municipality's cases a dashboard row counted, newest change first, narrowed like
    that row (centre, counsellor, stage, overdue)."""
    query = select(CaseSummary).where(CaseSummary.municipality_id == municipality_id)
    if centre:
        query = query.where(CaseSummary.centre_id == centre)
    if counsellor:
        query = query.where(CaseSummary.counsellor_id == counsellor)
    if stage:
        query = query.where(CaseSummary.stage == stage)
    if overdue_only:
        query = query.where(col(CaseSummary.review_overdue).is_(True))
    query = query.order_by(col(CaseSummary.updated_at).desc(), col(CaseSummary.case_id))
    return first(session, query, limit)
