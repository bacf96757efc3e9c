"""What both login doors (`POST /auth/token` and the login page) share before and after the
password check (`store.users.authenticate`, behind `api.login_throttle`): the shape a username
must have to be looked up at all, and the one sentence a failure gets.
"""

from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from domain.fields import SingleLine

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
