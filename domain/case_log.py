"""Bookkeeping every stage function shares: case-local ids, events, tasks.

These helpers mutate the `CaseState` they are given; stage functions call them only on their
own copy, so to callers the stage functions stay pure.

The `data` of each event kind (ids, enum values, ISO instants, counts; never personal data):

| kind | data |
|---|---|
| case_opened | municipality_id, centre_id, centre_kind, counsellor_id |
| intake_completed | (none) |
| routes_proposed | ruleset_version, routes, unrouted (counts), route_ids (comma-separated) |
| assessment_completed | needs (count) |
| agreement_drafted | goals, measures (counts), amendment (bool) |
| signature_requested | version, hash |
| signed | party, version |
| agreement_activated | version, next_review_due (ISO) |
| referral_dispatched | referral_id, route_id, measure_id, partner_id, actor, measure, need, |
|  | previous_referral_id (the declined/expired one it replaces, or null) |
| referral_status_changed | referral_id, partner_id, status |
| referral_progress | referral_id, partner_id |
| referral_withdrawn | referral_id, partner_id (the case closed; the child is cancelled) |
| measure_completed | measure_id, referral_id, result |
| review_due | due_at |
| review_overdue | due_at, overdue (bool: false when a review clears it) |
| review_recorded | review_id, due_at, next_review_due, agreement_helped, easier_to_keep_at_it, |
|  | new_needs (count), goals_achieved (count) |
| task_created | task_id, task_kind, role, title, due_at, referral_id |
| task_done | task_id |
| reassigned | counsellor_id |
| transferred | centre_id, centre_kind, counsellor_id |
| closed | reason |
"""

from datetime import datetime

from domain.case import (
    ActionResult,
    CaseEvent,
    CaseEventKind,
    CaseState,
    EventValue,
    Task,
    TaskKind,
    TaskRole,
)


def new_id(state: CaseState, prefix: str) -> str:
    """A case-local id (`r3`, `g4`, `t5`): one counter for all, so no id is ever reused."""
    serial = state.next_serial
    state.next_serial += 1
    return f"{prefix}{serial}"


def record(state: CaseState, kind: CaseEventKind, at: datetime, **data: EventValue) -> None:
    """Append an event with the next sequence number (sequences only ever grow)."""
    state.events.append(
        CaseEvent(sequence=state.next_sequence, at=at, kind=kind, stage=state.stage, data=data)
    )
    state.next_sequence += 1


def iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant is not None else None


def add_task(
    state: CaseState,
    kind: TaskKind,
    title: str,
    at: datetime,
    *,
    role: TaskRole = TaskRole.COUNSELLOR,
    due_at: datetime | None = None,
    referral_id: str | None = None,
) -> Task:
    task = Task(
        id=new_id(state, "t"),
        kind=kind,
        role=role,
        title=title,
        created_at=at,
        due_at=due_at or at,
        referral_id=referral_id,
    )
    state.tasks.append(task)
    record(
        state,
        CaseEventKind.TASK_CREATED,
        at,
        task_id=task.id,
        task_kind=kind.value,
        role=role.value,
        title=title,
        due_at=iso(task.due_at),
        referral_id=referral_id,
    )
    return task


def finish_tasks(
    state: CaseState,
    at: datetime,
    *,
    kinds: frozenset[TaskKind] | None = None,
    referral_id: str | None = None,
) -> None:
    """Mark open tasks done: those of `kinds` (all kinds when None), of one referral if given."""
    for task in state.tasks:
        if task.done or (kinds is not None and task.kind not in kinds):
            continue
        if referral_id is not None and task.referral_id != referral_id:
            continue
        task.done = True
        task.done_at = at
        record(state, CaseEventKind.TASK_DONE, at, task_id=task.id)


def has_open_task(state: CaseState, kind: TaskKind, referral_id: str | None = None) -> bool:
    return any(
        not task.done and task.kind is kind and task.referral_id == referral_id
        for task in state.tasks
    )


# Update ids a case remembers across continue-as-new (Temporal dedupes only within one run).
# An API client retries within minutes; 100 covers far more than that at ~100 bytes each.
KEEP_UPDATE_IDS = 100


def action_result(state: CaseState) -> ActionResult:
    return ActionResult(stage=state.stage, sequence=state.last_sequence, document=state.document)


def remember_update(state: CaseState, update_id: str, result: ActionResult) -> CaseState:
    """`state` with `update_id -> result` remembered, the oldest ids forgotten beyond the bound."""
    # A shallow copy with a new dict: every stage function copies deeply before it changes
    # anything, so sharing the rest is safe, and a second deep copy per action was measurable
    # (bench/lifecycle.py).
    recent = dict(state.recent_updates)
    recent[update_id] = result
    for stale in list(recent)[:-KEEP_UPDATE_IDS]:
        del recent[stale]
    return state.model_copy(update={"recent_updates": recent})
