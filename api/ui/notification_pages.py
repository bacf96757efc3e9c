"""„Benachrichtigungen": every logged-in user's own notifications (unread or all, newest
first) with a „gelesen" button each and a link to the case or referral, and her switch for
notification mails; and the administrators' page of notification mails that never arrived.

The same reads and writes as `GET /notifications`, `POST /notifications/{id}/read`,
`PUT /me/notification-settings` and `GET /admin/mail-deliveries` (store/reads/notifications.py,
store/notifications.py); the German text of each notification is domain/notifications.py's.
The bell with the unread count on every page is base.html's, from api/ui/session.py.
"""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from api.deps import NOT_FOUND, SessionDep
from api.ui.session import AdminUser, Form, PageUser
from api.ui.web import PageRoute, redirect, render
from domain.notifications import DeliveryStatus, NoticeKind, facts
from store.notifications import NotificationRecord, mark_read, set_email_notifications
from store.reads import notifications as notification_reads

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
VIEWS = {"ungelesen": "Ungelesen", "alle": "Alle"}
PageNumber = Annotated[int, Query(ge=1, le=50_000)]


def _entry(row: NotificationRecord) -> dict[str, object]:
    said = facts(
        row.kind,
        case_id=row.case_id,
        referral_id=row.referral_id,
        inbound_referral_id=row.inbound_referral_id,
        deadline=row.deadline,
        count=row.count,
    )
    return {"row": row, "facts": said}


@router.get("/benachrichtigungen", name="ui.notification.list")
def notifications_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    ansicht: Annotated[str, Query(max_length=20)] = "ungelesen",
    seite: PageNumber = 1,
    erledigt: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    view = ansicht if ansicht in VIEWS else "ungelesen"
    found = notification_reads.notifications_page(
        session, user.username, seite, PAGE_SIZE, unread_only=view == "ungelesen"
    )
    done = {
        "email-an": "E-Mail-Benachrichtigungen sind eingeschaltet.",
        "email-aus": "E-Mail-Benachrichtigungen sind ausgeschaltet; Sie sehen alles weiter hier.",
    }.get(erledigt, "")
    context = {
        "entries": [_entry(row) for row in found.rows],
        "has_more": found.has_more,
        "page": seite,
        "view": view,
        "views": VIEWS,
        "email_on": user.email_notifications,
        "has_email": bool(user.email),
        "done": done,
    }
    return render(request, "notifications/list.html", context)


@router.post("/benachrichtigungen/{notification_id}/gelesen", name="ui.notification.read")
def mark_notification_read(
    user: PageUser,
    session: SessionDep,
    form: Form,
    notification_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> Response:
    if not mark_read(session, user.username, notification_id, datetime.now(UTC)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    view = form.get("ansicht")
    return redirect(f"/benachrichtigungen?ansicht={view if view in VIEWS else 'ungelesen'}")


@router.post("/benachrichtigungen/email", name="ui.notification.email")
def change_email(user: PageUser, session: SessionDep, form: Form) -> Response:
    wanted = form.get("email")
    if wanted not in ("an", "aus"):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="E-Mail-Benachrichtigungen: Bitte wählen Sie „an“ oder „aus“.",
        )
    set_email_notifications(session, user.username, wanted == "an")
    return redirect(f"/benachrichtigungen?erledigt=email-{wanted}")


@router.get("/verwaltung/mails", name="ui.admin.mail_deliveries")
def failed_mails_page(
    request: Request, user: AdminUser, session: SessionDep, seite: PageNumber = 1
) -> Response:
    found = notification_reads.deliveries_page(session, DeliveryStatus.FAILED, seite, PAGE_SIZE)
    titles = {kind: facts(kind).headline for kind in NoticeKind}
    context = {"rows": found.rows, "has_more": found.has_more, "page": seite, "titles": titles}
    return render(request, "notifications/failed_mails.html", context)
