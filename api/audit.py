"""The audit trail of the API: who read or changed which case or referral, and when.

An entry holds the username, a verb (`case.read`, `case.intake`, `referral.acknowledge`, ...),
the object's type and id and the instant; never a name, a note or a profile fact, because the
audit log outlives the cases it speaks of. A request that names an object outside the caller's
scope is recorded as `<verb>.denied`, so probing for other centres' cases leaves a trace.

Entries are written by the scope checks in `deps` before the handler runs (so no route can
forget one) in a short transaction of their own: an entry for an attempt that then fails (409,
422) still says who tried what. This module writes only `audit_events`, never the read model.
"""

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from store.projections import AuditEvent

DENIED_SUFFIX = ".denied"


def record(
    engine: Engine,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    *,
    at: datetime | None = None,
) -> None:
    """Write one entry and commit it (blocking: call from a worker thread)."""
    with Session(engine) as session:
        session.add(
            AuditEvent(
                at=at or datetime.now(UTC),
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
            )
        )
        session.commit()
