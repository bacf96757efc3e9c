"""The coordination's overview of one case ("/aufsicht/faelle/{id}"): centre, counsellor,
stage, clocks, referrals and the supervisors' open tasks; and, for a case transferred without
a counsellor (its task „Fall ohne Berater:in“ is open), the form that gives it one of the
centre that holds it now (`POST /aufsicht/faelle/{id}/zuweisen`).

Scope is the API's `supervised_case` (another municipality's case is 404 like a missing one,
and so is every page here for any other role). The form sends what
`POST /supervision/cases/{id}/assign` sends (`api.supervision.assign_counsellor`: the
directory's check, then the case's `reassign` update with the supervisor's actor); its choices
are the directory's active counsellors of the case's centre, by name. A refusal shows the page
again with the error next to the field; success goes to the task list with a German
confirmation (303). Nothing of the client: ids, stages, dates, the directory's names.
"""

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from api import supervision
from api.deps import CaseRef
from api.supervision import CaseOverview
from api.ui import flash
from api.ui.forms import (
    FormState,
    errors_of_validation,
    idempotency_key,
    refusal_passes_through,
    refused_state,
    text,
)
from api.ui.session import Form, PageSupervisedCase, services_of
from api.ui.web import PageRoute, redirect, render
from domain.actions import CounsellorChoice
from domain.case import TaskKind
from store.reads import centres as centre_reads
from store.reads import supervision as supervision_reads
from store.reads.supervision import DirectoryNames

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CHOOSE = "Bitte eine Beraterin oder einen Berater der Beratungsstelle wählen."


def _names(request: Request, overview: CaseOverview) -> DirectoryNames:
    with services_of(request).sessions() as session:
        return supervision_reads.directory_names(
            session,
            partners={referral.partner_id for referral in overview.referrals},
            centres={overview.centre_id},
            people={overview.counsellor_id} if overview.counsellor_id else set(),
        )


def _overview(request: Request, case: CaseRef) -> CaseOverview:
    with services_of(request).sessions() as session:
        return supervision.overview(session, case)


async def _page(
    request: Request, case: CaseRef, form: FormState | None = None, status_code: int = 200
) -> Response:
    overview = await run_in_threadpool(_overview, request, case)
    names = await run_in_threadpool(_names, request, overview)
    # Offered while the read model shows the supervisors' task of a case without counsellor;
    # the workflow decides again (409 for a case that got one meanwhile).
    waiting = any(task.kind == TaskKind.CASE_UNASSIGNED for task in overview.supervisor_tasks)
    options = []
    if waiting or form is not None:
        engine = services_of(request).engine
        found = await run_in_threadpool(centre_reads.counsellor_options, engine, overview.centre_id)
        options = [(option.username, option.name) for option in found]
    context = {
        "case": overview,
        "names": names,
        "waiting": waiting,
        "options": options,
        "form": form or FormState(),
    }
    return render(request, "supervisor/case.html", context, status_code)


@router.get("/aufsicht/faelle/{case_id}", name="ui.supervision.case")
async def case_page(request: Request, case: PageSupervisedCase) -> Response:
    if refusal := flash.take(request):
        return await _page(request, case, refusal.state, refusal.status)
    return await _page(request, case)


async def _again(request: Request, case: CaseRef, state: FormState, status_code: int) -> Response:
    """The form again, by a 303 to the case's page (api/ui/flash.py); here when too large."""
    page = f"/aufsicht/faelle/{case.id}"
    if moved := flash.refused(request, page, "assign", state, status_code, "zuweisen"):
        return moved
    return await _page(request, case, state, status_code)


@router.post("/aufsicht/faelle/{case_id}/zuweisen", name="ui.supervision.case_assign")
async def assign(request: Request, case: PageSupervisedCase, form: Form) -> Response:
    """Give the transferred case a counsellor (`POST /supervision/cases/{id}/assign`)."""
    chosen = text(form, "counsellor_id")
    if not chosen:
        state = FormState.submitted(form, {"counsellor_id": CHOOSE})
        return await _again(request, case, state, status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        body = CounsellorChoice.model_validate({"counsellor_id": chosen})
        await supervision.assign_counsellor(services_of(request), case, body, idempotency_key(form))
    except ValidationError as error:
        state = FormState.submitted(form, errors_of_validation(error))
        return await _again(request, case, state, status.HTTP_422_UNPROCESSABLE_CONTENT)
    except HTTPException as error:
        if refusal_passes_through(error):
            raise
        return await _again(request, case, refused_state(form, error), error.status_code)
    return redirect("/aufsicht/aufgaben?erledigt=zugewiesen")
