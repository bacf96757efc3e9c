"""The partner's inbox: the referrals sent to one agency (`GET /referrals` and the page
"Eingang"), one referral's row for its page, newest first along `ix_referrals_partner_status`.

Both front doors ask `partner_referrals`: the API for one status or all, the page for the
statuses of its tab ("new", "accepted", "done", ...).
"""

from collections.abc import Collection

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from domain.referral import ReferralStatus
from store.projections import ReferralSummary
from store.reads.paging import Slice, first, page_of


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


def referral_row(engine: Engine, referral_id: str) -> ReferralSummary | None:
    """The referral's read-model row (None while it is not projected yet)."""
    with Session(engine) as session:
        return session.get(ReferralSummary, referral_id)
