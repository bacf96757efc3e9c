"""What the inbound referrals' routes and pages read (a partner refers a client to a centre):
a centre's incoming referrals (`GET /inbound-referrals`, the page "Eingehende Vermittlungen"),
a partner's sent ones with each centre's name (`GET /inbound-referrals/sent`, the page
"Gesendete Vermittlungen"), a municipality's for coordination (`GET
/supervision/inbound-referrals`), one referral's row, and the directory facts a new referral
is checked against (the referring partner; the centres are `store.reads.centres`).

Every list is newest first, ties by id, along an index of `inbound_referrals`
(store/models.py).
"""

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from domain.inbound import InboundStatus
from store.models import Centre, InboundReferral, PartnerAgency
from store.reads.paging import Slice, first, page_of


def _newest_first(query: SelectOfScalar[InboundReferral]) -> SelectOfScalar[InboundReferral]:
    return query.order_by(col(InboundReferral.created_at).desc(), col(InboundReferral.id).desc())


def centre_referrals(
    centre_id: str, statuses: Collection[InboundStatus] | None = None
) -> SelectOfScalar[InboundReferral]:
    """The referrals to the centre, newest first; `statuses` narrows to those."""
    query = select(InboundReferral).where(InboundReferral.centre_id == centre_id)
    if statuses is not None:
        query = query.where(col(InboundReferral.status).in_(statuses))
    return _newest_first(query)


def centre_referral_page(
    session: Session,
    centre_id: str,
    page: int,
    page_size: int,
    status: InboundStatus | None = None,
) -> Slice[InboundReferral]:
    statuses = None if status is None else (status,)
    return page_of(session, centre_referrals(centre_id, statuses), page, page_size)


def centre_referral_list(
    session: Session, centre_id: str, statuses: Collection[InboundStatus], limit: int
) -> list[InboundReferral]:
    """The newest `limit` referrals to the centre in `statuses` (a section of the page)."""
    return first(session, centre_referrals(centre_id, statuses), limit)


@dataclass(frozen=True)
class SentReferral:
    """A partner's referral as the partner sees it, with the centre's name."""

    row: InboundReferral
    centre_name: str


def _with_centre_names(session: Session, rows: list[InboundReferral]) -> list[SentReferral]:
    ids = {row.centre_id for row in rows}
    names: dict[str, str] = {}
    if ids:
        found = session.exec(select(Centre).where(col(Centre.id).in_(ids))).all()
        names = {centre.id: centre.name for centre in found}
    return [SentReferral(row, names.get(row.centre_id, row.centre_id)) for row in rows]


def partner_names(session: Session, partner_ids: Collection[str]) -> dict[str, str]:
    """The names of the referring agencies (the counsellor's page says who sent each)."""
    if not partner_ids:
        return {}
    query = select(PartnerAgency).where(col(PartnerAgency.id).in_(set(partner_ids)))
    return {partner.id: partner.name for partner in session.exec(query).all()}


def partner_referrals(partner_id: str) -> SelectOfScalar[InboundReferral]:
    return _newest_first(select(InboundReferral).where(InboundReferral.partner_id == partner_id))


def sent_referral_page(
    session: Session, partner_id: str, page: int, page_size: int
) -> Slice[SentReferral]:
    """One page of the partner's referrals, newest first."""
    found = page_of(session, partner_referrals(partner_id), page, page_size)
    return Slice(_with_centre_names(session, found.rows), found.has_more)


def sent_referral_list(session: Session, partner_id: str, limit: int) -> list[SentReferral]:
    """The partner's newest `limit` referrals (the page)."""
    return _with_centre_names(session, first(session, partner_referrals(partner_id), limit))


def municipality_referral_page(
    session: Session, municipality_id: str, page: int, page_size: int
) -> Slice[InboundReferral]:
    """One page of the municipality's referrals, newest first (coordination)."""
    query = select(InboundReferral).where(InboundReferral.municipality_id == municipality_id)
    return page_of(session, _newest_first(query), page, page_size)


def referral_row(engine: Engine, referral_id: str) -> InboundReferral | None:
    with Session(engine) as session:
        return session.get(InboundReferral, referral_id)


def referring_partner(engine: Engine, partner_id: str) -> PartnerAgency | None:
    """The partner agency of a partner account (None: gone from the directory)."""
    with Session(engine) as session:
        return session.get(PartnerAgency, partner_id)
