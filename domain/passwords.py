"""What a password a person chooses must be: 8 to 256 characters, no control characters
(they cannot be typed, and a NUL or a line break from a pasted text is a mistake, not a
secret). One rule for the API (`POST /admin/users`, `POST /me/password`), the page „Neues
Passwort festlegen“ and `lotse users create`; each says it in German without repeating the
password.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr
from pydantic_core import PydanticCustomError

MIN_LENGTH = 8
MAX_LENGTH = 256
_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f]")


def password_problem(password: str) -> str | None:
    """Why `password` may not be chosen (a German sentence), or None when it may."""
    if len(password) < MIN_LENGTH:
        return f"Zu kurz, mindestens {MIN_LENGTH} Zeichen."
    if len(password) > MAX_LENGTH:
        return f"Zu lang, höchstens {MAX_LENGTH} Zeichen."
    if found := _CONTROL.search(password):
        return (
            f"Steuerzeichen (U+{ord(found.group()):04X}, Zeichen {found.start() + 1}) sind "
            "nicht erlaubt."
        )
    return None


def _checked(value: SecretStr) -> SecretStr:
    problem = password_problem(value.get_secret_value())
    if problem:
        raise PydanticCustomError("password_rule", problem)
    return value


# Length bounds in the schema too (clients learn them); the check says them in German.
NewPassword = Annotated[
    SecretStr,
    Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH),
    AfterValidator(_checked),
]
