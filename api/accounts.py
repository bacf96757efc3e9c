"""The administrators' work on user accounts, shared by the API (api/routes/admin_users.py)
and the pages (api/ui/account_admin_pages.py): the payloads, creating an account, changing
one (role and scope, name and contact, active or not) and resetting its password, each with
its audit entry (the account's username and the action, nothing else), and each refusal as
the German 4xx naming the field that api/errors.py and api/ui/forms.py understand.

The rules themselves are the store's (`store.account_changes`, `store.directory_changes`):
a scope fitting the role, known to the directory; no administrator deactivating or demoting
herself; the last active administrator staying one.
"""

from typing import Annotated

from fastapi import HTTPException, Path, status
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.deps import NOT_FOUND
from api.directory_admin import unknown
from api.errors import invalid
from domain.fields import DisplayName, EmailAddress, PhoneNumber, SingleLine, Slug
from domain.passwords import NewPassword
from domain.profile import StrictModel
from store import audit
from store.account_changes import (
    AccountChange,
    NoSuchAccount,
    Refused,
    change_account,
    reset_password,
)
from store.directory_changes import Taken, UnknownInDirectory, account_exists, add_account
from store.models import Role, User
from store.users import InvalidUser

UsernamePath = Annotated[SingleLine, Path(max_length=64, description="Benutzername")]

# The scope field each role needs (None: no scope); store.users.scope_error checks the same.
SCOPE_OF_ROLE: dict[Role, str | None] = {
    Role.COUNSELLOR: "centre_id",
    Role.PARTNER: "partner_id",
    Role.SUPERVISOR: "municipality_id",
    Role.ADMIN: None,
    Role.EVALUATOR: None,
    Role.DATA_PROTECTION: "municipality_id",
}
SCOPE_FIELDS = ("centre_id", "partner_id", "municipality_id")


class UserIn(StrictModel):
    # store.users.USERNAME, in either case (the account is stored lower-case).
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")]
    password: NewPassword
    role: Role
    centre_id: Slug | None = None
    partner_id: Slug | None = None
    municipality_id: Slug | None = None
    # The person and how partners and colleagues reach her (shown on referrals).
    display_name: DisplayName = ""
    phone: PhoneNumber = ""
    email: EmailAddress = ""


class UserPatch(StrictModel):
    """The fields to change; a field left out stays. When the role changes, the old role's
    scope goes and the new role's scope field must be given (or be null for a role without)."""

    role: Role | None = None
    centre_id: Slug | None = None
    partner_id: Slug | None = None
    municipality_id: Slug | None = None
    display_name: DisplayName | None = None
    phone: PhoneNumber | None = None
    email: EmailAddress | None = None
    active: bool | None = None


class UserOut(BaseModel):
    username: str
    role: Role
    centre_id: str | None
    partner_id: str | None
    municipality_id: str | None
    active: bool
    display_name: str
    phone: str
    email: str
    # After a reset, until the account has set a password of its own.
    must_change_password: bool


def _conflict(what: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, detail=f"{what} existiert bereits.")


def scope_misfit(role: Role, given: set[str]) -> HTTPException | None:
    """The German 422 for a scope (the scope fields given) that does not fit `role`."""
    required = SCOPE_OF_ROLE[role]
    if given == ({required} if required else set()):
        return None
    need = f"genau das Feld {required}" if required else "keine Zuordnung"
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail={
            "detail": f"role: Ein Konto der Rolle '{role.value}' braucht {need}.",
            "errors": [{"field": required or "role", "message": f"Die Rolle braucht {need}."}],
        },
    )


def account_change(body: UserPatch, current: User) -> AccountChange:
    """The store's change for `body`, once the scope it leads to fits the role (422 naming
    the field otherwise). Shared with the page /verwaltung/konten."""
    sent = body.model_fields_set
    if not sent:
        raise invalid("(Eingabe)", "Keine Änderung angegeben.")
    for field in ("role", "display_name", "phone", "email", "active"):
        if field in sent and getattr(body, field) is None:
            raise invalid(field, "Darf nicht leer (null) sein.")
    role = body.role or current.role
    scope = {field: getattr(body, field) for field in SCOPE_FIELDS if field in sent}
    if role is current.role:
        resulting = {field: getattr(current, field) for field in SCOPE_FIELDS} | scope
    else:
        resulting = dict.fromkeys(SCOPE_FIELDS) | scope
    if misfit := scope_misfit(role, {f for f, value in resulting.items() if value is not None}):
        raise misfit
    return AccountChange(
        role=body.role,
        scope=scope or None,
        display_name=body.display_name,
        phone=body.phone,
        email=body.email,
        active=body.active,
    )


def audit_actions(before: dict[str, object], after: User) -> list[str]:
    """The audit verbs of a change (`before`: the account's fields before it): activation
    apart from the other fields."""
    actions = []
    if before["active"] != after.active:
        actions.append("admin.user_reactivate" if after.active else "admin.user_deactivate")
    fields = ("role", *SCOPE_FIELDS, "display_name", "phone", "email")
    if any(before[name] != getattr(after, name) for name in fields):
        actions.append("admin.user_update")
    return actions


def apply_change(session: Session, admin: User, username: str, body: UserPatch) -> User:
    """Change the account as `admin` and write the audit entries: 404 for no such account,
    422 naming the field for a change the directory refuses. Shared with the pages."""
    current = session.get(User, username)
    if current is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    before = current.model_dump()
    change = account_change(body, current)
    try:
        user = change_account(session, username, change, by=admin.username)
    except NoSuchAccount as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND) from error
    except UnknownInDirectory as error:
        raise unknown(error.field, error.value) from error
    except Refused as error:
        raise invalid(error.field, error.message) from error
    except InvalidUser as error:
        raise invalid("role", f"Konto ungültig: {error}") from error
    for action in audit_actions(before, user):
        audit.add_entry(session, admin.username, action, "user", user.username)
    return user


def reset(session: Session, admin: User, username: str) -> str:
    """The temporary password of a reset by `admin` (404 for no such account); audited."""
    if username == admin.username:
        # Her own password she changes with the one she knows; a reset would lock her session.
        raise invalid("username", "Ihr eigenes Passwort ändern Sie mit POST /me/password.")
    try:
        password = reset_password(session, username)
    except NoSuchAccount as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND) from error
    audit.add_entry(session, admin.username, "admin.user_password_reset", "user", username)
    return password


def create(session: Session, admin: User, body: UserIn) -> User:
    """Store the account `body` describes, created by `admin`: 409 for a taken name, 422
    naming the field for a scope that does not fit the role or that the directory lacks."""
    username = body.username.lower()
    if account_exists(session, username):
        raise _conflict(f"Ein Konto '{username}'")
    # The store checks this too (and its CHECK constraint); here it is said in German.
    given = {field for field in SCOPE_FIELDS if getattr(body, field) is not None}
    if misfit := scope_misfit(body.role, given):
        raise misfit
    try:
        user = add_account(
            session,
            username,
            body.role,
            body.password.get_secret_value(),
            centre_id=body.centre_id,
            partner_id=body.partner_id,
            municipality_id=body.municipality_id,
            display_name=body.display_name,
            phone=body.phone,
            email=body.email,
        )
    except UnknownInDirectory as error:
        raise unknown(error.field, error.value) from error
    except InvalidUser as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"Konto ungültig: {error}"
        ) from error
    except Taken as error:
        # Two admins creating the same account at once.
        raise _conflict(f"Ein Konto '{username}'") from error
    audit.add_entry(session, admin.username, "admin.user_create", "user", user.username)
    return user
