"""The partner's inbox: the referrals sent to one agency (`GET /referrals` and the page
"Eingang"), one referral's row for its page, newest first along `ix_referrals_partner_status`,
and who sent each: the case's centre and counsellor with their contact (`senders`).

Both front doors ask `partner_referrals`: the API for one status or all, the page for the
statuses of its tab ("new", "accepted", "done", ...).

The sender is read through the case's summary at the time of reading, not copied into the
referral row: a case handed to another counsellor or centre gives the partner the person to
call now.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, literal, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from domain.referral import ReferralStatus
from store.models import Centre, User
from store.projections import CaseSummary, ReferralSummary
from store.reads.paging import Slice, first, page_of
from store.types import UTCDateTime


def partner_referrals(
    partner_id: str, statuses: Collection[ReferralStatus] | None = None
) -> SelectOfScalar[ReferralSummary]:
    """The agency's referrals, newest first; `statuses` narrows to those."""
    query = select(ReferralSummary).where(ReferralSummary.partner_id == partner_id)
    if statuses is not None:
        if len(statuses) == 1:
            (status,) = statuses
            query = query.where(ReferralSummary.status == status)
        else:
            query = query.where(col(ReferralSummary.status).in_(statuses))
    return query.order_by(col(ReferralSummary.dispatched_at).desc(), col(ReferralSummary.id))


def partner_referral_page(
    session: Session,
    partner_id: str,
    page: int,
    page_size: int,
    status: ReferralStatus | None = None,
) -> Slice[ReferralSummary]:
    """One page of the agency's referrals (`GET /referrals`)."""
    statuses = None if status is None else (status,)
    return page_of(session, partner_referrals(partner_id, statuses), page, page_size)


def partner_inbox(
    session: Session, partner_id: str, statuses: Collection[ReferralStatus], limit: int
) -> list[ReferralSummary]:
    """The newest `limit` of the agency's referrals in `statuses` (a tab of the page)."""
    return first(session, partner_referrals(partner_id, statuses), limit)


@dataclass(frozen=True)
class InboxCounts:
    """How many of the agency's referrals each status holds, and how many of the dispatched
    ones are unanswered past their deadline (the counts on the inbox's tabs)."""

    by_status: dict[ReferralStatus, int]
    late: int


def inbox_counts(session: Session, partner_id: str, now: datetime) -> InboxCounts:
    """The counts of the inbox's tabs, in two counting queries (no rows read)."""
    mine = ReferralSummary.partner_id == partner_id
    grouped = session.exec(
        select(ReferralSummary.status, func.count())
        .where(mine)
        .group_by(col(ReferralSummary.status))
    ).all()
    # `domain.referral.unanswered_past_deadline` as a condition: dispatched, and escalated or
    # past acknowledge_by.
    late = session.exec(
        select(func.count())
        .select_from(ReferralSummary)
        .where(
            mine,
            ReferralSummary.status == ReferralStatus.DISPATCHED,
            or_(
                col(ReferralSummary.escalated).is_(True),
                # Bound as the column's type: naive UTC text on SQLite, as stored.
                col(ReferralSummary.acknowledge_by) < literal(now, UTCDateTime()),
            ),
        )
    ).one()
    return InboxCounts({ReferralStatus(status): count for status, count in grouped}, int(late))


def referral_row(engine: Engine, referral_id: str) -> ReferralSummary | None:
    """The referral's read-model row (None while it is not projected yet)."""
    with Session(engine) as session:
        return session.get(ReferralSummary, referral_id)


@dataclass(frozen=True)
class Sender:
    """Who sent a referral and how to reach them: the case's centre and its counsellor. The
    counsellor's name is her display name, or her username while the directory has none."""

    centre_id: str
    centre_name: str
    centre_address: str
    centre_phone: str
    centre_email: str
    counsellor_name: str
    counsellor_phone: str
    counsellor_email: str


def senders(session: Session, case_ids: Iterable[str]) -> dict[str, Sender]:
    """The sender of each of the cases `case_ids` (a page's referrals: one query, not one per
    row); a case the read model does not hold yet has none."""
    wanted = sorted(set(case_ids))
    if not wanted:
        return {}
    query = (
        select(CaseSummary.case_id, Centre, User)
        .join(Centre, col(Centre.id) == col(CaseSummary.centre_id))
        .outerjoin(User, col(User.username) == col(CaseSummary.counsellor_id))
        .where(col(CaseSummary.case_id).in_(wanted))
    )
    found: dict[str, Sender] = {}
    for case_id, centre, counsellor in session.exec(query).all():
        found[case_id] = Sender(
            centre_id=centre.id,
            centre_name=centre.name,
            centre_address=centre.address,
            centre_phone=centre.phone,
            centre_email=centre.email,
            counsellor_name=(counsellor.display_name or counsellor.username) if counsellor else "",
            counsellor_phone=counsellor.phone if counsellor else "",
            counsellor_email=counsellor.email if counsellor else "",
        )
    return found


def sender_of(engine: Engine, case_id: str) -> Sender | None:
    """The sender of one case's referrals (a referral's page)."""
    with Session(engine) as session:
        return senders(session, [case_id]).get(case_id)
