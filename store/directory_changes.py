"""The administrators' changes to the directory (`/admin/municipalities`, `/admin/centres`,
`/admin/partners`, `/admin/users`): add a municipality, a centre, a partner agency or an
account; change a municipality, a centre or a partner, or (de)activate it. Each refuses an id
that is taken (`Taken`), a reference the directory does not know (`UnknownInDirectory`, naming
the field), a row that is not there (`NotFound`) and a change cases forbid (`InUse`), and
commits; the API says each in German.

Nothing here deletes: cases, referrals and accounts refer to these rows.
"""

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from store.models import Centre, Municipality, PartnerAgency, Role, User
from store.projections import CaseSummary, ReferralSummary
from store.users import create_user

Row = TypeVar("Row", bound=SQLModel)


class Taken(Exception):
    """The id is taken (also when two administrators add the same one at once)."""


class UnknownInDirectory(LookupError):
    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field}: no '{value}' in the directory")
        self.field = field
        self.value = value


class NotFound(LookupError):
    """No row with this id (the API answers 404)."""


class InUse(Exception):
    """A change that cases or referrals forbid, naming the field (a centre's kind once it
    holds cases; a partner's kind once it has referrals)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: in use")
        self.field = field


def account_exists(session: Session, username: str) -> bool:
    return session.get(User, username) is not None


def add_partner(session: Session, partner: PartnerAgency) -> PartnerAgency:
    """Store a new partner agency of a known municipality."""
    if session.get(Municipality, partner.municipality_id) is None:
        raise UnknownInDirectory("municipality_id", partner.municipality_id)
    if session.get(PartnerAgency, partner.id) is not None:
        raise Taken(partner.id)
    session.add(partner)
    session.commit()
    return partner


def add_account(
    session: Session,
    username: str,
    role: Role,
    password: str,
    *,
    centre_id: str | None,
    partner_id: str | None,
    municipality_id: str | None,
    display_name: str = "",
    phone: str = "",
    email: str = "",
) -> User:
    """Store a new account whose scope ids the directory knows. `store.users.InvalidUser`
    for an account `create_user` refuses (the session is rolled back)."""
    for field, table, value in (
        ("centre_id", Centre, centre_id),
        ("partner_id", PartnerAgency, partner_id),
        ("municipality_id", Municipality, municipality_id),
    ):
        if value is not None and session.get(table, value) is None:
            raise UnknownInDirectory(field, value)
    try:
        user = create_user(
            session,
            username,
            role,
            password=password,
            centre_id=centre_id,
            partner_id=partner_id,
            municipality_id=municipality_id,
            display_name=display_name,
            phone=phone,
            email=email,
        )
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise Taken(username) from error
    except Exception:
        session.rollback()
        raise
    return user


def _add(session: Session, row: Row, key: str) -> Row:
    """Insert and commit; `Taken` when the id exists (checked, or refused by the primary key
    when another administrator added it a moment before)."""
    if session.get(type(row), key) is not None:
        raise Taken(key)
    session.add(row)
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise Taken(key) from error
    return row


def add_municipality(session: Session, municipality: Municipality) -> Municipality:
    """Store a new municipality (its case prefix derived from its id, store/models.py)."""
    return _add(session, municipality, municipality.id)


def add_centre(session: Session, centre: Centre) -> Centre:
    """Store a new centre of a known municipality."""
    if session.get(Municipality, centre.municipality_id) is None:
        raise UnknownInDirectory("municipality_id", centre.municipality_id)
    return _add(session, centre, centre.id)


def _change(session: Session, row: Row, changes: Mapping[str, Any]) -> tuple[Row, set[str]]:
    """Set the fields that differ and commit; the row and the names of the fields changed."""
    changed = {name for name, value in changes.items() if getattr(row, name) != value}
    for name in changed:
        setattr(row, name, changes[name])
    if changed:
        session.add(row)
        session.commit()
        session.refresh(row)
    return row, changed


def _found(session: Session, table: type[Row], key: str) -> Row:
    row = session.get(table, key)
    if row is None:
        raise NotFound(key)
    return row


def change_municipality(
    session: Session, municipality_id: str, changes: Mapping[str, Any]
) -> tuple[Municipality, set[str]]:
    """Name, Land or `active`; the id and the case prefix stay (case numbers carry it)."""
    return _change(session, _found(session, Municipality, municipality_id), changes)


def change_centre(
    session: Session, centre_id: str, changes: Mapping[str, Any]
) -> tuple[Centre, set[str]]:
    """Name, contact, `active`, and the kind while no case names the centre: a case keeps
    the kind it was opened with, and a centre whose cases say MBE while it says JMD would
    route and transfer by two answers. (The read model shows a case a moment after it opened;
    an administrator changes a kind before the centre's first day, not during it.)"""
    centre = _found(session, Centre, centre_id)
    if "kind" in changes and changes["kind"] != centre.kind:
        query = select(CaseSummary.case_id).where(col(CaseSummary.centre_id) == centre_id)
        if session.exec(query.limit(1)).first() is not None:
            raise InUse("kind")
    return _change(session, centre, changes)


def change_partner(
    session: Session, partner_id: str, changes: Mapping[str, Any]
) -> tuple[PartnerAgency, set[str]]:
    """Name, measures, contact, `active`, and the kind while no referral names the partner
    (a referral was routed to it for its kind). Its municipality stays."""
    partner = _found(session, PartnerAgency, partner_id)
    if "kind" in changes and changes["kind"] != partner.kind:
        query = select(ReferralSummary.id).where(col(ReferralSummary.partner_id) == partner_id)
        if session.exec(query.limit(1)).first() is not None:
            raise InUse("kind")
    return _change(session, partner, changes)
