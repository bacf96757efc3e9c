"""The municipal coordination's reads (`/supervision/...` and the pages under "/aufsicht"):
overdue reviews, open referrals, the caseload counts, one case's overview, the municipality's
case list, one referral with the partners it may be handed to, and the referrals that found
no partner. Ids, stages, dates and counts only: no client's name leaves these queries. The
names they add are the directory's: of partners, centres and staff (`DirectoryNames`), which
the pages show instead of slugs.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case as sql_case
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from domain.case import TaskKind
from domain.enums import ActorKind, NeedKind
from store.directory import OPEN_REFERRAL_STATUSES
from store.models import Centre, PartnerAgency, Role, User
from store.projections import CaseSummary, ReferralSummary, TaskRecord
from store.reads.paging import Counted, counted_page_of, first


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
) -> Counted[CaseSummary]:
    """Page `page` of the overdue reviews, with how many there are (the dashboard's heading)."""
    return counted_page_of(session, overdue_reviews(municipality_id), page, page_size)


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
) -> Counted[ReferralSummary]:
    return counted_page_of(session, open_referrals(municipality_id, escalated), page, page_size)


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


@dataclass(frozen=True)
class DirectoryNames:
    """The directory's names for the ids a page shows: partners, centres and staff (a user's
    display name). An id the directory does not know, and a user without a display name,
    read as the id itself, so a page never shows a blank where a row names someone."""

    partners: dict[str, str] = field(default_factory=dict)
    centres: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)

    def partner(self, partner_id: str) -> str:
        return self.partners.get(partner_id) or partner_id

    def centre(self, centre_id: str) -> str:
        return self.centres.get(centre_id) or centre_id

    def person(self, username: str | None) -> str:
        if not username:
            return "—"  # a case transferred without a counsellor
        return self.people.get(username) or username


def directory_names(
    session: Session,
    *,
    partners: Collection[str] = (),
    centres: Collection[str] = (),
    people: Collection[str] = (),
) -> DirectoryNames:
    """The names of the given ids: at most three queries however many rows a page lists (one
    per kind of id asked for)."""
    found = DirectoryNames()
    for ids, key, name, names in (
        (partners, col(PartnerAgency.id), col(PartnerAgency.name), found.partners),
        (centres, col(Centre.id), col(Centre.name), found.centres),
        (people, col(User.username), col(User.display_name), found.people),
    ):
        if ids:
            rows = session.connection().execute(sa_select(key, name).where(key.in_(set(ids))))
            names.update({row_id: row_name for row_id, row_name in rows})
    return found


@dataclass(frozen=True)
class PartnerOption:
    """A partner a referral may be handed to: its directory id and name."""

    id: str
    name: str


def reroute_options(session: Session, referral: ReferralSummary) -> list[PartnerOption]:
    """Where the coordination may hand `referral`: the municipality's active partners of its
    kind that offer its measure and have not had this route of the case yet (every referral of
    the route so far, this one included), by name. The directory's word only: the workflow
    checks the chosen one again (kind, active, measure, not tried) before it commits."""
    had = select(ReferralSummary.partner_id).where(
        ReferralSummary.case_id == referral.case_id,
        ReferralSummary.route_id == referral.route_id,
    )
    query = (
        select(PartnerAgency)
        .where(
            PartnerAgency.municipality_id == referral.municipality_id,
            PartnerAgency.kind == referral.actor_kind,
            col(PartnerAgency.active).is_(True),
            col(PartnerAgency.id).not_in(had),
        )
        .order_by(col(PartnerAgency.name), col(PartnerAgency.id))
    )
    # The measures are a JSON list: filtered here, alike on SQLite and PostgreSQL.
    return [
        PartnerOption(partner.id, partner.name)
        for partner in session.exec(query).all()
        if referral.measure in partner.measures
    ]


@dataclass(frozen=True)
class SupervisedReferralRows:
    """One referral as the coordination's page shows it: its row, the case's centre and
    counsellor (None while the case is not projected), the directory's names for all three,
    and the partners it may be handed to."""

    referral: ReferralSummary
    centre_id: str | None
    counsellor_id: str | None
    names: DirectoryNames
    options: list[PartnerOption]


def supervised_referral(session: Session, referral_id: str) -> SupervisedReferralRows | None:
    """The referral's page data; None for a referral without a row."""
    referral = session.get(ReferralSummary, referral_id)
    if referral is None:
        return None
    # Only the two owner columns of the case: its row also holds the client's name.
    owner = session.connection().execute(
        sa_select(col(CaseSummary.centre_id), col(CaseSummary.counsellor_id)).where(
            col(CaseSummary.case_id) == referral.case_id
        )
    )
    centre_id, counsellor_id = owner.one_or_none() or (None, None)
    names = directory_names(
        session,
        partners=[referral.partner_id],
        centres=[centre_id] if centre_id else [],
        people=[counsellor_id] if counsellor_id else [],
    )
    options = reroute_options(session, referral)
    return SupervisedReferralRows(referral, centre_id, counsellor_id, names, options)


@dataclass(frozen=True)
class UnassignedReferral:
    """A measure of the municipality that found no partner: the counsellor's open task
    "kein Partner verfügbar" (`referral_unassigned`), with the referral it follows (the one
    declined, expired or handed on: None when its row is missing) and the case's centre."""

    task_id: str
    case_id: str
    referral_id: str | None
    title: str  # the workflow's words: need, partner kind, why none was found; no client data
    since: datetime
    centre_id: str
    need_kind: NeedKind | None
    actor_kind: ActorKind | None
    measure: str | None


# The tasks that say a measure has no partner (the counsellor's, and the coordination's once
# she reported it).
NO_PARTNER_TASKS = (TaskKind.REFERRAL_UNASSIGNED.value, TaskKind.REFERRAL_REPORTED.value)


def unassigned_referrals(
    session: Session, municipality_id: str, limit: int
) -> list[UnassignedReferral]:
    """The municipality's open tasks of a measure without partner, newest first, in one query:
    the counsellors' `referral_unassigned` and those they reported to the coordination
    (`referral_reported`): the capacity it has to find (no childcare place, no course with
    room)."""
    query = (
        sa_select(
            col(TaskRecord.id),
            col(TaskRecord.case_id),
            col(TaskRecord.referral_id),
            col(TaskRecord.title),
            col(TaskRecord.created_at),
            col(CaseSummary.centre_id),
            col(ReferralSummary.need_kind),
            col(ReferralSummary.actor_kind),
            col(ReferralSummary.measure),
        )
        .select_from(TaskRecord)
        .join(CaseSummary, col(CaseSummary.case_id) == col(TaskRecord.case_id))
        .outerjoin(ReferralSummary, col(ReferralSummary.id) == col(TaskRecord.referral_id))
        .where(
            col(CaseSummary.municipality_id) == municipality_id,
            col(TaskRecord.kind).in_(NO_PARTNER_TASKS),
            col(TaskRecord.done).is_(False),
        )
        .order_by(col(TaskRecord.created_at).desc(), col(TaskRecord.id).desc())
        .limit(limit)
    )
    return [UnassignedReferral(*row) for row in session.connection().execute(query)]
