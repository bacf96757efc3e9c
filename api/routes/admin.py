"""The administrators' audit trail (also for data protection officers; paged by a period, or
CSV), their own open tasks, and the notification mails by status (which ones never arrived).
The directory is kept in api/routes/admin_directory.py (municipalities, centres, partners) and
api/routes/admin_users.py (accounts). An admin has no scope and sees no cases: the directory is
configuration, not case data (a task names a case by its id only). Reads are
`store.reads.admin`."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from api import audit_csv
from api.audit_csv import AuditRange
from api.deps import Admin, AuditReader, ServicesDep, SessionDep
from api.pagination import Page, PageNumber, PageSize, paginate
from domain.notifications import DeliveryStatus, NoticeKind
from store import audit
from store.notifications import MailDelivery
from store.projections import AuditEvent
from store.reads import admin as admin_reads
from store.reads import notifications as notification_reads

router = APIRouter(prefix="/admin", tags=["admin"])


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str


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
