"""Erasing a closed case (GDPR Art. 17), for both front doors (`POST /admin/cases/{id}/erase`
and the confirm page `/datenschutz/faelle/{id}/loeschen`).

The steps, in this order, each safe to repeat, so an erasure cut off half-way is finished by
asking again:

1. the case's data key is destroyed (`Services.keys`, app/payload_codec.py; crypto-shredding):
   its history and its referrals' histories can no longer be decoded anywhere (a process
   that holds the unwrapped key in its cache forgets it within the cache's minute);
2. the case's workflow and its referrals' workflows still running are terminated (a closed
   case's referrals have ended, but a case closed by an older code may leave one);
3. the store drops the client's data and registers the erasure with its audit entry, in one
   transaction (store/erasure.py).

Only a closed case is erased (409 otherwise): an open case is someone's work. Erasing an
erased case answers the first erasure again (200, the same body): idempotent, as a retried
request must be. Every later read of the case answers 410 (api/deps.py).
"""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import HTTPException, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from api.deps import ErasableCase, Services
from api.gateway import Gateway
from app.payload_codec import KeyStore
from domain.case import Stage
from domain.fields import MultiLine
from domain.profile import StrictModel
from store.erasure import REASON_LENGTH, CaseErasure, erase_and_audit
from store.reads import erasure as erasure_reads

NOT_CLOSED = (
    "Nur ein abgeschlossener Fall kann gelöscht werden. Bitte den Fall zuerst abschließen; "
    "ist er eben abgeschlossen worden, in einigen Sekunden erneut versuchen."
)
# Enters the workflows' histories: our words, no personal data.
TERMINATION_REASON = "Fall gelöscht (Art. 17 DSGVO)"


class ErasureRequest(StrictModel):
    """Why the case is erased: the officer's words, kept in the register of erasures."""

    reason: Annotated[MultiLine, Field(min_length=1, max_length=REASON_LENGTH)]


class ErasureOut(BaseModel):
    case_id: str
    erased_at: datetime
    erased_by: str
    reason: str


def erasure_out(erasure: CaseErasure) -> ErasureOut:
    return ErasureOut.model_validate(erasure, from_attributes=True)


async def erase_case(services: Services, case: ErasableCase, reason: str) -> CaseErasure:
    """Erase `case` (see module docstring); 409 when it is not closed."""
    earlier = await run_in_threadpool(erasure_reads.erasure_of, services.engine, case.id)
    if earlier is not None:
        return earlier
    if case.owner.stage != Stage.CLOSED.value:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=NOT_CLOSED)
    return await erase_closed(
        services.engine,
        services.keys,
        services.gateway,
        case.id,
        case.owner.municipality_id,
        case.actor.username,
        reason,
    )


async def erase_closed(
    engine: Engine,
    keys: KeyStore,
    gateway: Gateway,
    case_id: str,
    municipality_id: str,
    by: str,
    reason: str,
) -> CaseErasure:
    """The three steps of the module docstring for a case known to be closed: the route's
    erasure and the retention's (worker/retention.py, `by` the system) are this one code."""
    await run_in_threadpool(keys.destroy, case_id)
    referrals = await run_in_threadpool(erasure_reads.referral_ids, engine, case_id)
    for workflow_id in (case_id, *referrals):
        await gateway.terminate(workflow_id, TERMINATION_REASON)
    return await run_in_threadpool(
        erase_and_audit, engine, case_id, municipality_id, by, reason, datetime.now(UTC)
    )
