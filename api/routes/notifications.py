"""Each user's notifications: the list (newest first, `?unread=true` for the unread ones), one
marked read, and the user's switch for mail. Everyone logged in has a list of her own and no
one else's: a notification of another user answers 404, exactly like a missing one.

A notification says what happened and names the case, referral or inbound referral by its id
(domain/notifications.py renders the German text); it carries nothing about the client.
The notifications are written by the notification activity (activities/notifications.py).
"""

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, StrictBool

from api.deps import NOT_FOUND, CurrentUser, SessionDep
from api.pagination import Page, PageNumber, PageSize, paginate
from domain.notifications import NoticeKind, facts
from store.models import Role, User
from store.notifications import NotificationRecord, mark_read, set_email_notifications
from store.reads import notifications as notification_reads

router = APIRouter(tags=["notifications"])

# The store's ids are 64-bit integers.
NotificationPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="Id der Benachrichtigung.")]


class NotificationItem(BaseModel):
    id: int
    kind: NoticeKind
    title: str  # German, e.g. "Vermittlung abgelehnt"
    text: str  # German: what happened
    case_id: str | None
    referral_id: str | None
    inbound_referral_id: str | None
    deadline: date | None
    link: str  # the page in Lotse, from its root
    created_at: datetime
    read_at: datetime | None


class NotificationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: StrictBool  # whether notices also go to the user's e-mail address
    # A supervisor's daily digest of her municipality's open items at 07:00 (opt-in); left
    # out of a change: unchanged. Only the coordination has one.
    daily_digest: StrictBool | None = None


def item(row: NotificationRecord) -> NotificationItem:
    said = facts(
        row.kind,
        case_id=row.case_id,
        referral_id=row.referral_id,
        inbound_referral_id=row.inbound_referral_id,
        deadline=row.deadline,
        count=row.count,
    )
    assert row.id is not None
    return NotificationItem(
        id=row.id,
        kind=row.kind,
        title=said.headline,
        text=said.what,
        case_id=row.case_id,
        referral_id=row.referral_id,
        inbound_referral_id=row.inbound_referral_id,
        deadline=row.deadline,
        link=said.path,
        created_at=row.created_at,
        read_at=row.read_at,
    )


@router.get("/notifications", name="notification.list")
def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    unread: Annotated[bool, Query(description="Nur ungelesene.")] = False,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[NotificationItem]:
    """The caller's notifications, newest first."""
    found = notification_reads.notifications_page(
        session, user.username, page, page_size, unread_only=unread
    )
    return paginate(found, page, page_size, item)


@router.post("/notifications/{notification_id}/read", name="notification.read")
def read_notification(
    notification_id: NotificationPath, user: CurrentUser, session: SessionDep
) -> NotificationItem:
    """Mark one of the caller's notifications read (again: no change)."""
    if not mark_read(session, user.username, notification_id, datetime.now(UTC)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    row = session.get(NotificationRecord, notification_id)
    assert row is not None
    return item(row)


# A counsellor's or partner's settings have no digest: left out, not null.
@router.get(
    "/me/notification-settings", name="notification.settings", response_model_exclude_none=True
)
def notification_settings(user: CurrentUser) -> NotificationSettings:
    return _settings_of(user)


def _settings_of(user: User) -> NotificationSettings:
    digest = user.daily_digest if user.role is Role.SUPERVISOR else None
    return NotificationSettings(email=user.email_notifications, daily_digest=digest)


@router.put(
    "/me/notification-settings",
    name="notification.settings_change",
    response_model_exclude_none=True,
)
def change_notification_settings(
    body: NotificationSettings, user: CurrentUser, session: SessionDep
) -> NotificationSettings:
    """Turn the caller's notification mails off or on (the list in Lotse stays either way),
    and a supervisor's daily digest."""
    if body.daily_digest is not None and user.role is not Role.SUPERVISOR:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail={
                "detail": f"daily_digest: {DIGEST_ONLY_COORDINATION}",
                "errors": [{"field": "daily_digest", "message": DIGEST_ONLY_COORDINATION}],
            },
        )
    set_email_notifications(session, user.username, body.email, body.daily_digest)
    changed = session.get(User, user.username)
    assert changed is not None
    return _settings_of(changed)


DIGEST_ONLY_COORDINATION = "Die Tagesübersicht gibt es nur für die Koordination."
