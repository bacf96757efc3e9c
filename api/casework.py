"""What the case routes need from the directory before they call the workflow: the facts of a
new case (municipality, centre kind, Land) and the checks of a new owner (reassign, transfer).

The workflow knows cases, not accounts: whether `berater2` is a counsellor of this centre is
the directory's to say (`store.reads.centres`, which also gives the handover form its choices),
so it is checked here, before the update, with a 422 naming the field. Both front doors call
these checks.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from fastapi import HTTPException, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from api.deps import CaseRef, Services
from api.errors import invalid
from api.gateway import Gateway
from domain.actions import CaseOpen, Reassignment, Transfer
from domain.case import AgreementInput, Stage
from domain.clocks import Clocks
from domain.months import german_day
from store import audit, case_numbers
from store.models import User
from store.reads import centres as centre_reads

# uuid5 namespace of case ids derived from an Idempotency-Key (random, fixed for Lotse).
_CASE_KEYS = uuid.UUID("0f1c7c55-8a3e-4d55-9a43-5b2f0e6c1a20")


def case_id_for(username: str, idempotency_key: str | None) -> str:
    """A new case id; the same one for a retry with the same key by the same counsellor, so a
    retried `POST /cases` finds the case it opened instead of opening a second one."""
    if idempotency_key is None:
        return f"case-{uuid.uuid4()}"
    name = f"{username}:{idempotency_key}"  # usernames have no ":"
    return f"case-{uuid.uuid5(_CASE_KEYS, name)}"


# Why a centre opens no new case (by whether the centre itself is active).
CLOSED_TO_NEW_CASES = {
    False: "Die Beratungsstelle ist deaktiviert: Es können keine neuen Fälle angelegt werden. "
    "Laufende Fälle gehen weiter; bitte die Verwaltung fragen.",
    True: "Die Kommune der Beratungsstelle ist deaktiviert: Es können keine neuen Fälle "
    "angelegt werden. Laufende Fälle gehen weiter; bitte die Verwaltung fragen.",
}


@dataclass(frozen=True)
class OpenedCase:
    case_id: str
    centre_id: str
    counsellor_id: str
    stage: Stage
    # False when the case existed already (a retry): then it may have another counsellor.
    started: bool
    number: str  # "MUS-2026-0147" (domain/case_number.py)


class CaseOpening(Protocol):
    """What opening a case works with: the API's `Services`, or the demo cases of `lotse up`
    (worker/demo.py), which open theirs through this same function."""

    @property
    def engine(self) -> Engine: ...

    @property
    def gateway(self) -> Gateway: ...


async def open_case(
    services: CaseOpening,
    user: User,
    body: CaseOpen,
    key: str | None,
    *,
    case_id: str | None = None,
    clocks: Clocks | None = None,
) -> OpenedCase:
    """Start the case workflow at the caller's centre with the caller as counsellor. The case
    id comes from `key` (`case_id_for`), or is given: an accepted inbound referral names its
    case after itself (api/inbound.py), so every accept of it finds the same case. `clocks`:
    only the demo cases of `lotse up` pass shortened ones (worker/demo_cases.py); no route
    does, so every case opened over the API runs on the real durations."""
    assert user.centre_id is not None  # a counsellor's scope (store CHECK constraint)
    facts = await run_in_threadpool(centre_reads.centre_facts, services.engine, user.centre_id)
    if facts is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="Die eigene Beratungsstelle fehlt im Verzeichnis; bitte die Verwaltung fragen.",
        )
    if not facts.opens_cases:
        # Deactivated by an administrator: its running cases carry on, no new one opens.
        raise HTTPException(status.HTTP_409_CONFLICT, detail=CLOSED_TO_NEW_CASES[facts.active])
    case_id = case_id or case_id_for(user.username, key)
    # Taken before the start, so the number is in the workflow's input and state; a retry
    # (same case id) gets the same number again (store/case_numbers.py).
    number = await run_in_threadpool(
        case_numbers.assign_now,
        services.engine,
        case_id,
        facts.municipality_id,
        german_day(datetime.now(UTC)),
    )
    case_input = AgreementInput(
        case_id=case_id,
        municipality_id=facts.municipality_id,
        centre_id=facts.centre_id,
        centre_kind=facts.centre_kind,
        counsellor_id=user.username,
        land=facts.land,
        client=body.client,
        number=number,
    )
    if clocks is not None:
        case_input = case_input.model_copy(update={"clocks": clocks})
    started = await services.gateway.start_case(case_id, case_input)
    await run_in_threadpool(
        audit.record, services.engine, user.username, "case.open", "case", case_id
    )
    return OpenedCase(case_id, facts.centre_id, user.username, Stage.INTAKE, started, number)


async def check_reassignment(services: Services, case: CaseRef, change: Reassignment) -> None:
    allowed = await run_in_threadpool(
        centre_reads.is_counsellor_of, services.engine, change.counsellor_id, case.centre_id
    )
    if not allowed:
        raise invalid(
            "counsellor_id",
            f"'{change.counsellor_id}' ist kein aktives Beratungskonto dieser Beratungsstelle.",
        )


async def complete_transfer(services: Services, case: CaseRef, change: Transfer) -> Transfer:
    """The transfer with the target centre's kind filled in from the directory; 422 when the
    centre is unknown, in another municipality, or the named counsellor is not one of it."""

    def check() -> Transfer:
        facts = centre_reads.centre_facts(services.engine, change.centre_id)
        if facts is None:
            raise invalid("centre_id", f"Die Beratungsstelle '{change.centre_id}' gibt es nicht.")
        if not facts.active:
            raise invalid("centre_id", f"Die Beratungsstelle '{facts.centre_id}' ist deaktiviert.")
        if facts.municipality_id != case.municipality_id:
            raise invalid(
                "centre_id",
                "Abgabe nur an eine Beratungsstelle derselben Kommune; bei einem Umzug den Fall "
                "mit Grund 'moved_away' abschließen.",
            )
        if change.centre_kind is not None and change.centre_kind is not facts.centre_kind:
            raise invalid(
                "centre_kind",
                f"Die Beratungsstelle '{facts.centre_id}' ist vom Typ {facts.centre_kind.value}.",
            )
        if change.counsellor_id is not None and not centre_reads.is_counsellor_of(
            services.engine, change.counsellor_id, facts.centre_id
        ):
            raise invalid(
                "counsellor_id",
                f"'{change.counsellor_id}' ist kein aktives Beratungskonto von "
                f"'{facts.centre_id}'.",
            )
        return change.model_copy(update={"centre_kind": facts.centre_kind})

    return await run_in_threadpool(check)
