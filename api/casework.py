"""What the case routes need from the directory before they call the workflow: the facts of a
new case (municipality, centre kind, Land) and the checks of a new owner (reassign, transfer).

The workflow knows cases, not accounts: whether `berater2` is a counsellor of this centre is
the directory's to say, so it is checked here, before the update, with a 422 naming the field.
"""

import uuid
from dataclasses import dataclass

from fastapi import HTTPException, status
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from api import audit
from api.deps import CaseRef, Services
from domain.actions import CaseOpen, Reassignment, Transfer
from domain.case import AgreementInput, Stage
from domain.enums import CentreKind
from store.models import Centre, Municipality, Role, User

# uuid5 namespace of case ids derived from an Idempotency-Key (random, fixed for Lotse).
_CASE_KEYS = uuid.UUID("0f1c7c55-8a3e-4d55-9a43-5b2f0e6c1a20")


@dataclass(frozen=True)
class CentreFacts:
    centre_id: str
    centre_kind: CentreKind
    municipality_id: str
    land: str


def invalid(field: str, message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail={
            "detail": f"Ungültige Eingabe – {field}: {message}",
            "errors": [{"field": field, "message": message}],
        },
    )


def centre_facts(services: Services, centre_id: str) -> CentreFacts | None:
    with Session(services.engine) as session:
        centre = session.get(Centre, centre_id)
        if centre is None:
            return None
        municipality = session.get(Municipality, centre.municipality_id)
        land = municipality.land if municipality is not None else "NW"
        return CentreFacts(centre.id, centre.kind, centre.municipality_id, land)


def case_id_for(username: str, idempotency_key: str | None) -> str:
    """A new case id; the same one for a retry with the same key by the same counsellor, so a
    retried `POST /cases` finds the case it opened instead of opening a second one."""
    if idempotency_key is None:
        return f"case-{uuid.uuid4()}"
    name = f"{username}:{idempotency_key}"  # usernames have no ":"
    return f"case-{uuid.uuid5(_CASE_KEYS, name)}"


@dataclass(frozen=True)
class OpenedCase:
    case_id: str
    centre_id: str
    counsellor_id: str
    stage: Stage


async def open_case(services: Services, user: User, body: CaseOpen, key: str | None) -> OpenedCase:
    """Start the case workflow at the caller's centre with the caller as counsellor."""
    assert user.centre_id is not None  # a counsellor's scope (store CHECK constraint)
    facts = await run_in_threadpool(centre_facts, services, user.centre_id)
    if facts is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="Die eigene Beratungsstelle fehlt im Verzeichnis; bitte die Verwaltung fragen.",
        )
    case_id = case_id_for(user.username, key)
    case_input = AgreementInput(
        case_id=case_id,
        municipality_id=facts.municipality_id,
        centre_id=facts.centre_id,
        centre_kind=facts.centre_kind,
        counsellor_id=user.username,
        land=facts.land,
        client=body.client,
    )
    await services.gateway.start_case(case_id, case_input)
    await run_in_threadpool(
        audit.record, services.engine, user.username, "case.open", "case", case_id
    )
    return OpenedCase(case_id, facts.centre_id, user.username, Stage.INTAKE)


def _counsellors_at(centre_id: str) -> SelectOfScalar[str]:
    """Who may own a case of `centre_id`: the centre's active counsellor accounts. The one rule
    behind the checks of a reassignment or transfer and the choices of the handover form."""
    return select(User.username).where(
        User.role == Role.COUNSELLOR,
        User.centre_id == centre_id,
        col(User.active).is_(True),
    )


def _counsellor_of(session: Session, username: str, centre_id: str) -> bool:
    found = session.exec(_counsellors_at(centre_id).where(User.username == username)).first()
    return found is not None


def counsellors_of(services: Services, centre_id: str) -> list[str]:
    """The usernames `check_reassignment` accepts for a case of that centre, sorted (the
    choices of a form)."""
    with Session(services.engine) as session:
        query = _counsellors_at(centre_id).order_by(col(User.username))
        return list(session.exec(query).all())


@dataclass(frozen=True)
class CentreChoice:
    id: str
    name: str
    kind: CentreKind


def centres_of(services: Services, municipality_id: str) -> list[CentreChoice]:
    """The centres of a municipality: where `complete_transfer` lets a case go."""
    with Session(services.engine) as session:
        query = (
            select(Centre)
            .where(Centre.municipality_id == municipality_id)
            .order_by(col(Centre.name), col(Centre.id))
        )
        return [CentreChoice(c.id, c.name, c.kind) for c in session.exec(query).all()]


async def check_reassignment(services: Services, case: CaseRef, change: Reassignment) -> None:
    def check() -> bool:
        with Session(services.engine) as session:
            return _counsellor_of(session, change.counsellor_id, case.centre_id)

    if not await run_in_threadpool(check):
        raise invalid(
            "counsellor_id",
            f"'{change.counsellor_id}' ist kein aktives Beratungskonto dieser Beratungsstelle.",
        )


async def complete_transfer(services: Services, case: CaseRef, change: Transfer) -> Transfer:
    """The transfer with the target centre's kind filled in from the directory; 422 when the
    centre is unknown, in another municipality, or the named counsellor is not one of it."""

    def check() -> Transfer:
        facts = centre_facts(services, change.centre_id)
        if facts is None:
            raise invalid("centre_id", f"Die Beratungsstelle '{change.centre_id}' gibt es nicht.")
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
        if change.counsellor_id is not None:
            with Session(services.engine) as session:
                if not _counsellor_of(session, change.counsellor_id, facts.centre_id):
                    raise invalid(
                        "counsellor_id",
                        f"'{change.counsellor_id}' ist kein aktives Beratungskonto von "
                        f"'{facts.centre_id}'.",
                    )
        return change.model_copy(update={"centre_kind": facts.centre_kind})

    return await run_in_threadpool(check)
