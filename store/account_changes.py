"""Changes to an existing account: its role and scope, contact and name, active or not
(`PATCH /admin/users/{username}`, the page /verwaltung/konten), a password reset by an
administrator and a password change by the account itself.

The rules that keep the directory usable live here, so the API, the pages and the command line
cannot differ: the scope must fit the role and name what the directory knows; an administrator
cannot deactivate or demote herself; and the last active administrator stays one (the check
locks the active administrators' rows on PostgreSQL, so two administrators deactivating each
other at once cannot both succeed). Each function commits; none writes the audit entry (the
caller knows who acted).
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from store.directory_changes import UnknownInDirectory
from store.models import Centre, Municipality, PartnerAgency, Role, User
from store.users import InvalidUser, hash_password, scope_error

SCOPE_FIELDS = ("centre_id", "partner_id", "municipality_id")
# A temporary password is read aloud or typed from a screen: no 0/O, 1/l/I.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_GROUPS, _GROUP_LENGTH = 4, 4  # 80 bits of entropy: "abcd-efgh-jkmn-pqrs"


LAST_ADMIN = "Das ist das letzte aktive Verwaltungskonto; Lotse braucht mindestens eines."


class NoSuchAccount(LookupError):
    """No account has this username."""


class Refused(ValueError):
    """A change the directory's rules forbid; `field` is the field it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class AccountChange:
    """The fields a change sets; a field left out (`None` for the texts and `active`) stays.
    `scope` holds the scope fields given (a value or None to clear); when the role changes,
    the scope fields not given and not fitting the new role are cleared."""

    role: Role | None = None
    scope: dict[str, str | None] | None = None
    display_name: str | None = None
    phone: str | None = None
    email: str | None = None
    active: bool | None = None


def account(session: Session, username: str) -> User:
    user = session.get(User, username)
    if user is None:
        raise NoSuchAccount(username)
    return user


def _new_scope(user: User, change: AccountChange) -> tuple[Role, dict[str, str | None]]:
    role = change.role or user.role
    scope: dict[str, str | None] = {name: getattr(user, name) for name in SCOPE_FIELDS}
    given = change.scope or {}
    if role is not user.role:
        # The old role's scope does not come along unless asked for.
        scope = dict.fromkeys(SCOPE_FIELDS)
    scope.update(given)
    return role, scope


def _check_scope(session: Session, role: Role, scope: dict[str, str | None]) -> None:
    problem = scope_error(role, scope["centre_id"], scope["partner_id"], scope["municipality_id"])
    if problem:
        raise InvalidUser(problem)
    for field, table in (
        ("centre_id", Centre),
        ("partner_id", PartnerAgency),
        ("municipality_id", Municipality),
    ):
        value = scope[field]
        if value is not None and session.get(table, value) is None:
            raise UnknownInDirectory(field, value)


def _active_admins(session: Session) -> list[str]:
    # FOR UPDATE: a concurrent change of an administrator waits for this transaction and then
    # sees its result (SQLite takes one writer at a time anyway).
    query = (
        select(User.username)
        .where(User.role == Role.ADMIN, col(User.active).is_(True))
        .with_for_update()
    )
    return list(session.exec(query).all())


def _check_admins_remain(session: Session, user: User, by: str, role: Role, active: bool) -> bool:
    """Whether the change takes an active administrator away (`Refused` when it must not)."""
    stays_admin = role is Role.ADMIN and active
    if user.role is not Role.ADMIN or not user.active or stays_admin:
        return False
    field = "active" if not active else "role"
    if user.username == by:
        what = "deaktivieren" if not active else "die Rolle Verwaltung nehmen"
        raise Refused(field, f"Sie können sich nicht selbst {what}.")
    if _active_admins(session) == [user.username]:
        raise Refused(field, LAST_ADMIN)
    return True


def change_account(session: Session, username: str, change: AccountChange, *, by: str) -> User:
    """Apply `change` to the account (by the administrator `by`) and commit. `NoSuchAccount`,
    `InvalidUser` (scope not fitting the role), `UnknownInDirectory`, `Refused`."""
    try:
        user = account(session, username)
        role, scope = _new_scope(user, change)
        _check_scope(session, role, scope)
        active = user.active if change.active is None else change.active
        removes_admin = _check_admins_remain(session, user, by, role, active)
        user.role = role
        for name, value in scope.items():
            setattr(user, name, value)
        user.active = active
        for name in ("display_name", "phone", "email"):
            value = getattr(change, name)
            if value is not None:
                setattr(user, name, value)
        session.add(user)
        session.flush()
        # Again after the write: SQLite has no row locks, but its writes are serial, so the
        # second of two administrators removing each other finds none left here.
        if removes_admin and not _active_admins(session):
            raise Refused("active", LAST_ADMIN)
        session.commit()
    except Exception:
        session.rollback()
        raise
    session.refresh(user)
    return user


def temporary_password() -> str:
    """A new random password for a reset: shown once, changed at the next login."""
    groups = (
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)
    )
    return "-".join(groups)


def reset_password(session: Session, username: str) -> str:
    """Give the account a temporary password and force a new one at its next login; the
    temporary password (the caller shows it once, it is stored only as a hash)."""
    user = account(session, username)
    password = temporary_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    # Every token and session from before is refused: a reset often follows a leak.
    user.password_changed_at = datetime.now(UTC)
    session.add(user)
    session.commit()
    return password


def require_new_password(session: Session, username: str) -> None:
    """Force a new password at the account's next login (an account an administrator made
    with a temporary password)."""
    user = account(session, username)
    user.must_change_password = True
    session.add(user)
    session.commit()


def change_own_password(session: Session, user: User, new_password: str) -> None:
    """The account's new password, chosen by its owner (the caller checked the current one);
    clears a reset's demand for a new password."""
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    # Other sessions of the account end; the caller issues the one that changed it anew.
    user.password_changed_at = datetime.now(UTC)
    session.add(user)
    session.commit()
