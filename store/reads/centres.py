"""The directory's facts about centres that casework asks (api/casework.py, for the API and
the case page alike): the facts of a new case (municipality, centre kind, Land), who may own a
case of a centre (a reassignment's and a transfer's check, the handover form's choices, and by
name the coordination's assignment form's), and where a case may be transferred.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from domain.enums import CentreKind
from domain.workdays import DEFAULT_LAND
from store.models import Centre, Municipality, Role, User


@dataclass(frozen=True)
class CentreFacts:
    centre_id: str
    centre_kind: CentreKind
    municipality_id: str
    land: str
    # The centre and its municipality are active (migration 0016): new cases may open here.
    active: bool = True
    municipality_active: bool = True

    @property
    def opens_cases(self) -> bool:
        return self.active and self.municipality_active


@dataclass(frozen=True)
class CentreChoice:
    id: str
    name: str
    kind: CentreKind


def centre_facts(engine: Engine, centre_id: str) -> CentreFacts | None:
    """What a case opened at the centre starts with; None for a centre the directory lacks."""
    with Session(engine) as session:
        centre = session.get(Centre, centre_id)
        if centre is None:
            return None
        municipality = session.get(Municipality, centre.municipality_id)
        land = municipality.land if municipality is not None else DEFAULT_LAND
        municipality_active = municipality is None or municipality.active
        return CentreFacts(
            centre.id, centre.kind, centre.municipality_id, land, centre.active, municipality_active
        )


def _owners_at(centre_id: str) -> tuple[ColumnElement[bool], ...]:
    """Who may own a case of `centre_id`: the centre's active counsellor accounts. The one rule
    behind the checks of a reassignment or transfer and the choices of the handover and
    assignment forms."""
    return (
        col(User.role) == Role.COUNSELLOR,
        col(User.centre_id) == centre_id,
        col(User.active).is_(True),
    )


def _counsellors_at(centre_id: str) -> SelectOfScalar[str]:
    return select(User.username).where(*_owners_at(centre_id))


def is_counsellor_of(engine: Engine, username: str, centre_id: str) -> bool:
    with Session(engine) as session:
        query = _counsellors_at(centre_id).where(User.username == username)
        return session.exec(query).first() is not None


def counsellors_of(engine: Engine, centre_id: str) -> list[str]:
    """The usernames `is_counsellor_of` accepts for the centre, sorted (a form's choices)."""
    with Session(engine) as session:
        query = _counsellors_at(centre_id).order_by(col(User.username))
        return list(session.exec(query).all())


@dataclass(frozen=True)
class CounsellorOption:
    """A counsellor a case may be given: her username and the name colleagues read."""

    username: str
    name: str


def counsellor_options(engine: Engine, centre_id: str) -> list[CounsellorOption]:
    """The accounts `is_counsellor_of` accepts for the centre, by display name (the username
    where there is none): the choices of the coordination's assignment form."""
    with Session(engine) as session:
        query = select(User.username, User.display_name).where(*_owners_at(centre_id))
        found = [
            CounsellorOption(username, display_name or username)
            for username, display_name in session.exec(query).all()
        ]
    return sorted(found, key=lambda option: (option.name.casefold(), option.username))


def centres_of(engine: Engine, municipality_id: str) -> list[CentreChoice]:
    """The active centres of a municipality, by name: where a case may be transferred, and
    where a partner may refer a client."""
    with Session(engine) as session:
        query = (
            select(Centre)
            .where(Centre.municipality_id == municipality_id, col(Centre.active).is_(True))
            .order_by(col(Centre.name), col(Centre.id))
        )
        return [CentreChoice(c.id, c.name, c.kind) for c in session.exec(query).all()]


@dataclass(frozen=True)
class Letterhead:
    """What the agreement document's letterhead names of a centre; empty strings where the
    directory has nothing (an address is optional, migration 0005)."""

    name: str
    address: str
    phone: str
    email: str
    municipality: str


def letterhead(engine: Engine, centre_id: str) -> Letterhead:
    """The centre's letterhead; a centre the directory lacks reads as its id."""
    with Session(engine) as session:
        centre = session.get(Centre, centre_id)
        if centre is None:
            return Letterhead(centre_id, "", "", "", "")
        municipality = session.get(Municipality, centre.municipality_id)
        place = municipality.name if municipality is not None else centre.municipality_id
        return Letterhead(centre.name, centre.address, centre.phone, centre.email, place)
