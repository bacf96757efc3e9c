"""The counsellor's case page (stage bar, the actions of the stage, tasks, referrals, history)
and the agreement document to print and sign, as an HTML print view and as a PDF.

Every read goes through `PageCase` (the API's `scoped_case`) and the workflow's `state()`
query, exactly as `GET /cases/{id}` does.
"""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from api.deps import CaseRef
from api.ui.case_view import CaseView, load_case, load_handover_choices
from api.ui.pdf import agreement_pdf
from api.ui.session import PageCase
from api.ui.web import PAGE_CACHE, PageRoute, render, secure
from domain.case import DocumentVersion

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# What a step that just succeeded says at the top of the page (`?erledigt=<form>`).
DONE: dict[str, str] = {
    "opened": "Der Fall ist angelegt. Als Nächstes: die Aufnahme.",
    "intake": "Aufnahme gespeichert. Als Nächstes: die Bedarfsklärung.",
    "assessment": "Bedarfsklärung gespeichert; die Vermittlungsvorschläge stehen unten.",
    "draft": "Entwurf gespeichert.",
    "request_signature": "Das Dokument ist erstellt und kann unterschrieben werden.",
    "sign_client": "Unterschrift der Klientin / des Klienten erfasst.",
    "sign_counsellor": "Unterschrift der Beratungsstelle erfasst.",
    "review": "Überprüfung erfasst.",
    "close": "Der Fall ist abgeschlossen.",
    "task": "Aufgabe erledigt.",
    "reassign": "Der Fall ist an eine andere Beraterin / einen anderen Berater übergeben.",
}
NO_DOCUMENT = (
    "Für diesen Fall gibt es noch kein Vereinbarungsdokument (erst Entwurf speichern und "
    "zur Unterschrift vorlegen)."
)


async def render_case(
    request: Request,
    case: CaseRef,
    view: CaseView,
    status_code: int = 200,
    done: str | None = None,
) -> Response:
    await load_handover_choices(request, case, view)
    context = {"view": view, "state": view.state, "forms": view.forms, "done": DONE.get(done or "")}
    # The case page is the largest one (every form, row and event of the case): rendered in a
    # worker thread, so a slow rendering holds up this request only, not the event loop.
    return await run_in_threadpool(render, request, "case/page.html", context, status_code)


@router.get("/faelle/{case_id}", name="ui.case.read")
async def case_page(
    request: Request,
    case: PageCase,
    erledigt: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    view = await load_case(request, case)
    return await render_case(request, case, view, done=erledigt)


def _version(view: CaseView, fassung: int | None) -> DocumentVersion:
    documents = view.state.documents
    if not documents:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_DOCUMENT)
    if fassung is None:
        return documents[-1]
    for document in documents:
        if document.version == fassung:
            return document
    raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Diese Fassung gibt es nicht.")


@router.get("/faelle/{case_id}/vereinbarung", name="ui.case.document")
async def document_page(
    request: Request,
    case: PageCase,
    fassung: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Response:
    view = await load_case(request, case)
    document = _version(view, fassung)
    signatures = [s for s in view.state.signatures if s.version == document.version]
    context = {"view": view, "document": document, "signatures": signatures}
    return await run_in_threadpool(render, request, "case/document.html", context)


@router.get("/faelle/{case_id}/vereinbarung.pdf", name="ui.case.document_pdf")
async def document_pdf(
    request: Request,
    case: PageCase,
    fassung: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Response:
    view = await load_case(request, case)
    document = _version(view, fassung)
    # Laying out a long agreement takes a while: not on the event loop.
    content = await run_in_threadpool(agreement_pdf, case.id, document)
    filename = f"vereinbarung-{case.id}-fassung-{document.version}.pdf"
    response = Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": PAGE_CACHE,
        },
    )
    return secure(response)
