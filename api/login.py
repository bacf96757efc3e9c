"""What both login doors (`POST /auth/token` and the login page) share before and after the
password check (`store.users.authenticate`, behind `api.login_throttle`): the shape a username
must have to be looked up at all, the one sentence a failure gets, and the audit entry of
each attempt (`record_login`).
"""

from typing import Annotated, Any

from fastapi.concurrency import run_in_threadpool
from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import Engine

from domain.fields import SingleLine
from store import audit
from store.models import User

# One answer for an unknown user, a wrong password and a deactivated account: the API must
# not tell which usernames exist (store.users.authenticate also takes the same time).
LOGIN_FAILED = "Benutzername oder Passwort ist falsch."

# What a username can be at all: one with control characters (or a huge one) is refused
# before it reaches the throttle or the database (PostgreSQL cannot even look up a NUL).
_USERNAME: TypeAdapter[str] = TypeAdapter(Annotated[SingleLine, Field(max_length=254)])


def username_problems(username: str) -> list[dict[str, Any]]:
    """pydantic's errors (located at the form field `username`) for a username no account can
    have; empty when it may be looked up. Both login doors check with it."""
    try:
        _USERNAME.validate_python(username)
    except ValidationError as error:
        return [{**problem, "loc": ("body", "username")} for problem in error.errors()]
    return []


# A failed login names no account: what was typed may be a mistyped name, a password typed
# into the wrong field, or someone else's name. The entry says only that a login failed.
NOBODY = "-"


async def record_login(engine: Engine, user: User | None) -> None:
    """`auth.login` of the account, or `auth.login_failed` without any name (see NOBODY)."""
    if user is None:
        await run_in_threadpool(audit.record, engine, NOBODY, "auth.login_failed", "login", NOBODY)
        return
    await run_in_threadpool(
        audit.record, engine, user.username, "auth.login", "account", user.username
    )
