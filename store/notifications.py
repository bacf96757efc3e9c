"""Notifications in the store: the in-app list (`notifications`, one row per notice and
user), the mail ledger (`mail_deliveries`, one row per notice and address), and the writes to
them.

- `SqlNoticeLedger` is what the notification activity works with (activities/notifications.py
  `NoticeLedger`): whom a notice reaches according to the directory, the in-app rows written
  once per (event key, user), and the ledger that says which addresses got their mail already,
  so a retried activity sends only what is missing.
- `mark_read` and `set_email_notifications` are the users' own writes (the API's
  `POST /notifications/{id}/read` and `PUT /me/notification-settings`).

Like the read model these tables have no foreign keys: the activity delivers at least once and
must never retry for ever because an account was renamed meanwhile. Rows hold ids, kinds and
dates; a mail row the recipient's address (staff or an agency's contact address, never a
client's) and the type of the last error, never its text (an SMTP server's reply may quote the
address or the message).
"""

import contextlib
import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Engine, Index, Integer, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from domain.notifications import (
    EVENT_KEY_LENGTH,
    AddresseeKind,
    DeliveryStatus,
    Notice,
    NoticeKind,
    Recipients,
)
from store.db import dialect_insert
from store.models import EMAIL_LENGTH, SLUG_LENGTH, PartnerAgency, Role, User
from store.projections import ID_LENGTH
from store.types import StrEnumType, UTCDateTime

ERROR_TYPE_LENGTH = 100


class NotificationRecord(SQLModel, table=True):
    """One notice as one user sees it in the app („Benachrichtigungen")."""

    __tablename__ = "notifications"
    __table_args__ = (
        # A retried activity writes a user's row once.
        UniqueConstraint("event_key", "username"),
        # The user's list, newest first.
        Index("ix_notifications_username_created", "username", "created_at", "id"),
        # The bell: the user's unread ones (read_at IS NULL), counted on every page.
        Index("ix_notifications_username_unread", "username", "read_at"),
    )

    # SQLite autoincrements only an INTEGER PRIMARY KEY (the rowid alias), not a BIGINT one.
    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer(), "sqlite")
    )
    username: str = Field(max_length=SLUG_LENGTH)
    kind: NoticeKind = Field(sa_type=StrEnumType(NoticeKind))
    event_key: str = Field(max_length=EVENT_KEY_LENGTH)
    case_id: str | None = Field(default=None, max_length=ID_LENGTH)
    referral_id: str | None = Field(default=None, max_length=ID_LENGTH)
    inbound_referral_id: str | None = Field(default=None, max_length=ID_LENGTH)
    deadline: date | None = Field(default=None, sa_type=Date)
    count: int | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MailDelivery(SQLModel, table=True):
    """One mail of a notice to one address, and how its sending went."""

    __tablename__ = "mail_deliveries"
    __table_args__ = (
        # The administrators' list: failed mails, newest first.
        Index("ix_mail_deliveries_status_updated", "status", "updated_at"),
    )

    event_key: str = Field(primary_key=True, max_length=EVENT_KEY_LENGTH)
    address: str = Field(primary_key=True, max_length=EMAIL_LENGTH)
    kind: NoticeKind = Field(sa_type=StrEnumType(NoticeKind))
    case_id: str | None = Field(default=None, max_length=ID_LENGTH)
    referral_id: str | None = Field(default=None, max_length=ID_LENGTH)
    inbound_referral_id: str | None = Field(default=None, max_length=ID_LENGTH)
    status: DeliveryStatus = Field(sa_type=StrEnumType(DeliveryStatus))
    attempts: int = 0
    # The exception's type (and an SMTP reply code), never its message.
    last_error: str | None = Field(default=None, max_length=ERROR_TYPE_LENGTH)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


def _addresses(values: Iterable[str]) -> tuple[str, ...]:
    """Each address once, compared without case (mail servers do), in a fixed order."""
    seen: dict[str, str] = {}
    for value in values:
        address = value.strip()
        if address and "@" in address:
            seen.setdefault(address.lower(), address)
    return tuple(seen[key] for key in sorted(seen))


