"""The writes of inbound referrals (`store.models.InboundReferral`): a partner's new referral,
and a counsellor's decision on it. The API is their only caller (api/inbound.py), through the
JSON routes and the pages alike, and the demo data (store/seed.py).

Every change of status is one conditional UPDATE (`... WHERE status = 'open'`), so two
counsellors deciding at once cannot both win, on SQLite and PostgreSQL alike; each function
answers with the row as it is afterwards, and the caller reads from it who won.

Accepting takes two writes around starting the case: `claim_case` names the case (its id is
derived from the referral's) while the referral stays open, then `record_acceptance` marks it
accepted. A decline needs an unclaimed referral, so no decline can land between a case's start
and its acceptance, and a retry after a crash in between finds the claim, starts the same case
(which then exists already) and completes the acceptance.
"""

from datetime import datetime

from sqlalchemy import Engine, Update, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from domain.inbound import InboundReferralRequest, InboundStatus
from store.evaluation_cells import mark_stale
from store.models import InboundReferral, PartnerAgency


class IdTaken(Exception):
    """The id names a referral of another partner (never for a retried request of the same)."""


def new_referral(
    engine: Engine,
    referral_id: str,
    partner: PartnerAgency,
    centre_id: str,
    request: InboundReferralRequest,
    at: datetime,
) -> InboundReferral:
    """Store an open referral from `partner` to `centre_id` (the caller has checked that the
    centre is of the partner's municipality). A referral of the same partner under the same id
    (a retried request) is answered as it is, not written twice."""
    row = InboundReferral(
        id=referral_id,
        partner_id=partner.id,
        partner_kind=partner.kind,
        centre_id=centre_id,
        municipality_id=partner.municipality_id,
        status=InboundStatus.OPEN,
        created_at=at,
        given_name=request.client.given_name,
        family_name=request.client.family_name,
        phone=request.contact.phone or None,
        email=request.contact.email or None,
        reason=request.reason,
    )
    with Session(engine, expire_on_commit=False) as session:
        existing = session.get(InboundReferral, referral_id)
        if existing is None:
            session.add(row)
            try:
                mark_stale(session, row.municipality_id, [row.created_at])
                session.commit()
                return row
            except IntegrityError:
                # The same retry, a moment earlier, in another request.
                session.rollback()
                existing = session.get(InboundReferral, referral_id)
        if existing is None or existing.partner_id != partner.id:
            raise IdTaken(referral_id)
        return existing


def _changed(engine: Engine, referral_id: str, statement: Update) -> InboundReferral | None:
    """Run one conditional UPDATE and answer with the row as it is afterwards."""
    with Session(engine, expire_on_commit=False) as session:
        session.connection().execute(statement)
        row = session.get(InboundReferral, referral_id)
        if row is not None:  # it counts in the month it came (the evaluation's cells)
            mark_stale(session, row.municipality_id, [row.created_at])
        session.commit()
        return row


def claim_case(engine: Engine, referral_id: str, case_id: str) -> InboundReferral | None:
    """Name the case an open referral is about to open (the same id on every retry)."""
    return _changed(
        engine,
        referral_id,
        update(InboundReferral)
        .where(
            col(InboundReferral.id) == referral_id,
            col(InboundReferral.status) == InboundStatus.OPEN,
        )
        .values(case_id=case_id),
    )


def record_acceptance(
    engine: Engine, referral_id: str, case_id: str, counsellor: str, at: datetime
) -> InboundReferral | None:
    """Mark the referral accepted with its case, when it is still open and claims that case."""
    return _changed(
        engine,
        referral_id,
        update(InboundReferral)
        .where(
            col(InboundReferral.id) == referral_id,
            col(InboundReferral.status) == InboundStatus.OPEN,
            col(InboundReferral.case_id) == case_id,
        )
        .values(status=InboundStatus.ACCEPTED, decided_at=at, decided_by=counsellor),
    )


def record_decline(
    engine: Engine, referral_id: str, counsellor: str, reason: str, at: datetime
) -> InboundReferral | None:
    """Mark the referral declined, when it is open and no acceptance has claimed a case."""
    return _changed(
        engine,
        referral_id,
        update(InboundReferral)
        .where(
            col(InboundReferral.id) == referral_id,
            col(InboundReferral.status) == InboundStatus.OPEN,
            col(InboundReferral.case_id).is_(None),
        )
        .values(
            status=InboundStatus.DECLINED,
            decided_at=at,
            decided_by=counsellor,
            decline_reason=reason,
        ),
    )
