"""The projection: a case's events applied to the read model, once each.

`SqlCaseEventSink` implements the activities' `CaseEventSink` on the store; what it receives is
the projection contract of domain/projection.py. A batch (a case's new events and its summary
after them) is applied in one transaction together with the case's new `last_applied_seq`:
either all of it lands or none, and an event at or below the case's `last_applied_seq` changes
nothing. Each new event's data is first read with its kind's model (domain/events.py): an
event that does not fit (a missing, unknown or renamed key, a wrong type) rejects the batch
(`ProjectionRejected`) before any of its rows is written. Activities deliver at least once
(a retry after a timeout, a worker killed after the commit but before it reported), so a
repeat is the normal case.

Two deliveries of one case at the same time are serialised before anything is read: on
PostgreSQL by a transaction-scoped advisory lock on the case id (it also covers a case's first
batch, which has no row to lock yet), on SQLite by the database's write lock, which the
transaction's first statement (a no-op update of the summary row) takes. Should two first
inserts still meet on a primary key, the loser is retried once.

What each event kind changes (its data: the models of domain/events.py):
- every batch: the summary row from the batch's `CaseProjection` (stage, owner, clocks, open
  task count, display name; name, date of birth, search keys and number: store/case_identity.py);
- referral_dispatched: a referral row, with the common minimum (the client's first name and
  languages) and the facts its partner's kind receives (the batch's `partner_views`, held once
  more to the kind's row of domain/consent.py): what the signed consent clause names;
  referral_status_changed: its status; referral_withdrawn: its status, and the row and the
  partner's notes lose what named the client;
- task_created / task_done: task rows (an escalation also flags its referral);
- review_recorded: a review row with the two survey answers;
- every batch: the referral steps its events record (`referral_steps`, with the partners'
  words);
- reassigned / transferred: the counsellor tasks move with the case;
- every event: the evaluation's facts it tells (store/fact_writer.py).
"""

import contextlib
import functools
import logging
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, text, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlmodel import Session, SQLModel, col, select

from domain.case import CaseEvent, TaskKind, TaskRole
from domain.case import ReviewRecord as CaseReview
from domain.consent import kind_data
from domain.events import (
    EventData,
    Reassigned,
    ReferralDispatched,
    ReferralStatusChanged,
    ReferralWithdrawn,
    ReviewRecorded,
    TaskCreated,
    TaskDone,
    Transferred,
    event_payload,
)
from domain.projection import (
    ArchivedDocument,
    CaseEventBatch,
    CaseProjection,
    ProjectionFailure,
    ProjectionRejected,
    ReferralNote,
)
from domain.referral import ReferralStatus, deadlines_of_earlier_code
from store.archive import (
    add_events,
    add_projection_failure,
    add_referral_note,
    add_referral_steps,
    archive_document,
)
from store.case_identity import copy_identity
from store.erasure import erased_among, is_erased
from store.evaluation_cells import mark_stale, marked_at_end
from store.fact_writer import CasePlace, write_facts
from store.models import Municipality, Role
from store.projections import (
    CaseSummary,
    ReferralNoteRecord,
    ReferralSummary,
    ReviewRecord,
    TaskRecord,
    client_display_name,
)
from store.upsert import upsert

log = logging.getLogger(__name__)

Row = TypeVar("Row", bound=SQLModel)

# What an unreachable or overloaded database raises: retried by the activity until it is back.
OUTAGES = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


