"""Where a case's events go: the `CaseEventSink` protocol the read model implements, the batch
it receives, and an in-memory sink for tests.

A batch carries the events (ids and enum values only, never personal data: they go to the
case history) and `CaseProjection`, the case's current summary with the little personal data
the read model's lists and the partner view need (`domain.consent.PARTNER_VIEW_FIELDS`), plus
what the case stops carrying once the read model has it (domain/compaction.py): the reviews the
batch's events record, and document texts a state from before the archive still holds.
Delivery is at least once: a sink stores each (case id, sequence) once and ignores repeats.

Besides batches, the sink archives what must outlive the workflow the moment it exists: each
rendered agreement version and each partner's progress note. And it records a batch it can
never apply (`ProjectionRejected`: bad data or a bug, not an outage), so an administrator
sees it (a task) instead of the case waiting on it for ever.
"""

import threading
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from domain.case import CaseEvent, CaseState, DocumentVersion, ReviewRecord, Stage
from domain.profile import StrictModel


class ProjectionRejected(Exception):
    """The batch can never be applied as it is (bad data or a bug, not an outage): retrying it
    would only wait for ever. The message names the error's type, never the data."""


class CaseProjection(StrictModel):
    """The case summary as of the batch's last event."""

    case_id: str
    municipality_id: str
    centre_id: str
    counsellor_id: str | None
    stage: Stage
    opened_at: datetime
    next_review_due: datetime | None
    review_overdue: bool
    open_task_count: int
    client_given_name: str = ""
    client_family_name: str = ""
    client_languages: list[str] = Field(default_factory=list)  # ISO 639-1

    @classmethod
    def of(cls, state: CaseState) -> "CaseProjection":
        client = state.client
        return cls(
            case_id=state.id,
            municipality_id=state.municipality_id,
            centre_id=state.centre_id,
            counsellor_id=state.counsellor_id,
            stage=state.stage,
            opened_at=state.opened_at,
            next_review_due=state.next_review_due,
            review_overdue=state.review_overdue,
            open_task_count=len(state.open_tasks()),
            client_given_name=client.given_name if client else "",
            client_family_name=client.family_name if client else "",
            client_languages=list(state.profile.languages) if state.profile else [],
        )


class CaseEventBatch(StrictModel):
    """The input of `emit_case_events`: events in sequence order, the summary after them, the
    reviews those events record, and texts of document versions not archived yet."""

    case: CaseProjection
    events: list[CaseEvent]
    reviews: list[ReviewRecord] = Field(default_factory=list)
    documents: list[DocumentVersion] = Field(default_factory=list)


class ArchivedDocument(BaseModel):
    """A rendered agreement version (`render_agreement` archives it before it answers). Not a
    `StrictModel`: that strips whitespace, and the text must stay exactly what its hash says."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    version: int
    hash: str
    text: str
    rendered_at: datetime


class ReferralNote(StrictModel):
    """A partner's progress note, numbered per referral (the input of `record_referral_note`)."""

    referral_id: str
    case_id: str
    partner_id: str
    number: int
    at: datetime
    note: str


class ProjectionFailure(StrictModel):
    """Events of a case that could not be projected (ids and the error's type only)."""

    case_id: str
    first_sequence: int
    last_sequence: int
    error: str
    at: datetime


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
    documents, notes and reviews. `failing` makes every append raise, as an unreachable
    database does (a test turns it on and off)."""

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
