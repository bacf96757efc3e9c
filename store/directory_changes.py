"""The administrators' changes to the directory (`POST /admin/partners`, `POST /admin/users`):
add a partner agency, add an account. Each refuses an id that is taken (`Taken`) and a scope
the directory does not know (`UnknownInDirectory`, naming the field), and commits; the API
says both in German.
"""

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from store.models import Centre, Municipality, PartnerAgency, Role, User
from store.users import create_user


class Taken(Exception):
    """The id is taken (also when two administrators add the same one at once)."""


class UnknownInDirectory(LookupError):
    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field}: no '{value}' in the directory")
        self.field = field
        self.value = value


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
