"""The administrators' directory of municipalities, centres and partner agencies, for the API
(api/routes/admin_directory.py) and the pages (api/ui/directory_pages.py) alike: the payloads,
and create/change/(de)activate with their refusals in German and their audit entries.

A refusal is an `HTTPException`: 404 for an id that is not there, 409 for an id that is taken
or a change cases forbid, 422 naming the field for a reference the directory does not know.
Every write that changed something is an audit entry (ids and verbs only:
`admin.<kind>_create`, `admin.<kind>_change`, `admin.<kind>_deactivate`,
`admin.<kind>_reactivate`). Nothing is ever deleted: cases refer to these rows.
"""

from typing import Annotated, Any

from fastapi import HTTPException, status
from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError
from sqlmodel import Session

from domain.enums import ActorKind, CentreKind
from domain.fields import Code, EmailAddress, PhoneNumber, SingleLine, Slug, Title, is_slug
from domain.profile import StrictModel
from domain.workdays import LAENDER
from store import audit
from store.directory_changes import (
    InUse,
    NotFound,
    Taken,
    UnknownInDirectory,
    add_centre,
    add_municipality,
    add_partner,
    change_centre,
    change_municipality,
    change_partner,
)
from store.models import ADDRESS_LENGTH, Centre, Municipality, PartnerAgency


def _land(value: str) -> str:
    # The message names the codes, never the value sent (it may be anything).
    code = value.upper()
    if code not in LAENDER:
        raise PydanticCustomError(
            "land", "Unbekanntes Land-Kürzel; erlaubt sind {codes}.", {"codes": _CODES}
        )
    return code


_CODES = ", ".join(sorted(LAENDER))
Land = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(_land)]
"""A German Land by its ISO 3166-2 code without "DE-" (`NW`, also `nw`): its holidays."""
Address = Annotated[SingleLine, Field(max_length=ADDRESS_LENGTH)]


def _distinct(measures: list[str]) -> list[str]:
    return list(dict.fromkeys(measures))


Measures = Annotated[list[Code], Field(max_length=50), AfterValidator(_distinct)]


class MunicipalityIn(StrictModel):
    id: Slug
    name: Title
    land: Land


class MunicipalityChange(StrictModel):
    name: Title | None = None
    land: Land | None = None
    active: bool | None = None


class MunicipalityOut(BaseModel):
    id: str
    name: str
    land: str
    case_prefix: str | None  # "MUS" in MUS-2026-0147, derived from the id
    active: bool


class CentreIn(StrictModel):
    id: Slug
    municipality_id: Slug
    name: Title
    kind: CentreKind
    address: Address = ""
    phone: PhoneNumber = ""
    email: EmailAddress = ""


class CentreChange(StrictModel):
    name: Title | None = None
    kind: CentreKind | None = None
    address: Address | None = None
    phone: PhoneNumber | None = None
    email: EmailAddress | None = None
    active: bool | None = None


class CentreOut(BaseModel):
    id: str
    municipality_id: str
    name: str
    kind: CentreKind
    address: str
    phone: str
    email: str
    active: bool


class PartnerIn(StrictModel):
    id: Slug
    name: Title
    kind: ActorKind
    municipality_id: Slug
    measures: Measures
    active: bool = True
    contact_email: EmailAddress = ""


class PartnerChange(StrictModel):
    name: Title | None = None
    kind: ActorKind | None = None
    measures: Measures | None = None
    contact_email: EmailAddress | None = None
    active: bool | None = None


class PartnerOut(BaseModel):
    id: str
    name: str
    kind: ActorKind
    municipality_id: str
    measures: list[str]
    active: bool
    contact_email: str


# The German names of what an id refers to, for the refusals.
_WHAT = {"municipality": "Eine Kommune", "centre": "Eine Beratungsstelle", "partner": "Ein Partner"}
_IN_USE = {
    "centre": "Die Art der Beratungsstelle lässt sich nicht mehr ändern: Sie hat bereits Fälle.",
    "partner": "Die Art des Partners lässt sich nicht mehr ändern: Er hat bereits Vermittlungen.",
}


