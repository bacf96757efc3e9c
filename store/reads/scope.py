"""What the scope checks ask (api/deps.py, for the API and the pages alike): who owns a case,
which agency a referral was sent to, which centre an inbound referral was sent to, the active
account behind a token or a session, the municipality a caller belongs to, and the
municipalities an evaluator's figures cover. One primary-key
row each.
"""

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from store.erasure import is_erased
from store.models import (
    Centre,
    EvaluatorMunicipality,
    InboundReferral,
    Municipality,
    PartnerAgency,
    User,
)
from store.projections import CaseSummary, ReferralSummary


@dataclass(frozen=True)
class CaseOwner:
    municipality_id: str
    centre_id: str
    counsellor_id: str | None
    # The stage as the read model has it ("" when asked of the workflow), and whether the case
    # was erased (store/erasure.py: every access then answers 410).
    stage: str = ""
    erased: bool = False


def case_owner(engine: Engine, case_id: str) -> CaseOwner | None:
    """Who owns the case in the read model (None: no such case, or not projected yet)."""
    with Session(engine) as session:
        row = session.get(CaseSummary, case_id)
        if row is None:
            return None
        erased = is_erased(session, case_id)
        return CaseOwner(row.municipality_id, row.centre_id, row.counsellor_id, row.stage, erased)


def referral_partner(engine: Engine, referral_id: str) -> str | None:
    """The agency the referral was sent to (None: no such referral, or not projected yet)."""
    with Session(engine) as session:
        row = session.get(ReferralSummary, referral_id)
        return row.partner_id if row is not None else None


@dataclass(frozen=True)
class ReferralOwner:
    case_id: str
    municipality_id: str


def referral_owner(engine: Engine, referral_id: str) -> ReferralOwner | None:
    """The case and municipality of a referral (None: no such referral, or not projected)."""
    with Session(engine) as session:
        row = session.get(ReferralSummary, referral_id)
        return ReferralOwner(row.case_id, row.municipality_id) if row is not None else None


def inbound_referral_centre(engine: Engine, referral_id: str) -> str | None:
    """The centre a partner referred the client to (None: no such inbound referral). Written
    by the API itself, so there is no projection lag to wait for."""
    with Session(engine) as session:
        row = session.get(InboundReferral, referral_id)
        return row.centre_id if row is not None else None


def active_account(session: Session, username: str) -> User | None:
    """The account, when it exists and is active (a deactivated one is locked out at once)."""
    user = session.get(User, username)
    return user if user is not None and user.active else None


def home_municipality(engine: Engine, user: User) -> str | None:
    """The municipality of the account's scope (None for an admin, or a scope that is gone)."""
    if user.municipality_id is not None:
        return user.municipality_id
    with Session(engine) as session:
        if user.centre_id is not None:
            centre = session.get(Centre, user.centre_id)
            return centre.municipality_id if centre else None
        if user.partner_id is not None:
            partner = session.get(PartnerAgency, user.partner_id)
            return partner.municipality_id if partner else None
    return None


def evaluator_municipalities(session: Session, username: str) -> tuple[str, ...] | None:
    """The municipalities an evaluator's figures cover; None: every municipality."""
    rows = session.exec(
        select(EvaluatorMunicipality.municipality_id).where(
            col(EvaluatorMunicipality.username) == username
        )
    ).all()
    return tuple(sorted(rows)) or None


def municipality_exists(session: Session, municipality_id: str) -> bool:
    return session.get(Municipality, municipality_id) is not None


def centre_municipality(session: Session, centre_id: str) -> str | None:
    """The municipality of a centre (None: no such centre)."""
    centre = session.get(Centre, centre_id)
    return centre.municipality_id if centre is not None else None
