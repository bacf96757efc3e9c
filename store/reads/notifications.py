"""What the notification pages and routes read: a user's own notifications (newest first,
all or unread), the count behind the bell on every page, and the administrators' list of
mails by status (ids, kinds, addresses and error types: no case data).
"""

from sqlmodel import Session, col, func, select

from domain.notifications import DeliveryStatus
from store.notifications import MailDelivery, NotificationRecord
from store.reads.paging import Slice, page_of


def notifications_page(
    session: Session, username: str, page: int, page_size: int, *, unread_only: bool
) -> Slice[NotificationRecord]:
    """The user's notifications, newest first; only the unread ones when asked."""
    query = select(NotificationRecord).where(NotificationRecord.username == username)
    if unread_only:
        query = query.where(col(NotificationRecord.read_at).is_(None))
    query = query.order_by(
        col(NotificationRecord.created_at).desc(), col(NotificationRecord.id).desc()
    )
    return page_of(session, query, page, page_size)


def unread_count(session: Session, username: str) -> int:
    """How many of the user's notifications are unread (the bell)."""
    query = select(func.count()).where(
        NotificationRecord.username == username, col(NotificationRecord.read_at).is_(None)
    )
    return session.exec(query).one()


def deliveries_page(
    session: Session, status: DeliveryStatus | None, page: int, page_size: int
) -> Slice[MailDelivery]:
    """Mails of notices, the most recently tried first; of one status when given."""
    query = select(MailDelivery)
    if status is not None:
        query = query.where(MailDelivery.status == status)
    query = query.order_by(
        col(MailDelivery.updated_at).desc(),
        col(MailDelivery.event_key),
        col(MailDelivery.address),
    )
    return page_of(session, query, page, page_size)
