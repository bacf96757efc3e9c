"""Referrals to a counselling centre ("Vermittlungen an eine Beratungsstelle"): a partner agency
refers a client to a centre of its municipality, the centre's counsellors accept (a case is
opened and linked) or decline with a reason (api/inbound.py does both).

Who sees what:
- a partner: `POST /inbound-referrals`, and its own sent referrals with their status, the
  centre's name, the dates and a decline's reason (`GET /inbound-referrals/sent`). Of an
  accepted one nothing of the case: no case id, no stage.
- a counsellor: the referrals to her centre with everything the partner sent
  (`GET /inbound-referrals`), and the decision on each; another centre's is 404, as a missing
  one.
- coordination: the municipality's referrals as networking facts, read-only, without the
  client's data (`GET /supervision/inbound-referrals`): which partner (and kind) referred to
  which centre, when, and when it was decided how. The evaluation counts these.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from api import inbound
from api.deps import (
    CentreListing,
    IdempotencyKey,
    MunicipalityListing,
    Partner,
    PartnerListing,
    ScopedInboundReferral,
    ServicesDep,
    SessionDep,
)
from api.pagination import Page, PageNumber, PageSize, paginate
from domain.enums import ActorKind
from domain.inbound import InboundDecline, InboundReferralRequest, InboundStatus
from store.models import InboundReferral
from store.projections import client_display_name
from store.reads import inbound as inbound_reads
from store.reads.inbound import SentReferral

router = APIRouter(tags=["inbound-referrals"])


class InboundCreated(BaseModel):
    id: str
    status: InboundStatus
    centre_id: str
    created_at: datetime


class InboundClient(BaseModel):
    given_name: str
    family_name: str


class InboundContact(BaseModel):
    phone: str | None
    email: str | None


class IncomingReferral(BaseModel):
    """A referral to the counsellor's centre: everything the partner sent, and the decision."""

    id: str
    status: InboundStatus
    partner_id: str
    partner_kind: ActorKind
    client: InboundClient
    contact: InboundContact
    reason: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decline_reason: str | None
    case_id: str | None


class SentReferralItem(BaseModel):
    """A partner's own referral: where it went, what became of it, nothing of a case."""

    id: str
    status: InboundStatus
    centre_id: str
    centre_name: str
    client: str  # display name ("Amina K."), as the partner sent it
    created_at: datetime
    decided_at: datetime | None
    decline_reason: str | None


class InboundDecision(BaseModel):
    id: str
    status: InboundStatus
    decided_at: datetime | None
    case_id: str | None  # the case accepting opened


class NetworkingEvent(BaseModel):
    """One referral of the municipality, as coordination sees it: ids and instants only."""

    id: str
    status: InboundStatus
    partner_id: str
    partner_kind: ActorKind
    centre_id: str
    created_at: datetime
    decided_at: datetime | None


def _incoming(row: InboundReferral) -> IncomingReferral:
    return IncomingReferral(
        id=row.id,
        status=row.status,
        partner_id=row.partner_id,
        partner_kind=row.partner_kind,
        client=InboundClient(given_name=row.given_name, family_name=row.family_name),
        contact=InboundContact(phone=row.phone, email=row.email),
        reason=row.reason,
        created_at=row.created_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        decline_reason=row.decline_reason,
        # An open referral's case id is only claimed, not opened yet.
        case_id=row.case_id if row.status is InboundStatus.ACCEPTED else None,
    )


def _sent(item: SentReferral) -> SentReferralItem:
    row = item.row
    return SentReferralItem(
        id=row.id,
        status=row.status,
        centre_id=row.centre_id,
        centre_name=item.centre_name,
        client=client_display_name(row.given_name, row.family_name),
        created_at=row.created_at,
        decided_at=row.decided_at,
        decline_reason=row.decline_reason,
    )


def _decision(row: InboundReferral) -> InboundDecision:
    case_id = row.case_id if row.status is InboundStatus.ACCEPTED else None
    return InboundDecision(id=row.id, status=row.status, decided_at=row.decided_at, case_id=case_id)


def _networking(row: InboundReferral) -> NetworkingEvent:
    return NetworkingEvent(
        id=row.id,
        status=row.status,
        partner_id=row.partner_id,
        partner_kind=row.partner_kind,
        centre_id=row.centre_id,
        created_at=row.created_at,
        decided_at=row.decided_at,
    )


@router.post(
    "/inbound-referrals", name="inbound_referral.create", status_code=status.HTTP_201_CREATED
)
async def refer(
    body: InboundReferralRequest,
    partner: Partner,
    services: ServicesDep,
    key: IdempotencyKey = None,
) -> InboundCreated:
    """Refer a client to a counselling centre of the partner's municipality, with the client's
    consent. The same Idempotency-Key answers the referral it created."""
    row = await inbound.refer(services, partner, body, key)
    return InboundCreated(
        id=row.id, status=row.status, centre_id=row.centre_id, created_at=row.created_at
    )


@router.get("/inbound-referrals", name="inbound_referral.list")
def incoming(
    user: CentreListing,
    session: SessionDep,
    status_filter: Annotated[InboundStatus | None, Query(alias="status")] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[IncomingReferral]:
    """Referrals to the counsellor's centre, newest first; `status` narrows to one status."""
    found = inbound_reads.centre_referral_page(
        session, user.centre_id or "", page, page_size, status_filter
    )
    return paginate(found, page, page_size, _incoming)


@router.get("/inbound-referrals/sent", name="inbound_referral.sent")
def sent(
    partner: PartnerListing, session: SessionDep, page: PageNumber = 1, page_size: PageSize = 50
) -> Page[SentReferralItem]:
    """The partner's own referrals to centres, newest first."""
    found = inbound_reads.sent_referral_page(session, partner.partner_id or "", page, page_size)
    return paginate(found, page, page_size, _sent)


@router.post(
    "/inbound-referrals/{inbound_referral_id}/accept",
    name="inbound_referral.accept",
    status_code=status.HTTP_201_CREATED,
)
async def accept(referral: ScopedInboundReferral, services: ServicesDep) -> InboundDecision:
    """Accept: the client's case is opened at the centre, with the caller as counsellor, and
    linked. Every further accept answers the same case."""
    return _decision(await inbound.accept(services, referral))


@router.post("/inbound-referrals/{inbound_referral_id}/decline", name="inbound_referral.decline")
async def decline(
    body: InboundDecline, referral: ScopedInboundReferral, services: ServicesDep
) -> InboundDecision:
    """Decline with a reason; the referring partner reads it."""
    return _decision(await inbound.decline(services, referral, body))


@router.get("/supervision/inbound-referrals", name="supervision.inbound_referrals")
def municipality_referrals(
    supervisor: MunicipalityListing,
    session: SessionDep,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[NetworkingEvent]:
    """The municipality's referrals to centres, newest first: who referred to whom, when, and
    when it was decided how. No client data."""
    found = inbound_reads.municipality_referral_page(
        session, supervisor.municipality_id or "", page, page_size
    )
    return paginate(found, page, page_size, _networking)
