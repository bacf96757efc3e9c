"""Where a case's events go: the `CaseEventSink` protocol the read model implements, the batch
it receives, and an in-memory sink for tests.

A batch carries the events (ids and enum values only, never personal data: they go to the
audit log) and `CaseProjection`, the case's current summary with the little personal data the
read model's lists and the partner view need (`domain.consent.PARTNER_VIEW_FIELDS`). Delivery
is at least once: a sink stores each (case id, sequence) once and ignores repeats.
"""

import threading
from datetime import datetime
from typing import Protocol

from pydantic import Field

from domain.case import CaseEvent, CaseState, Stage
from domain.profile import StrictModel


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
    """The input of `emit_case_events`: events in sequence order, and the summary after them."""

    case: CaseProjection
    events: list[CaseEvent]


class CaseEventSink(Protocol):
    def append(self, batch: CaseEventBatch) -> int:
        """Store the batch idempotently by (case id, sequence) and project it; returns how many
        events were new."""
        ...


class InMemoryCaseEventSink:
    """Events by case and sequence, plus the latest summary of each case."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: dict[str, dict[int, CaseEvent]] = {}
        self.cases: dict[str, CaseProjection] = {}
        self.deliveries = 0  # batches received, repeats included

    def append(self, batch: CaseEventBatch) -> int:
        case_id = batch.case.case_id
        with self._lock:
            self.deliveries += 1
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
