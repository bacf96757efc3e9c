"""The data protection pages: the start page of the data protection officer (`/datenschutz`,
also for administrators), the erasure of a closed case with its confirm page
(`/datenschutz/faelle/{id}/loeschen`), and the officer's copy of a case for its client
(`/datenschutz/faelle/{id}/auskunft.pdf`) and of the audit log (`/datenschutz/protokoll.csv`).

Neither role sees a case list: the officer is asked for a case by its id (from the client's
request, or the counsellor). The scope checks are the API's (`erasable_case`,
`exportable_case`; 404 outside the scope and for every other role), the erasure and the copy
are the API's functions (api/erasure.py, api/export.py). The confirm page names the case by its
number and stage only.
"""

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from api import audit_csv
from api.deps import CASE_ID, CaseRef, ErasableCase
from api.erasure import ErasureRequest, erase_case
from api.export import case_export
from api.export_pdf import export_pdf
from api.ui import flash
from api.ui.forms import (
    FormState,
    errors_of_validation,
    refusal_passes_through,
    refused_state,
    text,
)
from api.ui.session import (
    DataProtectionUser,
    EraserUser,
    Form,
    PageCounsellorExport,
    PageErasableCase,
    PageExportableCase,
    services_of,
)
from api.ui.web import PageRoute, redirect, render
from domain.case import STAGE_LABELS, Stage
from store import audit, case_numbers

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ASK_ID = "Bitte die Fall-Id angeben (case-…, sie steht in der Adresse der Fallseite)."
DONE = {"geloescht": "Der Fall wurde gelöscht. Die Zahlen der Auswertung bleiben erhalten."}


@router.get("/datenschutz", name="ui.data_protection")
def start(request: Request, user: EraserUser, erledigt: str = "") -> Response:
    context = {"form": FormState(), "done": DONE.get(erledigt)}
    return render(request, "datenschutz/start.html", context)


@router.get("/datenschutz/fall", name="ui.data_protection.find")
def find(request: Request, user: EraserUser, fall: str = "") -> Response:
    """The start page's form: to the case's erasure page, or the form again with its error."""
    case_id = fall.strip().lower()
    if CASE_ID.fullmatch(case_id):
        return redirect(f"/datenschutz/faelle/{case_id}/loeschen")
    state = FormState(values={"fall": [""]}, errors={"fall": ASK_ID})
    context = {"form": state, "done": None}
    return render(request, "datenschutz/start.html", context, status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _confirm(
    request: Request, case: ErasableCase, form: FormState | None = None, status_code: int = 200
) -> Response:
    engine = services_of(request).engine
    number = await run_in_threadpool(case_numbers.number_of, engine, case.id)
    stage = case.owner.stage
    context = {
        "case_id": case.id,
        "number": number or case.id,
        "stage": STAGE_LABELS.get(Stage(stage), stage) if stage in set(Stage) else "unbekannt",
        "closed": stage == Stage.CLOSED.value,
        "erased": case.owner.erased,
        "form": form or FormState(),
    }
    return render(request, "datenschutz/erase.html", context, status_code)


@router.get("/datenschutz/faelle/{case_id}/loeschen", name="ui.data_protection.erase")
async def confirm_page(request: Request, case: PageErasableCase) -> Response:
    if refusal := flash.take(request):
        return await _confirm(request, case, refusal.state, refusal.status)
    return await _confirm(request, case)


@router.post("/datenschutz/faelle/{case_id}/loeschen", name="ui.data_protection.erase_post")
async def erase(request: Request, case: PageErasableCase, form: Form) -> Response:
    """Erase the case (`POST /admin/cases/{id}/erase`); a refusal shows the page again."""
    page = f"/datenschutz/faelle/{case.id}/loeschen"
    try:
        body = ErasureRequest.model_validate({"reason": text(form, "reason")})
        await erase_case(services_of(request), case, body.reason)
    except ValidationError as error:
        state = FormState.submitted(form, errors_of_validation(error))
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
    except HTTPException as error:
        if refusal_passes_through(error):
            raise
        state, code = refused_state(form, error), error.status_code
    else:
        return redirect("/datenschutz?erledigt=geloescht")
    if moved := flash.refused(request, page, "erase", state, code, "loeschen"):
        return moved
    return await _confirm(request, case, state, code)


@router.get("/datenschutz/faelle/{case_id}/auskunft.pdf", name="ui.data_protection.export")
async def export(request: Request, case: PageExportableCase) -> Response:
    """The client's copy as a PDF (`GET /cases/{id}/export?format=pdf`)."""
    return await _copy_pdf(request, case)


@router.get("/faelle/{case_id}/auskunft.pdf", name="ui.case.export")
async def counsellor_export(request: Request, case: PageCounsellorExport) -> Response:
    """The client's copy as a PDF for her counsellor, who hands it over when she asks."""
    return await _copy_pdf(request, case)


async def _copy_pdf(request: Request, case: CaseRef) -> Response:
    copy = await case_export(services_of(request), case)
    content = await run_in_threadpool(export_pdf, copy)
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="auskunft.pdf"'},
    )


@router.get("/datenschutz/protokoll.csv", name="ui.data_protection.audit")
def audit_log(request: Request, user: DataProtectionUser) -> Response:
    """The audit log of the last 30 days as CSV (`GET /admin/audit?format=csv`)."""
    wanted = audit_csv.audit_range(None, None, None, None)
    with services_of(request).sessions() as session:
        audit.add_entry(session, user.username, "audit.read", "audit", audit_csv.period_id(wanted))
    return audit_csv.response(services_of(request).engine, wanted)
