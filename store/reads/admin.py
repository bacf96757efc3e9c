"""What the administrators read (`/admin/...`): the directory's partner agencies and accounts,
the audit trail, and their own open tasks. Configuration and ids, no case data.
"""

from sqlmodel import Session, col, select

from store.models import PartnerAgency, Role, User
from store.projections import AuditEvent, TaskRecord


def partners(session: Session) -> list[PartnerAgency]:
    """Every partner agency, by id."""
    return list(session.exec(select(PartnerAgency).order_by(col(PartnerAgency.id))).all())


def accounts(session: Session) -> list[User]:
    """Every account, by username."""
    return list(session.exec(select(User).order_by(col(User.username))).all())


def audit_entries(
    session: Session, *, object_id: str | None, actor: str | None, limit: int
) -> list[AuditEvent]:
    """The newest `limit` audit entries, of one object and/or one actor when given."""
    query = select(AuditEvent)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    query = query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit)
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
