"""The data subject's rights: erasing a closed case (Art. 17, `POST /admin/cases/{id}/erase`,
administrators and the data protection officer of its municipality; api/erasure.py) and the
client's copy (Art. 15, `GET /cases/{id}/export`, the case's counsellors and the data
protection officer; api/export.py, api/export_pdf.py)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response

from api.deps import ErasableCaseDep, ExportableCase, ServicesDep
from api.erasure import ErasureOut, ErasureRequest, erase_case, erasure_out
from api.export import case_export
from api.export_pdf import export_pdf

router = APIRouter(tags=["data protection"])

PDF = "application/pdf"


@router.post(
    "/admin/cases/{case_id}/erase",
    name="case.erase",
    responses={409: {"description": "The case is not closed"}},
)
async def erase(body: ErasureRequest, case: ErasableCaseDep, services: ServicesDep) -> ErasureOut:
    """Erase a closed case: its data key, its running workflows and the client's data in the
    store; the figures of the evaluation stay. 409 while it is open; erasing again answers the
    first erasure (200, the same body). Every later read of the case is 410."""
    return erasure_out(await erase_case(services, case, body.reason))


@router.get(
    "/cases/{case_id}/export",
    name="case.export",
    responses={
        200: {"content": {PDF: {}}, "description": "JSON, or a PDF with format=pdf"},
        410: {"description": "The case was erased"},
    },
)
async def export(
    case: ExportableCase,
    services: ServicesDep,
    format: Annotated[Literal["json", "pdf"] | None, Query(description="json oder pdf")] = None,
    accept: Annotated[str | None, Header(max_length=1000)] = None,
) -> Any:
    """Everything Lotse holds about the case's client (Art. 15 GDPR), as JSON, or as a German
    PDF with `format=pdf` or `Accept: application/pdf`."""
    copy = await case_export(services, case)
    wants_pdf = format == "pdf" or (format is None and PDF in (accept or ""))
    if not wants_pdf:
        return copy
    number = (copy.get("summary") or {}).get("number") or case.id
    return Response(
        export_pdf(copy),
        media_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="auskunft-{number}.pdf"'},
    )
