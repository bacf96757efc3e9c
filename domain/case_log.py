"""Bookkeeping every stage function shares: case-local ids, events, tasks.

These helpers mutate the `CaseState` they are given; stage functions call them only on their
own copy, so to callers the stage functions stay pure.

An event is recorded as its kind's model (domain/events.py: one model per `CaseEventKind`,
with its keys, their types and what they mean; ids, enum values, ISO instants, counts and
booleans, never personal data), so a misspelt or missing key fails where it is written.
"""

from datetime import datetime

from domain.case import (
    ActionResult,
    CaseEvent,
    CaseState,
    Task,
    TaskKind,
    TaskRole,
)
from domain.events import EventData, TaskCreated, TaskDone


def new_id(state: CaseState, prefix: str) -> str:
    """A case-local id (`r3`, `g4`, `t5`): one counter for all, so no id is ever reused."""
    serial = state.next_serial
    state.next_serial += 1
    return f"{prefix}{serial}"


def record(state: CaseState, payload: EventData, at: datetime) -> None:
    """Append an event of the payload's kind with the next sequence number (sequences only
    ever grow); the event carries the payload as the plain JSON object it dumps to."""
    state.events.append(
        CaseEvent(
            sequence=state.next_sequence,
            at=at,
            kind=payload.kind,
            stage=state.stage,
            data=payload.to_data(),
        )
    )
    state.next_sequence += 1


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
        TaskCreated(
            task_id=task.id,
            task_kind=kind,
            role=role,
            title=title,
            due_at=task.due_at,
            referral_id=referral_id,
        ),
        at,
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
        record(state, TaskDone(task_id=task.id), at)


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
