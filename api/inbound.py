"""Referrals to a counselling centre, as both front doors make and decide them: a partner refers
a client to a centre of its municipality (`refer`), a counsellor of that centre accepts it,
which opens the client's case (`accept`), or declines it with a reason (`decline`). The JSON
routes (api/routes/inbound_referrals.py) and the pages (api/ui/inbound_pages.py) call these
and nothing else, so both answer alike.

- Reach: a partner refers only to centres of its own municipality. An unknown centre and one
  of another municipality get the same 422 naming `centre_id`, so no centre can be probed.
- One referral, one case. Accepting opens the case through `casework.open_case`, the path of
  `POST /cases`, with the accepting counsellor as its counsellor and the client's name, under a
  case id derived from the referral's id. A second accept, two at once, or a retry after a
  crash between starting the case and recording the acceptance all find that same case
  (Temporal refuses a second start of the id) and answer its id. store/inbound.py says how
  the writes keep a decline from landing in between.
- Final decisions: accepting a declined referral, or declining an accepted one, is a 409 in
  German. Declining a declined one again answers it as it is (a form sent twice).
- Personal data (the client's name, contact, the reason) never reaches a log line, an audit
  entry or an error message: the audit log gets ids and verbs, as for every other write.
- Who is told: a new referral goes to the centre's counsellors, the decision to the referring
  partner (`Gateway.notify`, ids only; a notice that cannot start now is logged, the write
  stands).
"""

import uuid
from datetime import UTC, datetime

from fastapi import HTTPException, status
from fastapi.concurrency import run_in_threadpool

from api import casework
from api.deps import InboundRef, Services
from api.errors import invalid
from domain.actions import CaseOpen
from domain.case import ClientName
from domain.inbound import InboundDecline, InboundReferralRequest, InboundStatus
from domain.notifications import Addressee, Notice, NoticeKind, event_key
from store import audit
from store import inbound as inbound_writes
from store.models import InboundReferral, User
from store.reads import centres as centre_reads
from store.reads import inbound as inbound_reads

# uuid5 namespaces (random, fixed for Lotse): referral ids from an Idempotency-Key, and the
# case id of an accepted referral from the referral's id.
_REFERRAL_KEYS = uuid.UUID("6b1f4a0e-3c2d-4e8f-9a71-2d5c8e0b4f13")
_REFERRAL_CASES = uuid.UUID("c4e2d7a9-5b38-4f61-8e0c-7a9d3b1f2e54")

OBJECT_TYPE = "inbound_referral"

CENTRE_CLOSED = "Diese Beratungsstelle ist deaktiviert und nimmt keine neuen Vermittlungen an."
CENTRE_OUT_OF_REACH = (
    "Keine Beratungsstelle Ihrer Kommune: Vermittlungen gehen nur an Beratungsstellen der "
    "eigenen Kommune."
)
OWN_AGENCY_MISSING = "Die eigene Partnerstelle fehlt im Verzeichnis; bitte die Verwaltung fragen."
KEY_TAKEN = (
    "Mit diesem Idempotency-Key wurde schon eine andere Vermittlung gesendet; bitte einen neuen "
    "Schlüssel verwenden."
)
ALREADY_DECLINED = "Diese Vermittlung ist abgelehnt; annehmen ist nicht mehr möglich."
ALREADY_ACCEPTED = (
    "Diese Vermittlung ist angenommen und ein Fall ist angelegt; ablehnen ist nicht mehr möglich."
)
CHANGED = "Die Vermittlung wurde inzwischen geändert; bitte die Liste neu laden."
BEING_ACCEPTED = (
    "Diese Vermittlung wird gerade angenommen; ablehnen ist nicht mehr möglich. Falls die "
    "Annahme nicht abgeschlossen wurde: bitte noch einmal „Annehmen“ wählen."
)


def referral_id_for(username: str, idempotency_key: str | None) -> str:
    """A new referral id; the same one for a retry with the same key by the same account."""
    if idempotency_key is None:
        return f"inbound-{uuid.uuid4()}"
    return f"inbound-{uuid.uuid5(_REFERRAL_KEYS, f'{username}:{idempotency_key}')}"


def case_id_of(referral_id: str) -> str:
    """The id of the case that accepting `referral_id` opens: always the same one."""
    return f"case-{uuid.uuid5(_REFERRAL_CASES, referral_id)}"


def _conflict(message: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, detail=message)