class SqlNoticeLedger:
    """The notification activity's view of the store. Thread-safe: each call has its own
    session (the activity runs them in threads)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # As in store/projector.py: SQLite's writers queue on a mutex here instead of sleeping
        # in its busy handler.
        self._writing: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    def recipients(self, notice: Notice) -> Recipients:
        """Whom the notice reaches: in the app the active accounts behind its addressee; by
        mail a partner agency's contact address, or each of those accounts' own address
        unless its owner turned mail off."""
        to = notice.to
        with Session(self._engine) as session:
            users = select(User).where(col(User.active).is_(True))
            agency_address: list[str] = []
            if to.kind is AddresseeKind.PARTNER:
                users = users.where(User.role == Role.PARTNER, User.partner_id == to.id)
                agency = session.get(PartnerAgency, to.id)
                # The agency's inbox is its contact address, not its accounts' own ones.
                agency_address = [agency.contact_email] if agency is not None else []
            elif to.kind is AddresseeKind.COUNSELLOR:
                users = users.where(User.role == Role.COUNSELLOR, User.username == to.id)
            elif to.kind is AddresseeKind.SUPERVISORS:
                users = users.where(User.role == Role.SUPERVISOR, User.municipality_id == to.id)
                if notice.kind is NoticeKind.DAILY_DIGEST:
                    # Only who asked for it (`users.daily_digest`).
                    users = users.where(col(User.daily_digest).is_(True))
            else:
                users = users.where(User.role == Role.COUNSELLOR, User.centre_id == to.id)
            accounts = list(session.exec(users.order_by(col(User.username))).all())
        if to.kind is AddresseeKind.PARTNER:
            addresses = _addresses(agency_address)
        else:
            addresses = _addresses(a.email for a in accounts if a.email_notifications)
        return Recipients(usernames=tuple(a.username for a in accounts), addresses=addresses)

    def record_in_app(self, notice: Notice, usernames: Iterable[str], at: datetime) -> int:
        """One row per user, written once per (event key, user); how many were new."""
        rows = [
            {
                "username": username,
                "kind": notice.kind,
                "event_key": notice.event_key,
                "case_id": notice.case_id,
                "referral_id": notice.referral_id,
                "inbound_referral_id": notice.inbound_referral_id,
                "deadline": notice.deadline,
                "count": notice.count,
                "created_at": at,
            }
            for username in usernames
        ]
        if not rows:
            return 0
        statement = (
            dialect_insert(self._engine)(NotificationRecord)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["event_key", "username"])
            # The rows inserted, not the ones skipped (a rowcount is -1 on some drivers).
            .returning(NotificationRecord.__table__.c.id)  # type: ignore[attr-defined]
        )
        with self._writing, Session(self._engine) as session, session.begin():
            return len(session.execute(statement).all())

    def sent_addresses(self, event_key: str) -> set[str]:
        """The addresses the notice's mail reached already (a retry skips them)."""
        query = select(MailDelivery.address).where(
            MailDelivery.event_key == event_key, MailDelivery.status == DeliveryStatus.SENT
        )
        with Session(self._engine) as session:
            return set(session.exec(query).all())

    def record_delivery(
        self,
        notice: Notice,
        address: str,
        status: DeliveryStatus,
        error_type: str | None,
        at: datetime,
    ) -> None:
        """The outcome of one try to mail `address`: counts the attempt, keeps the error's
        type (None once sent) and, when sent, the instant."""
        values = {
            "event_key": notice.event_key,
            "address": address,
            "kind": notice.kind,
            "case_id": notice.case_id,
            "referral_id": notice.referral_id,
            "inbound_referral_id": notice.inbound_referral_id,
            "status": status,
            "attempts": 1,
            "last_error": error_type[:ERROR_TYPE_LENGTH] if error_type else None,
            "sent_at": at if status is DeliveryStatus.SENT else None,
            "updated_at": at,
        }
        insert = dialect_insert(self._engine)(MailDelivery).values(values)
        statement = insert.on_conflict_do_update(
            index_elements=["event_key", "address"],
            set_={
                "status": insert.excluded.status,
                "attempts": MailDelivery.__table__.c.attempts + 1,  # type: ignore[attr-defined]
                "last_error": insert.excluded.last_error,
                "sent_at": insert.excluded.sent_at,
                "updated_at": insert.excluded.updated_at,
            },
        )
        with self._writing, Session(self._engine) as session, session.begin():
            session.execute(statement)


def mark_read(session: Session, username: str, notification_id: int, at: datetime) -> bool:
    """Mark the user's notification read (a second time changes nothing); False when the
    user has no notification of that id (someone else's or none)."""
    row = session.get(NotificationRecord, notification_id)
    if row is None or row.username != username:
        return False
    if row.read_at is None:
        row.read_at = at
        session.add(row)
        session.commit()
    return True


def set_email_notifications(
    session: Session, username: str, enabled: bool, daily_digest: bool | None = None
) -> None:
    """Turn the user's mails on or off (the in-app list stays either way), and a supervisor's
    daily digest (None: unchanged)."""
    user = session.get(User, username)
    if user is None:
        return
    user.email_notifications = enabled
    if daily_digest is not None:
        user.daily_digest = daily_digest
    session.add(user)
    session.commit()
