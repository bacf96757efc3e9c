"""What the administrators read (`/admin/...`): the directory's municipalities, centres,
partner agencies and accounts (inactive ones included), the audit trail, and their own open
tasks. Configuration and ids, no case data.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from store.models import Centre, Municipality, PartnerAgency, Role, User
from store.projections import AuditEvent, TaskRecord
from store.reads.paging import Slice, page_of


def municipalities(session: Session) -> list[Municipality]:
    """Every municipality, by id."""
    return list(session.exec(select(Municipality).order_by(col(Municipality.id))).all())


def municipality(session: Session, municipality_id: str) -> Municipality | None:
    return session.get(Municipality, municipality_id)


def centres(session: Session) -> list[Centre]:
    """Every centre, by municipality and id."""
    query = select(Centre).order_by(col(Centre.municipality_id), col(Centre.id))
    return list(session.exec(query).all())


def centre(session: Session, centre_id: str) -> Centre | None:
    return session.get(Centre, centre_id)


def partner(session: Session, partner_id: str) -> PartnerAgency | None:
    return session.get(PartnerAgency, partner_id)


def partners(session: Session) -> list[PartnerAgency]:
    """Every partner agency, by id."""
    return list(session.exec(select(PartnerAgency).order_by(col(PartnerAgency.id))).all())


def accounts(session: Session) -> list[User]:
    """Every account, by username."""
    return list(session.exec(select(User).order_by(col(User.username))).all())


@dataclass(frozen=True)
class AuditFilter:
    """Entries at or after `start` and before `end`, of one object and/or one actor."""

    start: datetime
    end: datetime
    object_id: str | None = None
    actor: str | None = None


def _audit_query(wanted: AuditFilter) -> SelectOfScalar[AuditEvent]:
    query = select(AuditEvent).where(
        col(AuditEvent.at) >= wanted.start, col(AuditEvent.at) < wanted.end
    )
    if wanted.object_id is not None:
        query = query.where(AuditEvent.object_id == wanted.object_id)
    if wanted.actor is not None:
        query = query.where(AuditEvent.actor == wanted.actor)
    # Oldest first: a date range is read as it happened; the id breaks ties of one instant.
    return query.order_by(col(AuditEvent.at), col(AuditEvent.id))


def audit_page(
    session: Session, wanted: AuditFilter, page: int, page_size: int
) -> Slice[AuditEvent]:
    """One page of the entries (the index on `at` serves the range)."""
    return page_of(session, _audit_query(wanted), page, page_size)


def audit_rows(engine: Engine, wanted: AuditFilter) -> Iterator[AuditEvent]:
    """Every entry, streamed in batches (the CSV export of a range: no page limit)."""
    with Session(engine) as session:
        yield from session.exec(_audit_query(wanted).execution_options(yield_per=2000))


def case_accesses(session: Session, case_id: str) -> list[AuditEvent]:
    """Who accessed the case and its referrals, and when (the client's copy, Art. 15)."""
    query = (
        select(AuditEvent)
        .where(
            # Both halves lead with the object's type and id: ix_audit_events_object.
            ((col(AuditEvent.object_type) == "case") & (col(AuditEvent.object_id) == case_id))
            | (
                (col(AuditEvent.object_type) == "referral")
                & col(AuditEvent.object_id).startswith(case_id + "-ref-", autoescape=True)
            )
        )
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    )
    return list(session.exec(query).all())


def admin_tasks(session: Session, limit: int) -> list[TaskRecord]:
    """The administrators' open tasks, oldest first (today: projection failures)."""
    query = (
        select(TaskRecord)
        .where(TaskRecord.assignee_role == Role.ADMIN, col(TaskRecord.done).is_(False))
        .order_by(col(TaskRecord.created_at), col(TaskRecord.id))
        .limit(limit)
    )
    return list(session.exec(query).all())
