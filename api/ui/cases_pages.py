"""The counsellor's start page "Meine Fälle" (the centre's cases with filters and search, and
the counsellor's open tasks) and "Neuer Fall".

Lists read the read model, like `GET /cases`: the centre's rows only, and one audit entry per
list through the API's `audited_listing`. Opening a case goes through the API's
`casework.open_case`, so a page and `POST /cases` open cases in exactly the same way.
"""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import ValidationError
from sqlmodel import Session, col, or_, select

from api import casework
from api.deps import SessionDep, audited_listing
from api.ui.forms import (
    FormState,
    errors_of_http,
    errors_of_validation,
    idempotency_key,
    refusal_passes_through,
    text,
)
from api.ui.session import CounsellorUser, Form, services_of
from api.ui.web import PageRoute, redirect, render
from domain.actions import CaseOpen
from domain.case import Stage
from domain.fields import SingleLine
from store.models import Role, User
from store.projections import CaseSummary, TaskRecord

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
SEARCH_LENGTH = 100

_audit_centre_list = audited_listing(Role.COUNSELLOR)

# What a step that took the case off this page says at the top of the list (`?erledigt=`).
DONE: dict[str, str] = {
    "transfer": "Der Fall ist an die andere Beratungsstelle abgegeben.",
}


def _cases(
    session: Session,
    user: User,
    stage: str,
    overdue: bool,
    search: str,
    mine: bool,
    page: int,
) -> tuple[list[CaseSummary], bool]:
    query = select(CaseSummary).where(CaseSummary.centre_id == user.centre_id)
    if stage in {s.value for s in Stage}:
        query = query.where(CaseSummary.stage == stage)
    if overdue:
        query = query.where(col(CaseSummary.review_overdue).is_(True))
    if mine:
        query = query.where(CaseSummary.counsellor_id == user.username)
    if search:
        # The list holds only the display name ("Amina K.") and the id: that is what is searched.
        pattern = f"%{search}%"
        query = query.where(
            or_(
                col(CaseSummary.client_display_name).ilike(pattern),
                col(CaseSummary.case_id).ilike(pattern),
            )
        )
    query = query.order_by(col(CaseSummary.updated_at).desc(), col(CaseSummary.case_id).desc())
    rows = session.exec(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE


def _open_tasks(session: Session, user: User) -> list[TaskRecord]:
    query = (
        select(TaskRecord)
        .where(
            TaskRecord.assignee_role == Role.COUNSELLOR,
            TaskRecord.assignee_id == user.username,
            col(TaskRecord.done).is_(False),
        )
        .order_by(col(TaskRecord.due_at), col(TaskRecord.id))
        .limit(PAGE_SIZE)
    )
    return list(session.exec(query).all())


@router.get("/faelle", name="ui.case.list")
def case_list(
    request: Request,
    user: CounsellorUser,
    session: SessionDep,
    stadium: Annotated[str, Query(max_length=32)] = "",
    ueberfaellig: Annotated[str, Query(max_length=5)] = "",
    q: Annotated[SingleLine, Query(max_length=SEARCH_LENGTH)] = "",
    wer: Annotated[str, Query(max_length=10)] = "meine",
    seite: Annotated[int, Query(ge=1, le=10_000)] = 1,
    erledigt: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    _audit_centre_list(request, user, session)
    filters = {
        "stadium": stadium,
        "ueberfaellig": ueberfaellig == "1",
        "q": q.strip(),
        "wer": "alle" if wer == "alle" else "meine",
        "seite": seite,
    }
    rows, has_more = _cases(
        session,
        user,
        stadium,
        bool(filters["ueberfaellig"]),
        str(filters["q"]),
        filters["wer"] == "meine",
        seite,
    )
    context = {"rows": rows, "has_more": has_more, "filters": filters}
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "case-table":
        # The filter form asked for the table only (htmx); without script the whole page comes.
        return render(request, "cases/_table.html", context)
    context["tasks"] = _open_tasks(session, user)
    context["done"] = DONE.get(erledigt)
    return render(request, "cases/list.html", context)


@router.get("/faelle/neu", name="ui.case.new")
def new_case_page(request: Request, user: CounsellorUser) -> Response:
    return render(request, "cases/new.html", {"state": FormState()})


@router.post("/faelle/neu", name="ui.case.open")
async def open_case(request: Request, user: CounsellorUser, form: Form) -> Response:
    payload = {
        "client": {"given_name": text(form, "given_name"), "family_name": text(form, "family_name")}
    }
    try:
        body = CaseOpen.model_validate(payload)
        opened = await casework.open_case(services_of(request), user, body, idempotency_key(form))
    except ValidationError as error:
        # The form's fields are the client's: "client.given_name" -> "given_name".
        errors = {
            name.removeprefix("client."): message
            for name, message in errors_of_validation(error).items()
        }
        state = FormState.submitted(form, errors)
        return render(
            request, "cases/new.html", {"state": state}, status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    except HTTPException as error:
        if refusal_passes_through(error):
            raise
        state = FormState.submitted(form, errors_of_http(error))
        return render(request, "cases/new.html", {"state": state}, error.status_code)
    return redirect(f"/faelle/{opened.case_id}?erledigt=opened")
