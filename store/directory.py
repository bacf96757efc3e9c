"""The partner directory on the store: what partner resolution picks from, and the facts about
municipalities and centres a case needs (which municipality, which Land's holidays, MBE or JMD).

Rules pick the actor kind and measure; partner resolution then picks, among the partners this
directory returns, an active one of that kind offering the measure with the fewest open
referrals. This module only answers questions; it never writes and never picks.
"""

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from domain.enums import CentreKind
from domain.partners import Partner
from domain.referral import OPEN
from store.models import Centre, Municipality, PartnerAgency
from store.projections import ReferralSummary

# A referral a partner still has to act on: it counts against that partner's load.
# For SQL: the domain's open statuses in a fixed order.
OPEN_REFERRAL_STATUSES = tuple(sorted(OPEN))


class NotInDirectory(LookupError):
    """An id the directory does not know: a configuration error, not a routing outcome."""


class SqlDirectory:
    """The directory read from the store. Each call opens its own short session, so one
    instance can be shared by the threads of a worker."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def partners(self, municipality: str) -> list[Partner]:
        """Every partner of the municipality, inactive ones included (flagged `active=False`,
        so resolution can say why it skipped one), with its open-referral count; by id."""
        open_referrals = (
            select(func.count())
            .select_from(ReferralSummary)
            .where(
                col(ReferralSummary.partner_id) == col(PartnerAgency.id),
                col(ReferralSummary.status).in_(OPEN_REFERRAL_STATUSES),
            )
            .scalar_subquery()
        )
        query = (
            select(PartnerAgency, open_referrals)
            .where(PartnerAgency.municipality_id == municipality)
            .order_by(col(PartnerAgency.id))
        )
        with Session(self._engine) as session:
            return [_partner(agency, count) for agency, count in session.exec(query)]

    def partner(self, partner_id: str) -> Partner:
        """One partner by id (e.g. to check a counsellor's override), with its open referrals."""
        with Session(self._engine) as session:
            agency = session.get(PartnerAgency, partner_id)
            if agency is None:
                raise NotInDirectory(f"no partner '{partner_id}' in the directory")
            count = session.exec(
                select(func.count())
                .select_from(ReferralSummary)
                .where(
                    ReferralSummary.partner_id == partner_id,
                    col(ReferralSummary.status).in_(OPEN_REFERRAL_STATUSES),
                )
            ).one()
            return _partner(agency, count)

    def municipality_of_centre(self, centre_id: str) -> str:
        return self._centre(centre_id).municipality_id

    def centre_kind(self, centre_id: str) -> CentreKind:
        return self._centre(centre_id).kind

    def centre_name(self, centre_id: str) -> str:
        """The centre's name; its id when the directory has no row for it (a document must
        still render)."""
        with Session(self._engine) as session:
            found = session.get(Centre, centre_id)
            return found.name if found is not None and found.name else centre_id

    def municipality_name(self, municipality: str) -> str:
        """The municipality's name; its id when the directory has no row for it (the read
        model and the directory are written apart, and a document must still render)."""
        with Session(self._engine) as session:
            found = session.get(Municipality, municipality)
            return found.name if found is not None else municipality

    def land_of(self, municipality: str) -> str:
        """The ISO 3166-2 subdivision (e.g. "NW") whose public holidays the clocks skip."""
        with Session(self._engine) as session:
            found = session.get(Municipality, municipality)
            if found is None:
                raise NotInDirectory(f"no municipality '{municipality}' in the directory")
            return found.land

    def _centre(self, centre_id: str) -> Centre:
        with Session(self._engine) as session:
            centre = session.get(Centre, centre_id)
            if centre is None:
                raise NotInDirectory(f"no centre '{centre_id}' in the directory")
            return centre


def _partner(agency: PartnerAgency, open_referrals: int) -> Partner:
    return Partner(
        id=agency.id,
        name=agency.name,
        kind=agency.kind,
        municipality=agency.municipality_id,
        measures=list(agency.measures),
        active=agency.active,
        open_referrals=open_referrals,
    )
