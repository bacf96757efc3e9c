"""Changing one's own password, for `POST /me/password` and the page „Neues Passwort
festlegen“ alike: the current password is checked like a login (argon2 behind the login
throttle, `api.login_throttle`, so a stolen session cannot guess it), the new one must differ
from it (the rule of `domain.passwords` is the caller's payload's), and the change clears a
reset's demand for a new password. The change is an audit entry (`account.password_change`),
a wrong current password one too (`account.password_change_failed`), naming the account only.
"""

from dataclasses import dataclass
from functools import partial

from fastapi import HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import SecretStr
from sqlmodel import Session

from api.deps import Services
from api.login_throttle import LoginRefused
from store import audit
from store.account_changes import change_own_password
from store.models import User
from store.users import authenticate

WRONG_CURRENT = "Das bisherige Passwort stimmt nicht."
SAME_AS_BEFORE = "Das neue Passwort muss sich vom bisherigen unterscheiden."


@dataclass(frozen=True)
class PasswordRefusal:
    """Why the change was not made: the field it is about and a German sentence."""

    field: str
    message: str


def _change(session: Session, user: User, new_password: str) -> None:
    change_own_password(session, user, new_password)
    audit.add_entry(session, user.username, "account.password_change", "user", user.username)


def _failed(session: Session, user: User) -> None:
    audit.add_entry(session, user.username, "account.password_change_failed", "user", user.username)


async def password_change(
    services: Services,
    session: Session,
    user: User,
    address: str,
    current: SecretStr,
    new: SecretStr,
) -> PasswordRefusal | None:
    """Set `new` as the password of `user` once `current` is hers; the refusal otherwise.
    `HTTPException` 429/503 when the login throttle refuses (with its Retry-After)."""
    verify = partial(authenticate, session, user.username, current.get_secret_value())
    try:
        checked = await services.logins.check(user.username, address, verify)
    except LoginRefused as refused:
        raise HTTPException(
            refused.status_code, detail=refused.message, headers=refused.headers
        ) from None
    if checked is None:
        await run_in_threadpool(_failed, session, user)
        return PasswordRefusal("current_password", WRONG_CURRENT)
    if new.get_secret_value() == current.get_secret_value():
        return PasswordRefusal("new_password", SAME_AS_BEFORE)
    await run_in_threadpool(_change, session, checked, new.get_secret_value())
    return None
