"""What a case carries from run to run: the state, cut down to what the workflow needs once
the read model has the rest.

A case lives for years and continues as new after every review, carrying its whole state as
the next run's input. Temporal refuses an input over 2 MB, and a refused continue-as-new ends
the case. So the state must not grow with the case's age, only with the size of its current
agreement (whose parts the payload models cap). After each batch the read model confirmed,
`compact` drops:

- the events it has (the read model keeps them: `case_events`, `GET /cases/{id}/history`);
- the reviews whose events it has (it keeps each review's answers and goal progress; the
  goals themselves carry their latest status and note, which is all the workflow reads);
- the referral steps whose events it has (it keeps them: `referral_steps`);
- done tasks beyond the last `KEEP_DONE_TASKS` (its task rows keep them);
- document versions beyond the last `KEEP_DOCUMENTS`, with their signatures, and the text of
  every version (the read model archives each version's text when it is rendered; a state
  written before that still carries texts, which the projection archives first).

Update ids are bounded where they are remembered (domain/case_log.py). Pure: a new state, the
input unchanged.
"""

from collections.abc import Iterable

from domain.case import CaseEvent, CaseEventKind, CaseState
from domain.events import ReviewRecorded

KEEP_DONE_TASKS = 10
KEEP_DOCUMENTS = 5


def compact(state: CaseState) -> CaseState:
    """`state` without what the read model has up to `state.emitted_through` (see module)."""
    pending = [e for e in state.events if e.sequence > state.emitted_through]
    pending_reviews = reviews_recorded_by(pending)
    reviews = [review for review in state.reviews if review.id in pending_reviews]
    steps = [step for step in state.referral_steps if step.sequence > state.emitted_through]
    done = [task for task in state.tasks if task.done]
    kept_done = {task.id for task in done[-KEEP_DONE_TASKS:]}
    tasks = [task for task in state.tasks if not task.done or task.id in kept_done]
    documents = [
        document.model_copy(update={"text": ""}) for document in state.documents[-KEEP_DOCUMENTS:]
    ]
    versions = {document.version for document in documents}
    signatures = [s for s in state.signatures if s.version in versions]
    if (
        len(pending) == len(state.events)
        and len(reviews) == len(state.reviews)
        and len(steps) == len(state.referral_steps)
        and len(tasks) == len(state.tasks)
        and len(documents) == len(state.documents)
        and not any(document.text for document in state.documents)
    ):
        return state
    return state.model_copy(
        update={
            "events": pending,
            "reviews": reviews,
            "referral_steps": steps,
            "tasks": tasks,
            "documents": documents,
            "signatures": signatures,
        }
    )


def reviews_recorded_by(events: Iterable[CaseEvent]) -> set[str]:
    """The ids of the reviews that these events record."""
    return {
        ReviewRecorded.model_validate(event.data).review_id
        for event in events
        if event.kind is CaseEventKind.REVIEW_RECORDED
    }


def after_projection(state: CaseState, last: int) -> CaseState:
    """`state` once the read model has every event up to `last`, compacted."""
    if last <= state.emitted_through:
        return state
    return compact(state.model_copy(update={"emitted_through": last}))


def next_document_version(state: CaseState) -> int:
    """The number of the next rendered version (older versions may have been compacted away)."""
    return state.documents[-1].version + 1 if state.documents else 1
