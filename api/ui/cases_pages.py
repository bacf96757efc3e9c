"""The counsellor's start page "Meine Fälle" (the centre's cases with filters and search, and
the counsellor's open tasks) and "Neuer Fall".

Lists read the read model through the same read as `GET /cases` (`store.reads.cases`): the
centre's rows only, and one audit entry per list through the API's `audited_listing`. Opening
a case goes through the API's `casework.open_case`, so a page and `POST /cases` open cases in
exactly the same way. Before it opens one, the form warns of the centre's cases with the
same client name (a variant spelling included) and opens only once the counsellor confirms:
a second case for one client is a duplicate (closed as `duplicate` while in intake).
"""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, TypeAdapter, ValidationError
from sqlmodel import Session

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
from store.models import Role, User
from store.projections import CaseSummary
from store.reads import cases as case_reads
from store.reads import supervision as supervision_reads

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
DUPLICATES_SHOWN = 10
CONFIRMED = "trotzdem"  # the new-case form's field: "open it although the name is known"
SEARCH_LENGTH = 100
SEARCH_CEILING = 2000  # longer is no search anybody typed: the 404 page
_SEARCH: TypeAdapter[str] = TypeAdapter(Annotated[SingleLine, Field(max_length=SEARCH_LENGTH)])
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
    # Checked below, so a wrong search says what is wrong beside the field (not a 404 page).
    q: Annotated[str, Query(max_length=SEARCH_CEILING)] = "",
    wer: Annotated[str, Query(max_length=10)] = "meine",
    seite: Annotated[int, Query(ge=1, le=10_000)] = 1,
    erledigt: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    _audit_centre_list(request, user, session)
    search, search_error = _search(q)
    filters = {
        "stadium": stadium,
        "ueberfaellig": ueberfaellig == "1",
        "q": search,
        "wer": "alle" if wer == "alle" else "meine",
        "seite": seite,
    }
    context: dict[str, object] = {
        "rows": [],
        "has_more": False,
        "filters": filters,
        "search_error": search_error,
    }
    if search_error is None:
        found = case_reads.centre_case_page(
            session,
            user.centre_id or "",
            seite,
            PAGE_SIZE,
            stage=Stage(stadium) if stadium in STAGES else None,
            overdue=True if filters["ueberfaellig"] else None,
            counsellor=user.username if filters["wer"] == "meine" else None,
            search=search or None,
        )
        # The counsellors by name, not login (one query for the page).
        names = supervision_reads.directory_names(
            session, people={row.counsellor_id for row in found.rows if row.counsellor_id}
        )
        context |= {"rows": found.rows, "has_more": found.has_more, "names": names}
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT if search_error else status.HTTP_200_OK
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "case-table":
        # The filter form asked for the table only (htmx); without script the whole page comes.
        return render(request, "cases/_table.html", context, status_code)
    context["tasks"] = case_reads.open_tasks_of(session, user.username, PAGE_SIZE)
    context["done"] = DONE.get(erledigt)
    return render(request, "cases/list.html", context, status_code)


def _confirmation(body: CaseOpen) -> str:
    """What the warning's „trotzdem anlegen“ confirms: this name (a changed name is checked
    again)."""
    client = body.client
    return f"{client.given_name}|{client.family_name}" if client else ""


def _same_name(request: Request, user: User, body: CaseOpen) -> list[CaseSummary]:
    """The centre's cases with the new client's name (store/reads/cases.same_name_cases)."""
    if body.client is None:
        return []
    with Session(services_of(request).engine) as session:
        return case_reads.same_name_cases(
            session,
            user.centre_id or "",
            body.client.given_name,
            body.client.family_name,
            DUPLICATES_SHOWN,
        )


def _search(typed: str) -> tuple[str, str | None]:
    """The search text to run, or "" and what is wrong with it (German, for the field)."""
    try:
        return _SEARCH.validate_python(typed).strip(), None
    except ValidationError as error:
        message = next(iter(errors_of_validation(error).values()), "ungültig.")
        return "", f"Bitte prüfen Sie die Suche: {message}"


@router.get("/faelle/neu", name="ui.case.new")
def new_case_page(request: Request, user: CounsellorUser) -> Response:
    if refusal := flash.take(request):
        context = {"form": refusal.state}
        if refusal.status == status.HTTP_409_CONFLICT and not refusal.state.errors:
            # The warning of cases with the same name: looked up again here (the cookie carries
            # what was typed, not other clients' names).
            context |= _warning(request, user, refusal.state)
        return render(request, "cases/new.html", context, refusal.status)
    return render(request, "cases/new.html", {"form": FormState()})


def _warning(request: Request, user: User, state: FormState) -> dict[str, Any]:
    """The duplicates warning's part of the page for the name in `state` (none when the name
    no longer reads as one, or no case has it now)."""
    payload = {
        "client": {
            "given_name": state.value("given_name"),
            "family_name": state.value("family_name"),
        }
    }
    try:
        body = CaseOpen.model_validate(payload)
    except ValidationError:
        return {}
    duplicates = _same_name(request, user, body)
    return {"duplicates": duplicates, "confirmation": _confirmation(body)} if duplicates else {}


def _again(
    request: Request, state: FormState, status_code: int, warning: dict[str, Any] | None = None
) -> Response:
    """The form again, by a 303 to its page (api/ui/flash.py), here when too large for that."""
    if moved := flash.refused(request, "/faelle/neu", "new", state, status_code):
        return moved
    return render(request, "cases/new.html", {"form": state} | (warning or {}), status_code)


@router.post("/faelle/neu", name="ui.case.open")
async def open_case(request: Request, user: CounsellorUser, form: Form) -> Response:
    payload = {
        "client": {"given_name": text(form, "given_name"), "family_name": text(form, "family_name")}
    }
    try:
        body = CaseOpen.model_validate(payload)
        if text(form, CONFIRMED) != _confirmation(body):
            duplicates = await run_in_threadpool(_same_name, request, user, body)
            if duplicates:
                # A warning, not an error: the form as typed, no field refused (which is how
                # the page tells it from a refusal), by a 303 like every refusal.
                warning = {"duplicates": duplicates, "confirmation": _confirmation(body)}
                state = FormState.submitted(form, {})
                return _again(request, state, status.HTTP_409_CONFLICT, warning)
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
