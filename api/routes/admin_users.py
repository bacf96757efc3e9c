"""The user accounts, kept by administrators: list, create, change (role and scope, name and
contact, active or not) and reset a password. Every write is an audit entry naming the account
and the action, nothing else; the work is api/accounts.py's, shared with the pages.

A deactivated account is locked out at once: its token and its web session load the account
on every request (api/deps.py, api/ui/session.py). A reset answers a temporary password once
(only its hash is stored) and forces a new one at the next login (`POST /me/password`).
"""

from fastapi import APIRouter, status
from pydantic import BaseModel

from api import accounts
from api.accounts import UserIn, UsernamePath, UserOut, UserPatch
from api.deps import Admin, SessionDep
from store.models import User
from store.reads import admin as admin_reads

router = APIRouter(prefix="/admin", tags=["admin"])


class PasswordReset(BaseModel):
    username: str
    # Shown once: Lotse keeps only its hash. The account must replace it at its next login.
    temporary_password: str
    must_change_password: bool = True


def _out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


@router.get("/users", name="admin.users")
def list_users(admin: Admin, session: SessionDep) -> list[UserOut]:
    return [_out(row) for row in admin_reads.accounts(session)]


@router.post("/users", name="admin.user_create", status_code=status.HTTP_201_CREATED)
def create_user_account(body: UserIn, admin: Admin, session: SessionDep) -> UserOut:
    return _out(accounts.create(session, admin, body))


@router.patch("/users/{username}", name="admin.user_update")
def update_user_account(
    username: UsernamePath, body: UserPatch, admin: Admin, session: SessionDep
) -> UserOut:
    """Change role and scope, name and contact, or `{"active": false}` to lock the account out
    at once (its token and web session stop working with the next request). An administrator
    cannot deactivate or demote herself, and the last active administrator stays."""
    return _out(accounts.apply_change(session, admin, username.lower(), body))


@router.post("/users/{username}/password-reset", name="admin.user_password_reset")
def reset_user_password(username: UsernamePath, admin: Admin, session: SessionDep) -> PasswordReset:
    """A temporary password, answered once (Lotse keeps only its hash). Until the account
    sets a new one (`POST /me/password`), its token reaches nothing else."""
    name = username.lower()
    return PasswordReset(username=name, temporary_password=accounts.reset(session, admin, name))
