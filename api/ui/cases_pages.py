"""The counsellor's start page "Meine Fälle" (the centre's cases with filters and search, and
the counsellor's open tasks) and "Neuer Fall".

Lists read the read model through the same read as `GET /cases` (`store.reads.cases`): the
centre's rows only, and one audit entry per list through the API's `audited_listing`. Opening
a case goes through the API's `casework.open_case`, so a page and `POST /cases` open cases in
exactly the same way.
"""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import ValidationError

from api import casework
from api.deps import SessionDep, audited_listing
from api.ui import flash
from api.ui.forms import (
    FormState,
    errors_of_validation,
    idempotency_key,
    refusal_passes_through,
    refused_state,
    text,
)
from api.ui.session import CounsellorUser, Form, services_of
from api.ui.web import PageRoute, redirect, render
from domain.actions import CaseOpen
from domain.case import Stage
from domain.fields import SingleLine
from store.models import Role
from store.reads import cases as case_reads

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
SEARCH_LENGTH = 100
STAGES = frozenset(stage.value for stage in Stage)

_audit_centre_list = audited_listing(Role.COUNSELLOR)

# What a step that took the case off this page says at the top of the list (`?erledigt=`).
DONE: dict[str, str] = {
    "abgabe": "Der Fall ist an die andere Beratungsstelle abgegeben.",
}


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
    found = case_reads.centre_case_page(
        session,
        user.centre_id or "",
        seite,
        PAGE_SIZE,
        stage=Stage(stadium) if stadium in STAGES else None,
        overdue=True if filters["ueberfaellig"] else None,
        counsellor=user.username if filters["wer"] == "meine" else None,
        search=str(filters["q"]) or None,
    )
    context = {"rows": found.rows, "has_more": found.has_more, "filters": filters}
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "case-table":
        # The filter form asked for the table only (htmx); without script the whole page comes.
        return render(request, "cases/_table.html", context)
    context["tasks"] = case_reads.open_tasks_of(session, user.username, PAGE_SIZE)
    context["done"] = DONE.get(erledigt)
    return render(request, "cases/list.html", context)


@router.get("/faelle/neu", name="ui.case.new")
def new_case_page(request: Request, user: CounsellorUser) -> Response:
    if refusal := flash.take(request):
        return render(request, "cases/new.html", {"form": refusal.state}, refusal.status)
    return render(request, "cases/new.html", {"form": FormState()})


def _again(request: Request, state: FormState, status_code: int) -> Response:
    """The form again, by a 303 to its page (api/ui/flash.py), here when too large for that."""
    if moved := flash.refused(request, "/faelle/neu", "new", state, status_code):
        return moved
    return render(request, "cases/new.html", {"form": state}, status_code)


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
        return _again(request, state, status.HTTP_422_UNPROCESSABLE_CONTENT)
    except HTTPException as error:
        if refusal_passes_through(error):
            raise
        return _again(request, refused_state(form, error), error.status_code)
    return redirect(f"/faelle/{opened.case_id}?erledigt=opened")
