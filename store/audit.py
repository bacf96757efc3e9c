"""The audit trail: who read or changed which case or referral, who logged in (or failed to:
`auth.login_failed`, with no name), what the administrators changed, and when.

An entry holds the username, a verb (`case.read`, `case.intake`, `referral.acknowledge`, ...),
the object's type and id and the instant; never a name, a note or a profile fact, because the
audit log outlives the cases it speaks of. A request that names an object outside the caller's
scope is recorded as `<verb>.denied` (`DENIED_SUFFIX`), so probing for other centres' cases
leaves a trace.

The API writes the entries (api/deps.py: the scope checks before a handler runs, so no route
can forget one; one entry per list, naming the scope), each in a short transaction of its
own: an entry for an attempt that then fails (409, 422) still says who tried what. Logins
(api/login.py), the administrators' writes (api/routes/admin.py, api/accounts.py;
`lotse users create` as `cli`) and erasures
(store/erasure.py, `case.erased`) add theirs. This is, with the directory's accounts and
partners and the inbound referrals (`store.inbound`), a table the API writes; the read model
is written by the workflows' activities only (and emptied of a client by an erasure).
"""

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from store.projections import AuditEvent

DENIED_SUFFIX = ".denied"


def add_entry(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    *,
    at: datetime | None = None,
) -> None:
    """Write one entry in `session` and commit it (the request's session: one insert)."""
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


def record(
    engine: Engine,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    *,
    at: datetime | None = None,
) -> None:
    """Write one entry in a session of its own and commit it (blocking: from a worker thread)."""
    with Session(engine) as session:
        add_entry(session, actor, action, object_type, object_id, at=at)