async def refer(
    services: Services, user: User, body: InboundReferralRequest, key: str | None
) -> InboundReferral:
    """Store the partner's referral to a centre of its municipality (status `open`)."""
    assert user.partner_id is not None  # a partner's scope (store CHECK constraint)
    partner_id = user.partner_id
    referral_id = referral_id_for(user.username, key)
    engine = services.engine

    def write() -> InboundReferral:
        partner = inbound_reads.referring_partner(engine, partner_id)
        if partner is None:
            raise _conflict(OWN_AGENCY_MISSING)
        centre = centre_reads.centre_facts(engine, body.centre_id)
        if centre is None or centre.municipality_id != partner.municipality_id:
            raise invalid("centre_id", CENTRE_OUT_OF_REACH)
        if not centre.opens_cases:
            # Deactivated (or its municipality): it opens no new case (store/reads/centres.py).
            raise invalid("centre_id", CENTRE_CLOSED)
        try:
            return inbound_writes.new_referral(
                engine, referral_id, partner, centre.centre_id, body, datetime.now(UTC)
            )
        except inbound_writes.IdTaken:
            raise _conflict(KEY_TAKEN) from None

    row = await run_in_threadpool(write)
    await run_in_threadpool(
        audit.record, engine, user.username, "inbound_referral.create", OBJECT_TYPE, row.id
    )
    await _tell(services, row, NoticeKind.INBOUND_REFERRAL, Addressee.centre(row.centre_id))
    return row


# The step of an inbound referral a notice is about (the sequence in its event key).
_CREATED, _DECIDED = 1, 2


async def _tell(services: Services, row: InboundReferral, kind: NoticeKind, to: Addressee) -> None:
    step = _CREATED if kind is NoticeKind.INBOUND_REFERRAL else _DECIDED
    notice = Notice(
        event_key=event_key(row.id, step, kind), kind=kind, to=to, inbound_referral_id=row.id
    )
    await services.gateway.notify(notice)


async def accept(services: Services, referral: InboundRef) -> InboundReferral:
    """Open the client's case at the counsellor's centre and link it; the referral accepted.
    The same case for every accept of the same referral (see the module docstring)."""
    engine = services.engine
    case_id = case_id_of(referral.id)
    claimed = await run_in_threadpool(inbound_writes.claim_case, engine, referral.id, case_id)
    if claimed is None:  # the scope check found it a moment ago; nothing deletes one
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Nicht gefunden.")
    if claimed.status is InboundStatus.ACCEPTED:
        return claimed
    if claimed.status is InboundStatus.DECLINED:
        raise _conflict(ALREADY_DECLINED)
    client = ClientName(given_name=claimed.given_name, family_name=claimed.family_name)
    opened = await casework.open_case(
        services, referral.actor, CaseOpen(client=client), None, case_id=case_id
    )
    counsellor = opened.counsellor_id
    if not opened.started:
        # An earlier accept started it (a colleague's at the same moment, or one that crashed
        # before recording): the acceptance names whoever the case was opened for.
        state = await services.gateway.case_state(case_id)
        counsellor = state.counsellor_id or counsellor
    accepted = await run_in_threadpool(
        inbound_writes.record_acceptance,
        engine,
        referral.id,
        case_id,
        counsellor,
        datetime.now(UTC),
    )
    # Accepted by this write or, a moment earlier, by another accept of the same case. The
    # claim keeps declines out, so anything else is a change this code does not make.
    if accepted is None or accepted.status is not InboundStatus.ACCEPTED:
        raise _conflict(CHANGED)
    to = Addressee.partner(accepted.partner_id)
    await _tell(services, accepted, NoticeKind.INBOUND_ACCEPTED, to)
    return accepted


async def decline(
    services: Services, referral: InboundRef, body: InboundDecline
) -> InboundReferral:
    """Decline the referral with a reason the referring partner reads."""
    row = await run_in_threadpool(
        inbound_writes.record_decline,
        services.engine,
        referral.id,
        referral.actor.username,
        body.reason,
        datetime.now(UTC),
    )
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Nicht gefunden.")
    if row.status is InboundStatus.DECLINED:
        await _tell(services, row, NoticeKind.INBOUND_DECLINED, Addressee.partner(row.partner_id))
        return row
    if row.status is InboundStatus.ACCEPTED:
        raise _conflict(ALREADY_ACCEPTED)
    raise _conflict(BEING_ACCEPTED)
