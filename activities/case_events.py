"""Where a case's events go: the `CaseEventSink` protocol the read model implements
(store/projector.py), and an in-memory sink for tests.

What a sink receives and answers is the projection contract in domain/projection.py (the
batch, the case summary, archived documents, referral notes, `ProjectionRejected`), and the
data of each event kind is domain/events.py; this module re-exports the contract's names for
the activities and the workflows that hand batches on. Delivery is at least once: a sink
stores each (case id, sequence) once and ignores repeats. Besides batches, a sink archives
what must outlive the workflow the moment it exists: each rendered agreement version and each
partner's progress note. And it records a batch it can never apply (`ProjectionRejected`: bad
data or a bug, not an outage), so an administrator sees it (a task) instead of the case
waiting on it for ever.
"""

import threading
from typing import Protocol

from pydantic import ValidationError

from domain.case import CaseEvent, ReviewRecord
from domain.events import event_payload
from domain.projection import (
    ArchivedDocument,
    CaseEventBatch,
    CaseProjection,
    ProjectionFailure,
    ProjectionRejected,
    ReferralNote,
)

__all__ = [
    "ArchivedDocument",
    "CaseEventBatch",
    "CaseEventSink",
    "CaseProjection",
    "InMemoryCaseEventSink",
    "ProjectionFailure",
    "ProjectionRejected",
    "ReferralNote",
]


class CaseEventSink(Protocol):
    def append(self, batch: CaseEventBatch) -> int:
        """Store the batch idempotently by (case id, sequence) and project it; returns how many
        events were new. Raises `ProjectionRejected` for a batch it can never apply."""
        ...

    def archive_document(self, document: ArchivedDocument) -> None:
        """Keep a rendered version for good (a repeat of the same version and hash is a no-op)."""
        ...

    def append_referral_note(self, note: ReferralNote) -> None:
        """Keep a progress note (a repeat of the same referral and number is a no-op)."""
        ...

    def record_projection_failure(self, failure: ProjectionFailure) -> None:
        """Make a rejected batch visible to administrators (idempotent per case and range)."""
        ...


class InMemoryCaseEventSink:
    """Events by case and sequence, plus the latest summary of each case, the archived
    documents, notes and reviews. Like the read model it refuses a batch whose event data does
    not fit its kind's model (domain/events.py), so every workflow test checks the events its
    case records. `failing` makes every append raise, as an unreachable database does (a test
    turns it on and off)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: dict[str, dict[int, CaseEvent]] = {}
        self.cases: dict[str, CaseProjection] = {}
        self.reviews: dict[tuple[str, str], ReviewRecord] = {}
        self.documents: dict[tuple[str, int, str], str] = {}
        self.notes: dict[tuple[str, int], ReferralNote] = {}
        self.failures: list[ProjectionFailure] = []
        self.deliveries = 0  # batches received, repeats included
        self.failing = False

    def archive_document(self, document: ArchivedDocument) -> None:
        with self._lock:
            key = (document.case_id, document.version, document.hash)
            self.documents.setdefault(key, document.text)

    def append_referral_note(self, note: ReferralNote) -> None:
        with self._lock:
            self.notes.setdefault((note.referral_id, note.number), note)

    def record_projection_failure(self, failure: ProjectionFailure) -> None:
        with self._lock:
            self.failures.append(failure)

    def append(self, batch: CaseEventBatch) -> int:
        case_id = batch.case.case_id
        with self._lock:
            self.deliveries += 1
            if self.failing:
                raise ConnectionError("read model unreachable (test)")
            try:
                for event in batch.events:
                    event_payload(event)
            except ValidationError as error:
                raise ProjectionRejected(type(error).__name__) from None
            for review in batch.reviews:
                self.reviews[(case_id, review.id)] = review
            for document in batch.documents:
                key = (case_id, document.version, document.hash)
                self.documents.setdefault(key, document.text)
            stored = self.events.setdefault(case_id, {})
            newest = max(stored, default=0)
            new = [e for e in batch.events if e.sequence not in stored]
            for event in new:
                stored[event.sequence] = event
            # A late redelivery of an older batch must not roll the summary back.
            if max((e.sequence for e in batch.events), default=0) >= newest:
                self.cases[case_id] = batch.case
            return len(new)

    def history(self, case_id: str) -> list[CaseEvent]:
        with self._lock:
            return [event for _, event in sorted(self.events.get(case_id, {}).items())]
