"""The CSV layouts of a directory import (municipalities, centres, partner agencies, user
accounts) and the check of one row of such a file: each cell against its column's rule, the
values converted to what the directory stores.

Pure: whether a referenced municipality, centre or partner exists is the store's to say
(store/directory_import.py); reading the file (encoding, delimiter, bounds) is
`domain.directory_csv`'s. Messages are German and never repeat a cell's value: a cell may be a
person's name or hostile text, and the message ends up on a page and in a terminal.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from pydantic_core import PydanticCustomError

from domain.enums import ActorKind, CentreKind
from domain.fields import email_address, phone_number, single_line
from domain.workdays import LAENDER


class DirectoryKind(StrEnum):
    """What one CSV file brings in; the order is the order of an import (references first)."""

    MUNICIPALITIES = "municipalities"
    CENTRES = "centres"
    PARTNERS = "partners"
    USERS = "users"


KIND_LABELS = {
    DirectoryKind.MUNICIPALITIES: "Kommunen",
    DirectoryKind.CENTRES: "Beratungsstellen",
    DirectoryKind.PARTNERS: "Partner",
    DirectoryKind.USERS: "Konten",
}

# store.models.Role's values (the domain does not import the store); tests hold them equal.
ROLES = ("counsellor", "partner", "supervisor", "admin", "evaluator", "datenschutz", "regelwerk")
# The one scope column each role needs (store.users.scope_error, the table's CHECK).
SCOPE_OF_ROLE: dict[str, str | None] = {
    "counsellor": "centre_id",
    "partner": "partner_id",
    "supervisor": "municipality_id",
    "admin": None,
    "evaluator": None,
    "datenschutz": "municipality_id",
    "regelwerk": "municipality_id",
}
SCOPE_COLUMNS = ("centre_id", "partner_id", "municipality_id")
_SCOPE_WORDS = {
    "centre_id": "eine Beratungsstelle",
    "partner_id": "einen Partner",
    "municipality_id": "eine Kommune",
}


@dataclass(frozen=True)
class Layout:
    """The columns of one kind's file: `required` must be in the header, `optional` may be.
    `key` names each row's object (its id)."""

    kind: DirectoryKind
    key: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


LAYOUTS = {
    layout.kind: layout
    for layout in (
        Layout(DirectoryKind.MUNICIPALITIES, "id", ("id", "name", "land")),
        Layout(
            DirectoryKind.CENTRES,
            "id",
            ("id", "municipality_id", "name", "kind"),
            ("address", "phone", "email"),
        ),
        Layout(
            DirectoryKind.PARTNERS,
            "id",
            ("id", "municipality_id", "name", "kind", "measures"),
            ("contact_email", "active"),
        ),
        Layout(
            DirectoryKind.USERS,
            "username",
            ("username", "role"),
            (
                "centre_id",
                "partner_id",
                "municipality_id",
                "display_name",
                "phone",
                "email",
                "active",
            ),
        ),
    )
}

MAX_MEASURES = 50  # as the admin API's PartnerIn
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{1,63}")
# store.users.USERNAME (the account is stored lower-case).
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
# rules.schema's measure pattern: the rule vocabulary's form.
_MEASURE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_YES = frozenset(("ja", "j", "true", "wahr", "1", "yes", "y", "x"))
_NO = frozenset(("nein", "n", "false", "falsch", "0", "no"))


class CellError(ValueError):
    """A cell its column refuses; the message is German and names no value."""


def _required(value: str) -> str:
    if not value:
        raise CellError("Pflichtfeld: bitte ausfüllen.")
    return value


def _line(value: str, limit: int) -> str:
    if len(value) > limit:
        raise CellError(f"Zu lang, höchstens {limit} Zeichen.")
    try:
        return single_line(value)
    except PydanticCustomError as error:
        raise CellError(error.message()) from None


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(_required(value)):
        raise CellError(
            "Erwartet wird eine Id aus 2 bis 64 Zeichen: Kleinbuchstaben, Ziffern, - und _ "
            "(Beispiel: mbe-mitte)."
        )
    return value


def _optional_slug(value: str) -> str | None:
    return _slug(value) if value else None


def _username(value: str) -> str:
    name = _required(value).lower()
    if not _USERNAME.fullmatch(name):
        raise CellError(
            "Erwartet wird ein Benutzername aus 2 bis 64 Zeichen: Buchstaben, Ziffern, . _ und -."
        )
    return name


def _title(value: str) -> str:
    return _line(_required(value), 200)


