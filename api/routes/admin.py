"""The directory, kept by administrators: partner agencies (list, create,
each creation audited; accounts: api/routes/admin_users.py), the audit trail (also for data
protection officers; paged by a period, or CSV), the administrators' own open tasks, and the
notification mails by status (which ones never arrived). An admin has no scope and sees no
cases: the directory is configuration, not case data (a task names a case by its id only).
Reads are `store.reads.admin`, changes `store.directory_changes`."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api import audit_csv
from api.audit_csv import AuditRange
from api.deps import Admin, AuditReader, ServicesDep, SessionDep
from api.pagination import Page, PageNumber, PageSize, paginate
from domain.enums import ActorKind
from domain.fields import Code, SingleLine, Title
from domain.notifications import DeliveryStatus, NoticeKind
from store import audit
from store.directory_changes import Taken, UnknownInDirectory, add_partner
from store.models import PartnerAgency
from store.notifications import MailDelivery
from store.projections import AuditEvent
from store.reads import admin as admin_reads
from store.reads import notifications as notification_reads

router = APIRouter(prefix="/admin", tags=["admin"])

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PartnerIn(_Strict):
    id: Slug
    name: Title
    kind: ActorKind
    municipality_id: Slug
    measures: Annotated[list[Code], Field(max_length=50)]
    active: bool = True
    contact_email: Annotated[SingleLine, Field(max_length=254)] = ""


class PartnerOut(BaseModel):
    id: str
    name: str
    kind: ActorKind
    municipality_id: str
    measures: list[str]
    active: bool
    contact_email: str


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str


def _conflict(what: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, detail=f"{what} existiert bereits.")


def _unknown(field: str, value: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail={
            "detail": f"{field}: '{value}' gibt es im Verzeichnis nicht.",
            "errors": [{"field": field, "message": f"'{value}' gibt es im Verzeichnis nicht."}],
        },
    )


@router.get("/partners", name="admin.partners")
def list_partners(admin: Admin, session: SessionDep) -> list[PartnerOut]:
    rows = admin_reads.partners(session)
    return [PartnerOut.model_validate(row, from_attributes=True) for row in rows]


@router.post("/partners", name="admin.partner_create", status_code=status.HTTP_201_CREATED)
def create_partner(body: PartnerIn, admin: Admin, session: SessionDep) -> PartnerOut:
    try:
        partner = add_partner(session, PartnerAgency(**body.model_dump()))
    except UnknownInDirectory as error:
        raise _unknown(error.field, error.value) from error
    except Taken as error:
        raise _conflict(f"Ein Partner mit der Id '{body.id}'") from error
    audit.add_entry(session, admin.username, "admin.partner_create", "partner", partner.id)
    return PartnerOut.model_validate(partner, from_attributes=True)


@router.get(
    "/audit",
    name="admin.audit",
    response_model=Page[AuditOut],
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def audit_trail(
    reader: AuditReader,
    services: ServicesDep,
    session: SessionDep,
    wanted: AuditRange,
    page: PageNumber = 1,
    page_size: PageSize = 100,
    format: Annotated[Literal["json", "csv"], Query(description="json oder csv")] = "json",
) -> Page[AuditOut] | Response:
    """The audit entries of a period (German days `from`..`to`, oldest first), optionally of one
    object or one actor; a page of them, or with `format=csv` all of them as CSV. For
    administrators and data protection officers; the read itself is an entry (`audit.read`)."""
    audit.add_entry(session, reader.username, "audit.read", "audit", audit_csv.period_id(wanted))
    if format == "csv":
        return audit_csv.response(services.engine, wanted)
    found = admin_reads.audit_page(session, wanted, page, page_size)
    return paginate(found, page, page_size, _audit_out)


def _audit_out(row: AuditEvent) -> AuditOut:
    return AuditOut.model_validate(row, from_attributes=True)


class AdminTaskOut(BaseModel):
    id: str
    kind: str
    case_id: str
    title: str
    created_at: datetime


@router.get("/tasks", name="admin.tasks")
def open_tasks(
    admin: Admin,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AdminTaskOut]:
    """What the administrators have to look at, oldest first: for now, events of a case that
    the read model could not take (`projection_failed`; ids only, the case runs on)."""
    rows = admin_reads.admin_tasks(session, limit)
    return [AdminTaskOut.model_validate(row, from_attributes=True) for row in rows]


class MailDeliveryOut(BaseModel):
    """One notification mail: which notice (its event key, kind and ids), to which address
    (staff or an agency's contact address), how it went and the type of its last error."""

    event_key: str
    kind: NoticeKind
    case_id: str | None
    referral_id: str | None
    inbound_referral_id: str | None
    address: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    updated_at: datetime


def _delivery(row: MailDelivery) -> MailDeliveryOut:
    return MailDeliveryOut.model_validate(row, from_attributes=True)


@router.get("/mail-deliveries", name="admin.mail_deliveries")
def mail_deliveries(
    admin: Admin,
    session: SessionDep,
    status_filter: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[MailDeliveryOut]:
    """Notification mails, the most recently tried first; `status=failed`: those that never
    arrived (refused for good, or still failing after the last attempt)."""
    found = notification_reads.deliveries_page(session, status_filter, page, page_size)
    return paginate(found, page, page_size, _delivery)
