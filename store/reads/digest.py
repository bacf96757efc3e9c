"""What the coordination's daily digest counts: per municipality whose supervisors asked for
it, the open items of its dashboard (overdue reviews, referrals unanswered past their
deadline, measures without a partner). Counts only: the digest names no case and no person.
"""

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from domain.referral import ReferralStatus
from store.models import Role, User
from store.projections import CaseSummary, ReferralSummary, TaskRecord
from store.reads.supervision import NO_PARTNER_TASKS


def digest_municipalities(session: Session) -> list[str]:
    """The municipalities with an active supervisor who wants the digest."""
    query = (
        select(User.municipality_id)
        .where(
            User.role == Role.SUPERVISOR,
            col(User.active).is_(True),
            col(User.daily_digest).is_(True),
            col(User.municipality_id).is_not(None),
        )
        .distinct()
        .order_by(col(User.municipality_id))
    )
    return [municipality for municipality in session.exec(query).all() if municipality]


def open_items(session: Session, municipality_id: str, now: datetime) -> int:
    """Overdue reviews, referrals unanswered past their deadline (or escalated) and open
    tasks of a measure without partner, in the municipality."""
    overdue = session.exec(
        select(func.count())
        .select_from(CaseSummary)
        .where(
            CaseSummary.municipality_id == municipality_id,
            col(CaseSummary.review_overdue).is_(True),
        )
    ).one()
    unanswered = session.exec(
        select(func.count())
        .select_from(ReferralSummary)
        .where(
            ReferralSummary.municipality_id == municipality_id,
            ReferralSummary.status == ReferralStatus.DISPATCHED,
            or_(
                col(ReferralSummary.escalated).is_(True),
                col(ReferralSummary.acknowledge_by) < now,
            ),
        )
    ).one()
    without_partner = session.exec(
        select(func.count())
        .select_from(TaskRecord)
        .join(CaseSummary, col(CaseSummary.case_id) == col(TaskRecord.case_id))
        .where(
            CaseSummary.municipality_id == municipality_id,
            col(TaskRecord.kind).in_(NO_PARTNER_TASKS),
            col(TaskRecord.done).is_(False),
        )
    ).one()
    return int(overdue) + int(unanswered) + int(without_partner)
