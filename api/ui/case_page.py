"""The counsellor's case page (stage bar, the actions of the stage, tasks, referrals, history)
and the agreement document to print and sign, as an HTML print view and as a PDF.

Every read goes through `PageCase` (the API's `scoped_case`) and the workflow's `state()`
query, exactly as `GET /cases/{id}` does; document texts and the history come from the case
archive (api/case_archive.py), as in the API.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from api import case_archive
from api.agreement_layout import load_layout
from api.deps import CaseRef
from api.ui import flash
from api.ui.case_view import CaseView, load_case, load_handover_choices, load_names
from api.ui.pdf import agreement_pdf
from api.ui.session import PageCase, services_of
from api.ui.web import PAGE_CACHE, PageRoute, render, secure
from domain.editions import UNREVIEWED_NOTE

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# What a step that just succeeded says at the top of the page (`?erledigt=<form>`).
DONE: dict[str, str] = {
    "opened": "Der Fall ist angelegt. Als Nächstes: die Aufnahme.",
    "vermittlung": "Die Vermittlung ist angenommen und der Fall angelegt. Als Nächstes: die "
    "Aufnahme.",
    "intake": "Aufnahme gespeichert. Als Nächstes: die Bedarfsklärung.",
    "assessment": "Bedarfsklärung gespeichert; die Vermittlungsvorschläge stehen unten.",
    "draft": "Entwurf gespeichert.",
    "vorlage": "Das Dokument ist erstellt und kann unterschrieben werden.",
    "sign_client": "Unterschrift der Klientin / des Klienten erfasst.",
    "sign_counsellor": "Unterschrift der Beratungsstelle erfasst.",
    "review": "Überprüfung erfasst.",
    "abschluss": "Der Fall ist abgeschlossen.",
    "task": "Aufgabe erledigt.",
    "massnahme": "Die Maßnahme ist als erledigt erfasst.",
    "uebergabe": "Der Fall ist an eine andere Beraterin / einen anderen Berater übergeben.",
    "zurueckziehen": "Die Vermittlung ist zurückgezogen; der Partner sieht sie nicht mehr.",
    "weitergeben": "Die Maßnahme geht an den anderen Partner.",
    "zurueckstellen": "Die Maßnahme ist zurückgestellt.",
    "korrektur": "Die Angaben sind korrigiert. Was sich geändert hat, steht im Verlauf.",
    "vorlage_zurueck": "Die Vorlage ist zurückgezogen und kann nicht mehr unterschrieben "
    "werden. Der Entwurf lässt sich jetzt ändern und neu zur Unterschrift vorlegen.",
}


async def render_case(
    request: Request,
    case: CaseRef,
    view: CaseView,
    status_code: int = 200,
    done: str | None = None,
) -> Response:
    await load_handover_choices(request, case, view)
    engine = services_of(request).engine
    view.history = await case_archive.history(engine, view.state)
    view.timelines = await case_archive.referral_timelines(engine, view.state)
    view.reviews = await case_archive.reviews(engine, view.state)
    await load_edition(engine, view)
    await load_names(request, view)
    message = DONE.get(done or "")
    if done in ("sign_client", "sign_counsellor") and (activated := view.activation_message()):
        # The second signature put the agreement in force: say so, and what went to whom.
        message = activated
    context = {"view": view, "case": view.state, "forms": view.forms, "done": message}
    # The case page is the largest one (every form, row and event of the case): rendered in a
    # worker thread, so a slow rendering holds up this request only, not the event loop.
    return await run_in_threadpool(render, request, "case/page.html", context, status_code)


async def load_edition(engine: Engine, view: CaseView) -> None:
    """Whether the current version's translation was unchecked, read from its archived text
    (one row, and only for a bilingual version): what was presented, even after a review of
    the translation since."""
    current = view.document()
    if current is not None and current.language is not None:
        archived = await case_archive.document(engine, view.state, current.version)
        view.translation_unreviewed = UNREVIEWED_NOTE in archived.text


@router.get("/faelle/{case_id}", name="ui.case.read")
async def case_page(
    request: Request,
    case: PageCase,
    erledigt: Annotated[str, Query(max_length=32)] = "",
    ueberpruefung: Annotated[str, Query(max_length=1)] = "",
) -> Response:
    view = await load_case(request, case)
    # The primary action's link asks for the review form (api/ui/case_status.py).
    view.review_asked = ueberpruefung == "1"
    status_code = 200
    if refusal := flash.take(request):
        # A form refused a moment ago (api/ui/flash.py): shown as typed, with its errors.
        view.forms[refusal.form] = refusal.state
        status_code = refusal.status
    return await render_case(request, case, view, status_code, done=erledigt)


@router.get("/faelle/{case_id}/vereinbarung", name="ui.case.document")
async def document_page(
    request: Request,
    case: PageCase,
    fassung: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Response:
    view = await load_case(request, case)
    engine = services_of(request).engine
    document = await case_archive.document(engine, view.state, fassung)
    layout = await run_in_threadpool(load_layout, engine, view.state, document)
    context = {"view": view, "document": document, "layout": layout}
    return await run_in_threadpool(render, request, "case/document.html", context)


@router.get("/faelle/{case_id}/vereinbarung.pdf", name="ui.case.document_pdf")
async def document_pdf(
    request: Request,
    case: PageCase,
    fassung: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Response:
    view = await load_case(request, case)
    engine = services_of(request).engine
    document = await case_archive.document(engine, view.state, fassung)
    layout = await run_in_threadpool(load_layout, engine, view.state, document)
    # Laying out a long agreement takes a while: not on the event loop.
    content = await run_in_threadpool(agreement_pdf, layout)
    filename = f"vereinbarung-{layout.number}-fassung-{document.version}.pdf"
    response = Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": PAGE_CACHE,
        },
    )
    return secure(response)