def _choice(
    allowed: tuple[str, ...], *, fold: Callable[[str], str] = str.lower
) -> Callable[[str], str]:
    def check(value: str) -> str:
        wanted = fold(_required(value))
        if wanted not in allowed:
            raise CellError(f"Unbekannter Wert; erlaubt sind: {', '.join(allowed)}.")
        return wanted

    return check


def _land(value: str) -> str:
    code = _required(value).upper().removeprefix("DE-")
    if code not in LAENDER:
        raise CellError(
            f"Kein Bundesland-Kürzel nach ISO 3166-2; erlaubt sind: {', '.join(sorted(LAENDER))}."
        )
    return code


def _email(value: str) -> str:
    try:
        return email_address(_line(value, 254))
    except PydanticCustomError as error:
        raise CellError(error.message()) from None


def _phone(value: str) -> str:
    try:
        return phone_number(_line(value, 40))
    except PydanticCustomError as error:
        raise CellError(error.message()) from None


def _measures(value: str) -> list[str]:
    measures: list[str] = []
    for part in value.split(";"):
        measure = part.strip()
        if not measure or measure in measures:
            continue
        if not _MEASURE.fullmatch(measure):
            raise CellError(
                f"Maßnahme {len(measures) + 1}: Erwartet wird ein Name aus dem Regelwerk "
                "(Kleinbuchstaben, Ziffern und _, zum Beispiel integration_course); mehrere "
                "durch ; getrennt."
            )
        measures.append(measure)
    if len(measures) > MAX_MEASURES:
        raise CellError(f"Zu viele Maßnahmen, höchstens {MAX_MEASURES}.")
    return measures


def _active(value: str) -> bool:
    word = value.lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise CellError("Erwartet wird ja oder nein (auch true/false, 1/0); leer: unverändert.")


Check = Callable[[str], object]
_CENTRE_KINDS = tuple(kind.value for kind in CentreKind)
_ACTOR_KINDS = tuple(kind.value for kind in ActorKind)
CHECKS: dict[DirectoryKind, dict[str, Check]] = {
    DirectoryKind.MUNICIPALITIES: {"id": _slug, "name": _title, "land": _land},
    DirectoryKind.CENTRES: {
        "id": _slug,
        "municipality_id": _slug,
        "name": _title,
        "kind": _choice(_CENTRE_KINDS, fold=str.upper),
        "address": lambda value: _line(value, 300),
        "phone": _phone,
        "email": _email,
    },
    DirectoryKind.PARTNERS: {
        "id": _slug,
        "municipality_id": _slug,
        "name": _title,
        "kind": _choice(_ACTOR_KINDS),
        "measures": _measures,
        "contact_email": _email,
        "active": _active,
    },
    DirectoryKind.USERS: {
        "username": _username,
        "role": _choice(ROLES),
        "centre_id": _optional_slug,
        "partner_id": _optional_slug,
        "municipality_id": _optional_slug,
        "display_name": lambda value: _line(value, 120),
        "phone": _phone,
        "email": _email,
        "active": _active,
    },
}


@dataclass(frozen=True)
class CheckedRow:
    """One row's values by column (converted), and each refused column's message."""

    values: dict[str, object]
    errors: dict[str, str]


def check_row(kind: DirectoryKind, cells: Mapping[str, str]) -> CheckedRow:
    """Every given cell of a row (stripped) checked against its column. An empty `active`
    cell is left out (an import never re-activates what an admin deactivated by leaving it
    blank); the scope columns of an account are all set (None when empty or absent), since
    its role decides all three."""
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for column, check in CHECKS[kind].items():
        if column not in cells or (column == "active" and not cells[column]):
            continue
        try:
            values[column] = check(cells[column])
        except CellError as error:
            errors[column] = str(error)
    if kind is DirectoryKind.USERS:
        for column in SCOPE_COLUMNS:
            values.setdefault(column, None)
        if "role" in values and not errors.keys() & set(SCOPE_COLUMNS):
            errors.update(scope_problems(str(values["role"]), values))
    return CheckedRow(values, errors)


def scope_problems(role: str, values: Mapping[str, object]) -> dict[str, str]:
    """The scope columns that do not fit the role (each with its German message)."""
    needed = SCOPE_OF_ROLE[role]
    problems: dict[str, str] = {}
    for column in SCOPE_COLUMNS:
        given = values.get(column) is not None
        if column == needed and not given:
            problems[column] = f"Ein Konto der Rolle {role} braucht {_SCOPE_WORDS[column]}."
        elif column != needed and given:
            problems[column] = (
                f"Ein Konto der Rolle {role} hat hier keinen Wert; bitte leer lassen."
            )
    return problems
