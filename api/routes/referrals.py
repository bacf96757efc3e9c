"""The partner's inbox: referrals sent to the caller's agency, and the four answers to one.

A partner sees what its task needs and the signed agreement's consent clause names: the need,
the measure, the client's first name and languages, and the facts its partner kind receives
(`client_details`, domain/consent.py: the German level for a language school, family name and
date of birth for a Jobcenter, the qualification for a recognition office, ...), with German
labels and values. Never the residence status, benefits, other needs or qualifications, the
rest of the profile or the counsellor's notes; those stay in the case workflow. It also sees
who sent the client and whom to call (the centre and the counsellor with their contact), the
priority the rules gave the measure and the deadline to acknowledge.
"""

from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, status
from pydantic import BaseModel
from temporalio.workflow import UpdateMethodMultiParam

from api.deps import (
    GatewayDep,
    IdempotencyKey,
    PartnerListing,
    ScopedReferral,
    SessionDep,
    actor_of,
)
from api.pagination import Page, PageNumber, PageSize, paginate
from api.partner_view import ClientDetail, client_details
from domain.enums import ActorKind, NeedKind
from domain.referral import DeclineReason, Outcome, ProgressNote, ReferralState, ReferralStatus
from store.projections import ReferralSummary
from store.reads import inbox as inbox_reads
from store.reads.inbox import Sender
from workflows.referral import ReferralWorkflow

router = APIRouter(prefix="/referrals", tags=["referrals"])

Arg = TypeVar("Arg")
ReferralUpdate = UpdateMethodMultiParam[[ReferralWorkflow, Arg], ReferralState]


class CentreContact(BaseModel):
    """The counselling centre that sent the client: whom the partner calls."""

    id: str
    name: str
    phone: str
    email: str
    address: str


class CounsellorContact(BaseModel):
    """The counsellor in charge of the case now."""

    name: str
    phone: str
    email: str


class ReferralItem(BaseModel):
    """One referral as its partner sees it (data minimisation: see the module docstring)."""

    id: str
    status: ReferralStatus
    # Null only while the case's own row has not reached the read model yet.
    centre: CentreContact | None = None
    counsellor: CounsellorContact | None = None
    # 1 urgent, 2 normal, 3 when possible (the routing rule's); null for older referrals.
    priority: int | None = None
    need: NeedKind
    actor: ActorKind
    measure: str
    client_first_name: str
    languages: list[str]
    # Beyond the common minimum: what the partner's kind receives for this need, in the
    # consent clause's order and words; empty for a referral from before and once withdrawn.
    client_details: list[ClientDetail]
    dispatched_at: datetime
    # When to acknowledge by, and when the referral is escalated and expires (working days of
    # the municipality's Land, fixed at dispatch; null for a referral from before).
    acknowledge_by: datetime | None = None
    escalate_at: datetime | None = None
    expires_at: datetime | None = None
    acknowledged_at: datetime | None


class ReferralAnswer(BaseModel):
    id: str
    status: ReferralStatus
    acknowledged_at: datetime | None
    closed_at: datetime | None


def _item(row: ReferralSummary, sender: Sender | None) -> ReferralItem:
    centre = counsellor = None
    if sender is not None:
        centre = CentreContact(
            id=sender.centre_id,
            name=sender.centre_name,
            phone=sender.centre_phone,
            email=sender.centre_email,
            address=sender.centre_address,
        )
        counsellor = CounsellorContact(
            name=sender.counsellor_name,
            phone=sender.counsellor_phone,
            email=sender.counsellor_email,
        )
    return ReferralItem(
        id=row.id,
        status=row.status,
        centre=centre,
        counsellor=counsellor,
        priority=row.priority,
        need=row.need_kind,
        actor=row.actor_kind,
        measure=row.measure,
        client_first_name=row.client_first_name,
        languages=list(row.languages),
        client_details=client_details(row),
        dispatched_at=row.dispatched_at,
        acknowledge_by=row.acknowledge_by,
        escalate_at=row.escalate_at,
        expires_at=row.expires_at,
        acknowledged_at=row.acknowledged_at,
    )


def _answer(state: ReferralState) -> ReferralAnswer:
    return ReferralAnswer(
        id=state.referral_id,
        status=state.status,
        acknowledged_at=state.acknowledged_at,
        closed_at=state.closed_at,
    )


@router.get("", name="referral.list")
def list_referrals(
    partner: PartnerListing,
    session: SessionDep,
    status_filter: Annotated[ReferralStatus | None, Query(alias="status")] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[ReferralItem]:
    """The agency's referrals, newest first; `status` narrows to one status."""
    found = inbox_reads.partner_referral_page(
        session, partner.partner_id or "", page, page_size, status_filter
    )
    sent_by = inbox_reads.senders(session, (row.case_id for row in found.rows))
    return paginate(found, page, page_size, lambda row: _item(row, sent_by.get(row.case_id)))


async def _send(
    gateway: GatewayDep,
    referral: ScopedReferral,
    update: ReferralUpdate[Arg],
    arg: Arg,
    key: str | None,
) -> ReferralAnswer:
    actor = actor_of(referral.actor)
    return _answer(await gateway.update_referral(referral.id, update, arg, key=key, actor=actor))


@router.post("/{referral_id}/acknowledge", name="referral.acknowledge")
async def acknowledge(
    referral: ScopedReferral, gateway: GatewayDep, key: IdempotencyKey = None
) -> ReferralAnswer:
    actor = actor_of(referral.actor)
    state = await gateway.update_referral(
        referral.id, ReferralWorkflow.acknowledge, key=key, actor=actor
    )
    return _answer(state)


@router.post("/{referral_id}/decline", name="referral.decline")
async def decline(
    body: DeclineReason, referral: ScopedReferral, gateway: GatewayDep, key: IdempotencyKey = None
) -> ReferralAnswer:
    return await _send(gateway, referral, ReferralWorkflow.decline, body, key)


@router.post("/{referral_id}/progress", name="referral.progress")
async def progress(
    body: ProgressNote, referral: ScopedReferral, gateway: GatewayDep, key: IdempotencyKey = None
) -> ReferralAnswer:
    return await _send(gateway, referral, ReferralWorkflow.report_progress, body, key)


@router.post("/{referral_id}/complete", name="referral.complete", status_code=status.HTTP_200_OK)
async def complete(
    body: Outcome, referral: ScopedReferral, gateway: GatewayDep, key: IdempotencyKey = None
) -> ReferralAnswer:
    return await _send(gateway, referral, ReferralWorkflow.complete, body, key)
