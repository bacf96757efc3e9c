"""The case archive in the read model (store/archive.py through `SqlCaseEventSink`), on SQLite
and PostgreSQL: what a case stops carrying is kept here, once, exactly; an outage raises as
it is (the activity retries), a batch that never fits is rejected and becomes an
administrator's task."""

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from activities.agreement_text import sha256
from domain.case import (
    CaseEventKind,
    GoalProgress,
    GoalStatus,
    ReviewRecord,
    Stage,
    Survey,
)
from domain.projection import (
    ArchivedDocument,
    CaseEventBatch,
    ProjectionFailure,
    ProjectionRejected,
    ReferralNote,
)
from store.archive import (
    PROJECTION_FAILED,
    case_history,
    load_document,
    referral_notes,
    signed_at,
)
from store.models import Role
from store.projections import CaseEventRecord, CaseSummary, TaskRecord
from store.projections import ReviewRecord as ReviewRow
from store.projector import SqlCaseEventSink
from tests.samples import (
    ACTIVATED_BATCH,
    BATCH_CASE,
    BATCH_REFERRAL,
    LATER_BATCH,
    NOW,
    OPENED_BATCH,
    batch_event,
)

TEXT = "Integrationsvereinbarung\n\n1. Ziele\n  - Deutsch auf B1\n"


def test_every_event_is_kept_once_and_the_history_merges_what_the_case_still_carries(
    store_engine: Engine,
) -> None:
    sink = SqlCaseEventSink(store_engine)
    # The repeat of the second batch changes nothing.
    for batch in (OPENED_BATCH, ACTIVATED_BATCH, ACTIVATED_BATCH, LATER_BATCH):
        sink.append(batch)
    with Session(store_engine) as session:
        rows = session.exec(
            select(CaseEventRecord).where(CaseEventRecord.case_id == BATCH_CASE)
        ).all()
    assert sorted(row.seq for row in rows) == list(range(1, 11))
    pending = [batch_event(11, CaseEventKind.CLOSED, Stage.CLOSED, reason="withdrawn")]
    history = case_history(store_engine, BATCH_CASE, pending)
    assert [e.sequence for e in history] == list(range(1, 12))
    assert (
        history[3].data["referral_id"] == BATCH_REFERRAL
        and history[-1].kind is CaseEventKind.CLOSED
    )


def test_the_archive_keeps_each_events_data_as_its_model_reads_it(store_engine: Engine) -> None:
    sink = SqlCaseEventSink(store_engine)
    signatures = CaseEventBatch(
        case=LATER_BATCH.case,
        events=[
            batch_event(11, CaseEventKind.SIGNED, Stage.ACTIVE, party="client", version=1),
            batch_event(12, CaseEventKind.SIGNED, Stage.ACTIVE, party="client", version=2),
            batch_event(13, CaseEventKind.SIGNED, Stage.ACTIVE, party="counsellor", version=2),
        ],
    )
    for batch in (OPENED_BATCH, ACTIVATED_BATCH, LATER_BATCH, signatures):
        sink.append(batch)
    sent = {
        e.sequence: e.data
        for b in (OPENED_BATCH, ACTIVATED_BATCH, LATER_BATCH, signatures)
        for e in b.events
    }
    with Session(store_engine) as session:
        stored = {row.seq: row.data for row in session.exec(select(CaseEventRecord))}
    # The first version's permit date (a profile fact) is not kept; everything else is as sent.
    assert sent[2] == {"permit_warning_at": None} and stored[2] == {}
    assert {seq: data for seq, data in stored.items() if seq != 2} == {
        seq: data for seq, data in sent.items() if seq != 2
    }
    # Read back through the model: who signed version 2, and when.
    assert signed_at(store_engine, BATCH_CASE, 2) == {
        "client": NOW + timedelta(minutes=12),
        "counsellor": NOW + timedelta(minutes=13),
    }
    assert signed_at(store_engine, BATCH_CASE, 1) == {"client": NOW + timedelta(minutes=11)}


def test_a_review_keeps_its_goal_progress_and_dates(store_engine: Engine) -> None:
    sink = SqlCaseEventSink(store_engine)
    sink.append(OPENED_BATCH)
    sink.append(ACTIVATED_BATCH)
    review = ReviewRecord(
        id="v9",
        recorded_at=NOW + timedelta(days=95),
        due_at=NOW + timedelta(days=90),
        goal_progress=[GoalProgress(goal_id="g2", status=GoalStatus.ACHIEVED, note="B1 bestanden")],
        survey=Survey(agreement_helped=True),
        next_review_due=NOW + timedelta(days=270),
    )
    later = LATER_BATCH.model_copy(update={"reviews": [review]})
    later.events[3].data["due_at"] = review.due_at.isoformat() if review.due_at else None
    sink.append(later)
    with Session(store_engine) as session:
        [row] = session.exec(select(ReviewRow)).all()
    assert row.agreement_helped is True
    assert row.due_at == NOW + timedelta(days=90)
    assert row.goal_progress == [{"goal_id": "g2", "status": "achieved", "note": "B1 bestanden"}]


