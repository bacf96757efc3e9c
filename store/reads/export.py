"""What the store holds about one case, for the client's copy (GDPR Art. 15; api/export.py):
the archived documents with their signatures, each referral with the partner's notes and its
timeline, the reviews, the tasks, the archived history, the notifications about the case and
who accessed it (the audit log). The workflow's own state is asked of Temporal beside this.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from domain.case import CaseEventKind
from domain.events import Signed
from store.notifications import NotificationRecord
from store.projections import (
    AgreementDocumentRecord,
    AuditEvent,
    CaseEventRecord,
    CaseSummary,
    ReferralNoteRecord,
    ReferralStepRecord,
    ReferralSummary,
    ReviewRecord,
    TaskRecord,
)
from store.reads.admin import case_accesses


@dataclass(frozen=True)
class ArchivedVersion:
    version: int
    hash: str
    rendered_at: datetime
    text: str
    signed: dict[str, datetime]  # party -> when


@dataclass(frozen=True)
class CaseRecord:
    summary: CaseSummary | None
    documents: list[ArchivedVersion]
    referrals: list[ReferralSummary]
    notes: list[ReferralNoteRecord]
    steps: list[ReferralStepRecord]
    reviews: list[ReviewRecord]
    tasks: list[TaskRecord]
    events: list[CaseEventRecord]
    notifications: list[NotificationRecord]
    accesses: list[AuditEvent]


def _signatures(events: list[CaseEventRecord]) -> dict[int, dict[str, datetime]]:
    """When each party signed each version, from the archived `signed` events."""
    signed: dict[int, dict[str, datetime]] = {}
    for event in events:
        if event.kind == CaseEventKind.SIGNED:
            payload = Signed.model_validate(event.data)
            signed.setdefault(payload.version, {})[payload.party.value] = event.at
    return signed


def _rows(session: Session, table: Any, case_id: str, *order: Any) -> list[Any]:
    query = select(table).where(table.case_id == case_id).order_by(*(col(o) for o in order))
    return list(session.exec(query).all())


def case_record(engine: Engine, case_id: str) -> CaseRecord:
    """Everything the store keeps of the case, each list oldest first."""
    with Session(engine) as session:
        events = _rows(session, CaseEventRecord, case_id, CaseEventRecord.seq)
        signed = _signatures(events)
        documents = [
            ArchivedVersion(
                row.version, row.hash, row.rendered_at, row.text, signed.get(row.version, {})
            )
            for row in _rows(
                session,
                AgreementDocumentRecord,
                case_id,
                AgreementDocumentRecord.rendered_at,
                AgreementDocumentRecord.version,
            )
        ]
        return CaseRecord(
            summary=session.get(CaseSummary, case_id),
            documents=documents,
            referrals=_rows(
                session, ReferralSummary, case_id, ReferralSummary.dispatched_at, ReferralSummary.id
            ),
            notes=_rows(
                session,
                ReferralNoteRecord,
                case_id,
                ReferralNoteRecord.referral_id,
                ReferralNoteRecord.number,
            ),
            steps=_rows(session, ReferralStepRecord, case_id, ReferralStepRecord.seq),
            reviews=_rows(session, ReviewRecord, case_id, ReviewRecord.seq),
            tasks=_rows(session, TaskRecord, case_id, TaskRecord.created_at, TaskRecord.id),
            events=events,
            notifications=_rows(
                session,
                NotificationRecord,
                case_id,
                NotificationRecord.created_at,
                NotificationRecord.id,
            ),
            accesses=case_accesses(session, case_id),
        )
