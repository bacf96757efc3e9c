"""The case archive in the read model: what a case no longer carries in its workflow state, and
what must outlive the workflow (Temporal drops a closed case's history after the namespace's
retention).

- Agreement documents: every rendered version, written once at rendering and never changed.
- Referral notes: a partner's progress notes, numbered per referral.
- Referral steps: each step of a referral as its case heard it, with the partner's words (the
  counsellor's timeline), merged with those the case has not projected yet.
- Case history: the case's events (their data as domain/events.py's models dump it), merged
  with those the case has not projected yet.
- Projection failures: a batch the projector can never apply becomes an administrator's task
  (ids and the error's type only), so nobody has to read worker logs to learn of it.

Writes are idempotent (insert if absent), because activities deliver at least once.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from domain.case import CaseEvent, CaseEventKind, ReferralStep, Stage
from domain.events import EventData, Signed
from domain.projection import ArchivedDocument, ProjectionFailure, ReferralNote
from store.models import Role
from store.projections import (
    AgreementDocumentRecord,
    CaseEventRecord,
    ReferralNoteRecord,
    ReferralStepRecord,
    TaskRecord,
)
from store.upsert import upsert

PROJECTION_FAILED = "projection_failed"  # the kind of the administrators' task


def archive_document(session: Session, document: ArchivedDocument) -> None:
    key = (document.case_id, document.version, document.hash)
    if session.get(AgreementDocumentRecord, key) is None:
        session.add(
            AgreementDocumentRecord(
                case_id=document.case_id,
                version=document.version,
                hash=document.hash,
                text=document.text,
                rendered_at=document.rendered_at,
            )
        )


def add_referral_note(session: Session, note: ReferralNote) -> None:
    if session.get(ReferralNoteRecord, (note.referral_id, note.number)) is None:
        session.add(
            ReferralNoteRecord(
                referral_id=note.referral_id,
                number=note.number,
                case_id=note.case_id,
                partner_id=note.partner_id,
                at=note.at,
                note=note.note,
            )
        )


def add_referral_steps(session: Session, steps: Sequence[tuple[str, ReferralStep]]) -> None:
    """Keep the steps, each with its case's id (a step stored before overwrites itself), in
    one statement."""
    upsert(
        session,
        ReferralStepRecord,
        [
            {
                "case_id": case_id,
                "seq": step.sequence,
                "referral_id": step.referral_id,
                "at": step.at,
                "status": step.status,
                "note": step.note,
                "by": step.by,
            }
            for case_id, step in steps
        ],
    )


def referral_steps(
    engine: Engine, case_id: str, pending: Sequence[ReferralStep]
) -> dict[str, list[ReferralStep]]:
    """Each referral's steps, oldest first: the archived ones and the `pending` ones the case
    still carries (they overlap while a batch is in flight; the case's copy wins)."""
    with Session(engine) as session:
        rows = session.exec(
            select(ReferralStepRecord)
            .where(ReferralStepRecord.case_id == case_id)
            .order_by(col(ReferralStepRecord.seq))
        ).all()
    steps = {
        row.seq: ReferralStep(
            sequence=row.seq,
            referral_id=row.referral_id,
            at=row.at,
            status=row.status,
            note=row.note,
            by=row.by,
        )
        for row in rows
    }
    steps.update((step.sequence, step) for step in pending)
    by_referral: dict[str, list[ReferralStep]] = {}
    for sequence in sorted(steps):
        step = steps[sequence]
        by_referral.setdefault(step.referral_id, []).append(step)
    return by_referral


def add_projection_failure(session: Session, failure: ProjectionFailure) -> None:
    task_id = f"{failure.case_id}-p{failure.first_sequence}"
    if session.get(TaskRecord, task_id) is None:
        session.add(
            TaskRecord(
                id=task_id,
                case_id=failure.case_id,
                kind=PROJECTION_FAILED,
                assignee_role=Role.ADMIN,
                assignee_id="",
                title=(
                    f"Lesesicht: Ereignisse {failure.first_sequence}–{failure.last_sequence} "
                    f"des Falls wurden nicht übernommen ({failure.error}). Der Fall läuft "
                    "weiter; Listen und Berichte fehlen diese Ereignisse."
                )[:300],
                due_at=failure.at,
                created_at=failure.at,
            )
        )


def add_events(session: Session, events: Sequence[tuple[str, CaseEvent, EventData]]) -> None:
    """Keep each event with its case's id and its data as read by its kind's model: what the
    event carried, less keys the model drops from old events (domain/events.py). One statement
    for all; an event stored before overwrites itself."""
    upsert(
        session,
        CaseEventRecord,
        [
            {
                "case_id": case_id,
                "seq": event.sequence,
                "at": event.at,
                "kind": event.kind.value,
                "stage": event.stage.value,
                "data": payload.to_data(),
            }
            for case_id, event, payload in events
        ],
    )


def load_document(engine: Engine, case_id: str, version: int, hash: str) -> str | None:
    """The archived text of one version (None for a version archived before the archive
    existed: the case's state still carries that text until its projection archives it)."""
    with Session(engine) as session:
        row = session.get(AgreementDocumentRecord, (case_id, version, hash))
        return row.text if row is not None else None


def case_history(engine: Engine, case_id: str, pending: Sequence[CaseEvent]) -> list[CaseEvent]:
    """Every event of the case in order: the archived ones and the `pending` ones the case
    still carries (the two overlap while a batch is in flight; the case's copy wins)."""
    with Session(engine) as session:
        rows = session.exec(
            select(CaseEventRecord)
            .where(CaseEventRecord.case_id == case_id)
            .order_by(col(CaseEventRecord.seq))
        ).all()
    events = {
        row.seq: CaseEvent(
            sequence=row.seq,
            at=row.at,
            kind=CaseEventKind(row.kind),
            stage=Stage(row.stage),
            data=row.data,
        )
        for row in rows
    }
    events.update((event.sequence, event) for event in pending)
    return [events[sequence] for sequence in sorted(events)]


def signed_at(engine: Engine, case_id: str, version: int) -> dict[str, datetime]:
    """When each party signed `version`, from the history (for versions the case no longer
    carries)."""
    with Session(engine) as session:
        rows = session.exec(
            select(CaseEventRecord).where(
                CaseEventRecord.case_id == case_id, CaseEventRecord.kind == CaseEventKind.SIGNED
            )
        ).all()
    # Every stored event fitted its model when it was projected (store/projector.py).
    signatures = [(Signed.model_validate(row.data), row.at) for row in rows]
    return {signed.party.value: at for signed, at in signatures if signed.version == version}


def referral_notes(
    engine: Engine, referral_id: str, *, limit: int = 50
) -> list[ReferralNoteRecord]:
    """A referral's newest progress notes, oldest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(ReferralNoteRecord)
            .where(ReferralNoteRecord.referral_id == referral_id)
            .order_by(col(ReferralNoteRecord.number).desc())
            .limit(limit)
        ).all()
    return list(reversed(rows))