def test_documents_are_archived_exactly_once_and_never_changed(store_engine: Engine) -> None:
    sink = SqlCaseEventSink(store_engine)
    document = ArchivedDocument(
        case_id=BATCH_CASE, version=1, hash=sha256(TEXT), text=TEXT, rendered_at=NOW
    )
    sink.archive_document(document)
    # A repeated delivery (even one carrying other text under the same key) changes nothing.
    sink.archive_document(document.model_copy(update={"text": "anders"}))
    text = load_document(store_engine, BATCH_CASE, 1, sha256(TEXT))
    assert text == TEXT and sha256(text) == document.hash  # whitespace and all
    assert load_document(store_engine, BATCH_CASE, 2, sha256(TEXT)) is None


def test_progress_notes_are_kept_per_referral_in_order(store_engine: Engine) -> None:
    sink = SqlCaseEventSink(store_engine)
    for number in (1, 2, 3, 2):
        sink.append_referral_note(
            ReferralNote(
                referral_id=BATCH_REFERRAL,
                case_id=BATCH_CASE,
                partner_id="sprachschule-musterstadt",
                number=number,
                at=NOW + timedelta(days=number),
                note=f"Zwischenstand {number}",
            )
        )
    notes = referral_notes(store_engine, BATCH_REFERRAL)
    assert [n.note for n in notes] == ["Zwischenstand 1", "Zwischenstand 2", "Zwischenstand 3"]
    assert [n.number for n in referral_notes(store_engine, BATCH_REFERRAL, limit=2)] == [2, 3]


def test_a_batch_that_never_fits_is_rejected_and_becomes_an_admin_task(
    store_engine: Engine, request: pytest.FixtureRequest
) -> None:
    sink = SqlCaseEventSink(store_engine)
    sink.append(OPENED_BATCH)
    broken = ACTIVATED_BATCH.model_copy(deep=True)
    broken.events[-1].data["role"] = "nobody"  # no such role: the projector cannot read it
    with pytest.raises(ProjectionRejected) as rejected:
        sink.append(broken)
    assert str(rejected.value) == "ValidationError"  # the type only: the text may quote data
    failure = ProjectionFailure(
        case_id=BATCH_CASE, first_sequence=2, last_sequence=5, error=str(rejected.value), at=NOW
    )
    sink.record_projection_failure(failure)
    sink.record_projection_failure(failure)  # once per case and range
    with Session(store_engine) as session:
        [task] = session.exec(select(TaskRecord).where(TaskRecord.kind == PROJECTION_FAILED)).all()
        summary = session.get(CaseSummary, BATCH_CASE)
    assert task.assignee_role is Role.ADMIN and task.case_id == BATCH_CASE and not task.done
    assert "Ereignisse 2–5" in task.title and "ValidationError" in task.title
    assert "Amina" not in task.title
    assert summary is not None and summary.last_applied_seq == 1  # nothing of the batch landed


def test_a_nul_in_personal_data_is_rejected_on_postgresql_not_retried_for_ever(
    store_engine: Engine,
) -> None:
    if store_engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores NUL characters; PostgreSQL text cannot hold them")
    sink = SqlCaseEventSink(store_engine)
    poisoned = OPENED_BATCH.model_copy(deep=True)
    poisoned.case.client_given_name = "Amina\x00"
    with pytest.raises(ProjectionRejected) as rejected:
        sink.append(poisoned)
    assert "Amina" not in str(rejected.value)
    assert sink.last_applied(BATCH_CASE) == 0


def test_an_unreachable_database_is_an_outage_the_activity_retries(tmp_path: Path) -> None:
    # A file in a directory that does not exist: every connection attempt fails.
    engine = create_engine(f"sqlite:///{tmp_path}/missing/lotse.sqlite")
    with pytest.raises(OperationalError):
        SqlCaseEventSink(engine).append(OPENED_BATCH)


def test_the_batch_model_still_reads_a_batch_without_the_new_parts() -> None:
    # An activity task scheduled by an older worker carries no reviews or documents.
    data = OPENED_BATCH.model_dump(mode="json", exclude={"reviews", "documents"})
    batch = CaseEventBatch.model_validate(data)
    assert batch.reviews == [] and batch.documents == []
    assert batch.events[0].at == NOW + timedelta(minutes=1)