def _taken(kind: str, key: str) -> HTTPException:
    detail = f"{_WHAT[kind]} mit der Id '{key}' existiert bereits."
    errors = [{"field": "id", "message": "Diese Kennung ist schon vergeben."}]
    return HTTPException(status.HTTP_409_CONFLICT, detail={"detail": detail, "errors": errors})


def unknown(field: str, value: str) -> HTTPException:
    """422 naming the field whose id the directory does not know."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail={
            "detail": f"{field}: '{value}' gibt es im Verzeichnis nicht.",
            "errors": [{"field": field, "message": f"'{value}' gibt es im Verzeichnis nicht."}],
        },
    )


def _not_found(kind: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{_WHAT[kind]} mit dieser Id fehlt.")


def _in_use(kind: str, field: str) -> HTTPException:
    message = _IN_USE[kind]
    return HTTPException(
        status.HTTP_409_CONFLICT,
        detail={"detail": message, "errors": [{"field": field, "message": message}]},
    )


def create_municipality(session: Session, admin: str, body: MunicipalityIn) -> Municipality:
    try:
        row = add_municipality(session, Municipality(**body.model_dump()))
    except Taken as error:
        raise _taken("municipality", body.id) from error
    audit.add_entry(session, admin, "admin.municipality_create", "municipality", row.id)
    return row


def create_centre(session: Session, admin: str, body: CentreIn) -> Centre:
    try:
        row = add_centre(session, Centre(**body.model_dump()))
    except UnknownInDirectory as error:
        raise unknown(error.field, error.value) from error
    except Taken as error:
        raise _taken("centre", body.id) from error
    audit.add_entry(session, admin, "admin.centre_create", "centre", row.id)
    return row


def create_partner(session: Session, admin: str, body: PartnerIn) -> PartnerAgency:
    try:
        row = add_partner(session, PartnerAgency(**body.model_dump()))
    except UnknownInDirectory as error:
        raise unknown(error.field, error.value) from error
    except Taken as error:
        raise _taken("partner", body.id) from error
    audit.add_entry(session, admin, "admin.partner_create", "partner", row.id)
    return row


def _changes(body: BaseModel) -> dict[str, Any]:
    # Only the fields sent: an omitted field stays; null is "not sent" for every field here.
    return {
        name: value
        for name, value in body.model_dump(exclude_unset=True).items()
        if value is not None
    }


def edit_municipality(
    session: Session, admin: str, municipality_id: str, body: MunicipalityChange
) -> Municipality:
    if not is_slug(municipality_id):
        raise _not_found("municipality")
    try:
        row, changed = change_municipality(session, municipality_id, _changes(body))
    except NotFound as error:
        raise _not_found("municipality") from error
    _record(session, admin, "municipality", row.id, changed, row.active)
    return row


def edit_centre(session: Session, admin: str, centre_id: str, body: CentreChange) -> Centre:
    if not is_slug(centre_id):
        raise _not_found("centre")
    try:
        row, changed = change_centre(session, centre_id, _changes(body))
    except NotFound as error:
        raise _not_found("centre") from error
    except InUse as error:
        raise _in_use("centre", error.field) from error
    _record(session, admin, "centre", row.id, changed, row.active)
    return row


def edit_partner(
    session: Session, admin: str, partner_id: str, body: PartnerChange
) -> PartnerAgency:
    if not is_slug(partner_id):
        raise _not_found("partner")
    try:
        row, changed = change_partner(session, partner_id, _changes(body))
    except NotFound as error:
        raise _not_found("partner") from error
    except InUse as error:
        raise _in_use("partner", error.field) from error
    _record(session, admin, "partner", row.id, changed, row.active)
    return row


def _record(
    session: Session, admin: str, kind: str, key: str, changed: set[str], active: bool
) -> None:
    """One entry for the fields changed, one for a change of `active` (which says more);
    none when nothing changed (a form sent again as it was)."""
    if changed - {"active"}:
        audit.add_entry(session, admin, f"admin.{kind}_change", kind, key)
    if "active" in changed:
        verb = "reactivate" if active else "deactivate"
        audit.add_entry(session, admin, f"admin.{kind}_{verb}", kind, key)
