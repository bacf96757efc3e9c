"""The coordination's daily lists on pages of their own, each paged with „Seite 2 von 7“
(`?page=`): the supervisors' open tasks ("/aufsicht/aufgaben"), the overdue reviews
("/aufsicht/ueberpruefungen") and the referrals late past their deadline
("/aufsicht/vermittlungen"). The dashboard shows the first page of each and links here.

The reads are the API's (`api.supervision_lists`, `store.reads.supervision`), for the
session's supervisor: the same scope, the same order, the same totals, no client's name. One
audit entry per page, as for each list call of the API.
"""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from api import supervision_lists
from api.deps import SessionDep, audited_listing
from api.pagination import MAX_PAGE
from api.ui.session import SupervisorUser
from api.ui.web import PageRoute, render
from store.models import Role
from store.reads import supervision as supervision_reads

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# Rows per page, on these pages and on the dashboard alike: the dashboard's pager continues
# on page 2 here.
PAGE_SIZE = 20
# What the task list says after an assignment (its `?erledigt=` keys).
DONE = {
    "zugewiesen": (
        "Der Fall ist zugewiesen; die Beraterin oder der Berater findet ihn unter „Meine Fälle“. "
        "Die Aufgabe ist damit erledigt."
    ),
}
# Taken as text and checked here: a page answers a malformed query with "not found"
# (api/ui/web.py), while a bad page number deserves its own words.
PageText = Annotated[str, Query(description="Seite, ab 1.")]

_audit_municipality_list = audited_listing(Role.SUPERVISOR)


def page_number(text: str) -> int:
    """The page asked for: a whole number from 1 to `MAX_PAGE`; 422 in German otherwise."""
    if text.isascii() and text.isdigit() and len(text) <= len(str(MAX_PAGE)):
        number = int(text)
        if 1 <= number <= MAX_PAGE:
            return number
    raise HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=f"Ungültige Seitenzahl (page): erlaubt ist eine ganze Zahl von 1 bis {MAX_PAGE}.",
    )


@router.get("/aufsicht/aufgaben", name="ui.supervision.tasks")
def tasks(
    request: Request,
    user: SupervisorUser,
    session: SessionDep,
    page: PageText = "1",
    erledigt: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    number = page_number(page)
    _audit_municipality_list(request, user, session)
    municipality_id = user.municipality_id or ""
    found = supervision_lists.supervisor_tasks(session, municipality_id, number, PAGE_SIZE)
    names = supervision_reads.directory_names(
        session, centres={item.centre_id for item in found.items if item.centre_id}
    )
    context = {"found": found, "names": names, "done": DONE.get(erledigt, "")}
    return render(request, "supervisor/tasks.html", context)


@router.get("/aufsicht/ueberpruefungen", name="ui.supervision.overdue_reviews")
def overdue_reviews(
    request: Request, user: SupervisorUser, session: SessionDep, page: PageText = "1"
) -> Response:
    number = page_number(page)
    _audit_municipality_list(request, user, session)
    found = supervision_reads.overdue_review_page(
        session, user.municipality_id or "", number, PAGE_SIZE
    )
    names = supervision_reads.directory_names(
        session,
        centres={row.centre_id for row in found.rows},
        people={row.counsellor_id for row in found.rows},
    )
    return render(request, "supervisor/overdue_reviews.html", {"found": found, "names": names})


@router.get("/aufsicht/vermittlungen", name="ui.supervision.late_referrals")
def late_referrals(
    request: Request, user: SupervisorUser, session: SessionDep, page: PageText = "1"
) -> Response:
    number = page_number(page)
    _audit_municipality_list(request, user, session)
    now = datetime.now(UTC)
    found = supervision_lists.late_referrals(
        session, user.municipality_id or "", number, PAGE_SIZE, now
    )
    names = supervision_reads.directory_names(
        session, partners={item.partner_id for item in found.items}
    )
    return render(request, "supervisor/late_referrals.html", {"found": found, "names": names})