class SqlCaseEventSink:
    """The read model's `CaseEventSink`. Thread-safe: each call has its own session."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # SQLite has one writer at a time. A thread that finds the write lock taken sleeps in
        # SQLite's busy handler by growing steps (up to 100 ms) instead of waking when the lock
        # is free; with the activities' threads all projecting, that was most of a batch's
        # time. A mutex in this process hands the lock on at once (other processes sharing
        # the file still meet the busy timeout). PostgreSQL serialises per case (advisory
        # lock) and writes different cases in parallel.
        self._writing: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    def append(self, batch: CaseEventBatch) -> int:
        """Apply the batch's events newer than the case's `last_applied_seq`; returns how many
        were new (0 for a repeated delivery). An outage raises as it is (the activity retries);
        a batch that can never be applied raises `ProjectionRejected`."""
        with self._writing:
            try:
                try:
                    return self._apply(batch)
                except IntegrityError:
                    # Another delivery inserted the case's first row meanwhile; now it exists
                    # and locks.
                    log.info(
                        "Case %s: concurrent first delivery, applying again", batch.case.case_id
                    )
                    return self._apply(batch)
            except OUTAGES:
                raise
            except Exception as error:
                # The data (or our code) is wrong: the same batch will fail the same way. The
                # error's text may quote the data, so only its type goes on.
                raise ProjectionRejected(type(error).__name__) from None

    def archive_document(self, document: ArchivedDocument) -> None:
        with self._writing, Session(self._engine) as session, session.begin():
            if not is_erased(session, document.case_id):
                archive_document(session, document)

    def append_referral_note(self, note: ReferralNote) -> None:
        with self._writing, Session(self._engine) as session, session.begin():
            if is_erased(session, note.case_id):
                return
            add_referral_note(session, note)
            referral = session.get(ReferralSummary, note.referral_id)
            if referral is not None:  # a note is a partner's act in the network that month
                mark_stale(session, referral.municipality_id, [note.at])

    def record_projection_failure(self, failure: ProjectionFailure) -> None:
        with self._writing, Session(self._engine) as session, session.begin():
            add_projection_failure(session, failure)

    def last_applied(self, case_id: str) -> int:
        with Session(self._engine) as session:
            row = session.get(CaseSummary, case_id)
            return row.last_applied_seq if row is not None else 0

    def append_all(self, batches: Sequence[CaseEventBatch]) -> int:
        """The bulk path: apply `batches` (a case's in their order) in one transaction, as
        `append` applies one (the same code), so a month is marked stale once and a row is
        read once. For a store with one writer (`lotse simulate`'s own): no retry of a first
        insert that met another delivery's, and a batch that cannot be applied rejects them
        all. Returns how many events were new."""
        with self._writing:
            try:
                with Session(self._engine) as session, session.begin():
                    return _apply_all(session, batches)
            except OUTAGES:
                raise
            except Exception as error:
                raise ProjectionRejected(type(error).__name__) from None

    def _apply(self, batch: CaseEventBatch) -> int:
        with Session(self._engine) as session, session.begin():
            return _apply_all(session, [batch])


@dataclass
class _Planned:
    """A batch's events that are new to the read model, each read with its kind's model."""

    batch: CaseEventBatch
    payloads: list[tuple[CaseEvent, EventData]]

    @functools.cached_property
    def sequences(self) -> set[int]:
        return {event.sequence for event, _payload in self.payloads}


def _apply_all(session: Session, batches: Sequence[CaseEventBatch]) -> int:
    """Apply `batches` within the caller's transaction (see the module docstring). The rows
    they change are read first, in one statement per table, and written together: a batch
    costs a few statements, not a few per event."""
    case_ids = sorted({batch.case.case_id for batch in batches})
    _lock_cases(session, case_ids)
    # A delivery after the erasure (store/erasure.py) must not bring data back.
    erased = erased_among(session, case_ids)
    summaries = {
        row.case_id: row
        for row in session.exec(
            select(CaseSummary).where(col(CaseSummary.case_id).in_(case_ids))
        ).all()
    }
    applied = {case_id: row.last_applied_seq for case_id, row in summaries.items()}
    planned: list[_Planned] = []
    for batch in batches:
        case_id = batch.case.case_id
        if case_id in erased:
            continue
        plan = _plan(batch, applied.get(case_id, 0))
        if plan is not None:
            planned.append(plan)
            # The next batch of the case in this call starts after this one.
            applied[case_id] = plan.payloads[-1][0].sequence
    if not planned:
        return 0
    with marked_at_end(session):
        # All events first, in one statement: what an event's facts read of the case's
        # events (its last draft) comes before it.
        add_events(
            session,
            [
                (plan.batch.case.case_id, event, payload)
                for plan in planned
                for event, payload in plan.payloads
            ],
        )
        rows = _load_rows(session, planned)
        for plan in planned:
            _apply_planned(session, plan, summaries)
        del rows  # held until here (see `_load_rows`)
        add_referral_steps(
            session,
            [
                (plan.batch.case.case_id, step)
                for plan in planned
                for step in plan.batch.referral_steps
                if step.sequence in plan.sequences
            ],
        )
    return sum(len(plan.payloads) for plan in planned)


def _plan(batch: CaseEventBatch, applied: int) -> _Planned | None:
    """The batch's events after `applied` (what the read model has of the case), or None when
    it has them all. Every event is read before anything is written (a ValidationError rejects
    the batch, see `append`)."""
    events = sorted((e for e in batch.events if e.sequence > applied), key=lambda e: e.sequence)
    if not events:
        return None
    if events[0].sequence != applied + 1:
        # Not expected (the workflow emits in order), but the summary snapshot is whole,
        # so the read model is still right; only the skipped events' rows are missing.
        log.warning(
            "Case %s: events %d..%d never arrived",
            batch.case.case_id,
            applied + 1,
            events[0].sequence - 1,
        )
    return _Planned(batch, [(event, event_payload(event)) for event in events])


def _load_rows(session: Session, planned: Sequence[_Planned]) -> list[SQLModel]:
    """The referral and task rows the events name, read into the session in one statement
    each, and the ones they create added: so that every later look-up of them (`session.get`
    here and in the fact writer) is answered from the session, not by a statement. The caller
    holds on to the rows returned while it applies the events: the session's identity map
    keeps an unchanged row only as long as something else refers to it."""
    referral_ids: set[str] = set()
    task_ids: set[str] = set()
    for plan in planned:
        for _event, payload in plan.payloads:
            referral_id = getattr(payload, "referral_id", None)
            if isinstance(referral_id, str):
                referral_ids.add(referral_id)
            if isinstance(payload, (TaskCreated, TaskDone)):
                task_ids.add(_task_id(plan.batch.case.case_id, payload.task_id))
    referrals = _by_key(session, ReferralSummary, ReferralSummary.id, referral_ids)
    tasks = _by_key(session, TaskRecord, TaskRecord.id, task_ids)
    for plan in planned:
        case = plan.batch.case
        for event, payload in plan.payloads:
            if isinstance(payload, ReferralDispatched):
                row = _referral_row(session, case, event, payload)
                _put(session, referrals, row.id, row)
            elif isinstance(payload, TaskCreated):
                task = _task_row(case, event, payload)
                _put(session, tasks, task.id, task)
    # The new rows into the session's identity map, in one statement per table.
    session.flush()
    return [*referrals.values(), *tasks.values()]


def _by_key(session: Session, model: type[Row], key: Any, ids: set[str]) -> dict[str, Row]:
    """The rows of `model` whose `key` is one of `ids`, by it."""
    if not ids:
        return {}
    rows = session.exec(select(model).where(col(key).in_(sorted(ids)))).all()
    return {getattr(row, key.key): row for row in rows}


def _put(session: Session, known: dict[str, Row], key: str, row: Row) -> None:
    """Add `row` (its primary key: `key`), or overwrite the row with that key (what
    `session.merge` does, without its read)."""
    if key in known:
        session.merge(row)  # the row is in the session: merge reads nothing
    else:
        session.add(row)
        known[key] = row


def _apply_planned(session: Session, plan: _Planned, summaries: dict[str, CaseSummary]) -> None:
    """One batch's new events, then the case's summary and archived documents."""
    case = plan.batch.case
    summary = summaries.get(case.case_id)
    reviews = {review.id: review for review in plan.batch.reviews}
    place = (
        CasePlace(summary.municipality_id, summary.centre_id)
        if summary is not None
        else CasePlace(case.municipality_id, case.centre_id)
    )
    for event, payload in plan.payloads:
        _apply_event(session, case, event, payload, reviews)
        write_facts(session, case.case_id, place, event, payload, case.needs)
    for document in plan.batch.documents:
        # Texts a state from before the archive still carries (domain/compaction.py).
        archive_document(
            session,
            ArchivedDocument(
                case_id=case.case_id,
                version=document.version,
                hash=document.hash,
                text=document.text,
                rendered_at=document.created_at,
            ),
        )
    last = plan.payloads[-1][0]
    new = summary is None
    if summary is None:
        summary = CaseSummary(
            case_id=case.case_id,
            opened_at=case.opened_at,
            client_display_name="",
            municipality_id=case.municipality_id,
            centre_id=case.centre_id,
            counsellor_id="",
            stage=case.stage.value,
            updated_at=last.at,
        )
        summaries[case.case_id] = summary
    _copy_projection(summary, case, last)
    copy_identity(session, summary, case, new)
    session.add(summary)


# Key space of the per-case advisory locks (two-int form: apart from the migration lock's).
_CASE_LOCK_CLASS = 0x4C54


def _lock_cases(session: Session, case_ids: Sequence[str]) -> None:
    """Serialise deliveries of these cases (see module docstring), before anything is read.
    Called once, at the start of the transaction; `case_ids` sorted, so that two bulk calls
    take their locks in the same order."""
    if session.get_bind().dialect.name == "postgresql":
        # A row lock would not cover a case's first batch (no row yet): two first deliveries
        # would insert the same referral and task rows in different orders and deadlock.
        for case_id in case_ids:
            session.execute(
                text("SELECT pg_advisory_xact_lock(:space, hashtext(:case_id))"),
                {"space": _CASE_LOCK_CLASS, "case_id": case_id},
            )
    elif case_ids:
        # SQLite: a write statement takes the database's write lock, whether or not it
        # matches a row, and keeps it to the end of the transaction.
        session.execute(
            update(CaseSummary)
            .where(col(CaseSummary.case_id) == case_ids[0])
            .values(last_applied_seq=CaseSummary.last_applied_seq)
        )


def _copy_projection(summary: CaseSummary, case: CaseProjection, last: CaseEvent) -> None:
    summary.municipality_id = case.municipality_id
    summary.centre_id = case.centre_id
    summary.counsellor_id = case.counsellor_id or ""
    summary.stage = case.stage.value
    summary.next_review_due = case.next_review_due
    summary.review_overdue = case.review_overdue
    summary.open_task_count = case.open_task_count
    summary.client_display_name = client_display_name(
        case.client_given_name, case.client_family_name
    )[:120]
    summary.opened_at = case.opened_at
    summary.updated_at = last.at
    summary.last_applied_seq = last.sequence


def _task_id(case_id: str, task_id: str) -> str:
    # Task ids are case-local (t5); the read model's are global.
    return f"{case_id}-{task_id}"


def _apply_event(
    session: Session,
    case: CaseProjection,
    event: CaseEvent,
    payload: EventData,
    reviews: dict[str, CaseReview],
) -> None:
    match payload:
        case ReferralStatusChanged():
            _referral_status(session, event, payload.referral_id, payload.status)
        case ReferralWithdrawn():
            # Without this the partner's inbox and the supervisor's open list keep a closed
            # case's task forever.
            _referral_status(session, event, payload.referral_id, ReferralStatus.WITHDRAWN)
            _forget_client(session, payload.referral_id)
        case TaskCreated():
            _escalated(session, payload)
        case TaskDone():
            task = session.get(TaskRecord, _task_id(case.case_id, payload.task_id))
            if task is not None:
                task.done = True
                session.add(task)
        case ReviewRecorded():
            review = reviews.get(payload.review_id)
            upsert(
                session,
                ReviewRecord,
                [
                    ReviewRecord(
                        case_id=case.case_id,
                        seq=event.sequence,
                        recorded_at=event.at,
                        agreement_helped=payload.agreement_helped,
                        easier_to_keep_at_it=payload.easier_to_keep_at_it,
                        due_at=payload.due_at,
                        next_review_due=payload.next_review_due,
                        goal_progress=[
                            {"goal_id": p.goal_id, "status": p.status.value, "note": p.note}
                            for p in (review.goal_progress if review is not None else [])
                        ],
                    )
                ],
            )
        case Reassigned() | Transferred():
            session.execute(
                update(TaskRecord)
                .where(
                    col(TaskRecord.case_id) == case.case_id,
                    col(TaskRecord.assignee_role) == Role.COUNSELLOR,
                    col(TaskRecord.done).is_(False),
                )
                .values(assignee_id=payload.counsellor_id or "")
            )


def _referral_row(
    session: Session, case: CaseProjection, event: CaseEvent, payload: ReferralDispatched
) -> ReferralSummary:
    deadlines = (payload.acknowledge_by, payload.escalate_at, payload.expires_at)
    if payload.acknowledge_by is None:
        # Recorded by code that did not carry deadlines yet, and projected only now: the ones
        # migration 0004 gave the referrals projected before.
        municipality = session.get(Municipality, case.municipality_id)
        earlier = deadlines_of_earlier_code(event.at, municipality.land if municipality else None)
        deadlines = (earlier.acknowledge_by, earlier.escalate_at, earlier.expires_at)
    acknowledge_by, escalate_at, expires_at = deadlines
    return ReferralSummary(
        id=payload.referral_id,
        case_id=case.case_id,
        municipality_id=case.municipality_id,
        route_id=payload.route_id,
        partner_id=payload.partner_id,
        actor_kind=payload.actor,
        measure=payload.measure[:64],
        need_kind=payload.need,
        status=ReferralStatus.DISPATCHED,
        dispatched_at=event.at,
        acknowledge_by=acknowledge_by,
        escalate_at=escalate_at,
        expires_at=expires_at,
        priority=payload.priority,
        client_first_name=" ".join(case.client_given_name.split())[:100],
        languages=list(case.client_languages),
        partner_view=_partner_view(case, payload),
        updated_at=event.at,
        last_applied_seq=event.sequence,
    )


def _partner_view(case: CaseProjection, payload: ReferralDispatched) -> dict[str, object]:
    """The facts the case sent for this referral's partner, none beyond what the partner's
    kind receives for its need: a view the case got wrong (or a bug) cannot widen the row."""
    view = case.partner_views.get(payload.referral_id)
    if view is None:
        return {}
    return view.only(kind_data(payload.actor, payload.need)).stored()


def _referral_status(
    session: Session, event: CaseEvent, referral_id: str, status: ReferralStatus
) -> None:
    referral = session.get(ReferralSummary, referral_id)
    if referral is None or event.sequence <= referral.last_applied_seq:
        return
    referral.status = status
    if status is ReferralStatus.ACKNOWLEDGED and referral.acknowledged_at is None:
        referral.acknowledged_at = event.at
    referral.updated_at = event.at
    referral.last_applied_seq = event.sequence
    session.add(referral)


def _forget_client(session: Session, referral_id: str) -> None:
    """A withdrawn referral is no task of the partner's any more: its inbox row keeps no
    personal data, and the partner's notes on it go (the counsellor's timeline keeps them)."""
    referral = session.get(ReferralSummary, referral_id)
    if referral is not None:
        referral.client_first_name = ""
        referral.languages = []
        referral.partner_view = {}
        session.add(referral)
        # The notes were the partner's acts in their months (the evaluation's active partners).
        noted = session.exec(
            select(ReferralNoteRecord.at).where(ReferralNoteRecord.referral_id == referral_id)
        ).all()
        mark_stale(session, referral.municipality_id, noted)
    session.execute(
        delete(ReferralNoteRecord).where(col(ReferralNoteRecord.referral_id) == referral_id)
    )


def _task_row(case: CaseProjection, event: CaseEvent, payload: TaskCreated) -> TaskRecord:
    if payload.role is TaskRole.SUPERVISOR:
        assignee_role, assignee_id = Role.SUPERVISOR, case.municipality_id
    else:
        assignee_role, assignee_id = Role.COUNSELLOR, case.counsellor_id or ""
    return TaskRecord(
        id=_task_id(case.case_id, payload.task_id),
        case_id=case.case_id,
        referral_id=payload.referral_id or None,
        kind=payload.task_kind.value,
        assignee_role=assignee_role,
        assignee_id=assignee_id,
        title=payload.title[:300],
        due_at=payload.due_at,
        created_at=event.at,
    )


def _escalated(session: Session, payload: TaskCreated) -> None:
    """An escalation's task (created by `_load_rows`) also flags its referral."""
    if payload.task_kind is TaskKind.REFERRAL_ESCALATION and payload.referral_id:
        referral = session.get(ReferralSummary, payload.referral_id)
        if referral is not None:
            referral.escalated = True
            session.add(referral)
