"""The projection of case events into the read model (`store.projector.SqlCaseEventSink`), on
SQLite and on PostgreSQL (skipped when LOTSE_TEST_POSTGRES_URL is unset): each event applied
once, a batch all or nothing, repeats and late redeliveries change nothing, concurrent
deliveries of the same batch apply it once, an event whose data does not fit its kind's model
(domain/events.py) is refused."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from domain.case import CaseEventKind, Stage
from domain.consent import PartnerView
from domain.enums import GermanLevel
from domain.projection import CaseEventBatch, ProjectionRejected
from domain.referral import ReferralStatus, deadlines_of_earlier_code
from store.directory import SqlDirectory
from store.models import Municipality, Role
from store.projections import (
    CaseEventRecord,
    CaseSummary,
    ReferralSummary,
    ReviewRecord,
    TaskRecord,
)
from store.projector import SqlCaseEventSink
from store.seed import seed_demo
from tests.samples import (
    ACTIVATED_BATCH,
    BATCH_CASE,
    BATCH_REFERRAL,
    LATER_BATCH,
    MUNICIPALITY,
    NOW,
    OPENED_BATCH,
    REVIEW_DUE,
    batch_event,
    batch_projection,
)


def _snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every read-model row of the test case, comparable across deliveries."""
    with Session(engine) as session:
        return {
            table.__name__: sorted(
                (row.model_dump() for row in session.exec(select(table))), key=repr
            )
            for table in (CaseSummary, ReferralSummary, TaskRecord, ReviewRecord)
        }


def test_first_batch_creates_the_summary_with_a_display_name(store_engine: Engine) -> None:
    sink = SqlCaseEventSink(store_engine)
    assert sink.append(OPENED_BATCH) == 1
    with Session(store_engine) as session:
        row = session.get(CaseSummary, BATCH_CASE)
    assert row is not None
    assert (row.stage, row.centre_id, row.counsellor_id) == ("intake", "mbe-mitte", "berater1")
    assert row.client_display_name == "Amina K."
    assert row.last_applied_seq == 1
    assert row.opened_at == NOW and row.updated_at == NOW + timedelta(minutes=1)


def test_events_fill_referrals_tasks_and_reviews(store_engine: Engine) -> None:
    sink = SqlCaseEventSink(store_engine)
    assert [sink.append(b) for b in (OPENED_BATCH, ACTIVATED_BATCH, LATER_BATCH)] == [1, 4, 5]
    with Session(store_engine) as session:
        summary = session.get(CaseSummary, BATCH_CASE)
        referral = session.get(ReferralSummary, BATCH_REFERRAL)
        tasks = {t.id: t for t in session.exec(select(TaskRecord))}
        reviews = session.exec(select(ReviewRecord)).all()
    assert summary is not None and summary.review_overdue and summary.next_review_due == REVIEW_DUE
    assert summary.last_applied_seq == 10
    assert referral is not None
    # The partner view: first name and languages, nothing else of the client.
    assert (referral.client_first_name, referral.languages) == ("Amina", ["ar", "en"])
    assert referral.status is ReferralStatus.ACKNOWLEDGED
    assert referral.acknowledged_at == NOW + timedelta(minutes=6)
    assert referral.escalated
    follow_up, escalation = tasks[f"{BATCH_CASE}-t7"], tasks[f"{BATCH_CASE}-t8"]
    assert follow_up.done and follow_up.due_at == NOW + timedelta(days=42)
    assert (escalation.assignee_role, escalation.assignee_id) == (Role.SUPERVISOR, "musterstadt")
    assert [(r.seq, r.agreement_helped, r.easier_to_keep_at_it) for r in reviews] == [
        (9, True, None)
    ]


def test_a_review_learns_when_the_next_one_was_recorded(store_engine: Engine) -> None:
    """The evaluation's survey counts a client at her last review in a period: the one whose
    next came after it (store/reads/evaluation.py)."""
    second = CaseEventBatch(
        case=LATER_BATCH.case,
        events=[
            batch_event(
                11,
                CaseEventKind.REVIEW_RECORDED,
                Stage.ACTIVE,
                review_id="v11",
                due_at=(REVIEW_DUE + timedelta(days=180)).isoformat(),
                next_review_due=(REVIEW_DUE + timedelta(days=360)).isoformat(),
                agreement_helped=False,
                easier_to_keep_at_it=True,
                new_needs=0,
                goals_achieved=0,
            )
        ],
    )
    sink = SqlCaseEventSink(store_engine)
    for batch in (OPENED_BATCH, ACTIVATED_BATCH, LATER_BATCH):
        sink.append(batch)
    with Session(store_engine) as session:
        only = session.exec(select(ReviewRecord)).one()
    assert (only.seq, only.next_recorded_at, only.municipality_id) == (9, None, MUNICIPALITY)
    sink.append(second)
    with Session(store_engine) as session:
        reviews = session.exec(select(ReviewRecord).order_by(col(ReviewRecord.seq))).all()
    assert [(r.seq, r.next_recorded_at) for r in reviews] == [
        (9, NOW + timedelta(minutes=11)),
        (11, None),
    ]


def test_a_referral_recorded_by_earlier_code_gets_the_deadlines_the_pages_computed(
    store_engine: Engine,
) -> None:
    """The sample batch's referral event has the shape of code that did not carry deadlines
    yet; projected now, its row gets the deadlines the pages computed then, in the working days
    of the municipality's Land (in Bavaria, Epiphany is no working day)."""
    before_epiphany = datetime(2025, 1, 3, 9, 0, tzinfo=UTC)
    with Session(store_engine) as session:
        session.add(Municipality(id=MUNICIPALITY, name="Musterstadt", land="BY"))
        session.commit()
    events = [
        event.model_copy(update={"at": before_epiphany})
        if event.kind is CaseEventKind.REFERRAL_DISPATCHED
        else event
        for event in ACTIVATED_BATCH.events
    ]
    dispatched = next(e for e in events if e.kind is CaseEventKind.REFERRAL_DISPATCHED)
    assert "acknowledge_by" not in dispatched.data
    sink = SqlCaseEventSink(store_engine)
    sink.append(OPENED_BATCH)
    sink.append(ACTIVATED_BATCH.model_copy(update={"events": events}))
    with Session(store_engine) as session:
        row = session.get(ReferralSummary, BATCH_REFERRAL)
    assert row is not None
    expected = deadlines_of_earlier_code(before_epiphany, "BY")
    assert (row.acknowledge_by, row.escalate_at, row.expires_at) == (
        expected.acknowledge_by,
        expected.escalate_at,
        expected.expires_at,
    )
    assert expected.acknowledge_by > deadlines_of_earlier_code(before_epiphany, "NW").acknowledge_by


def test_reassignment_moves_open_counsellor_tasks(store_engine: Engine) -> None:
    sink = SqlCaseEventSink(store_engine)
    more = ACTIVATED_BATCH.model_copy(
        update={
            "events": [
                *ACTIVATED_BATCH.events,
                batch_event(
                    6,
                    CaseEventKind.TASK_CREATED,
                    Stage.ACTIVE,
                    task_id="t9",
                    task_kind="permit_expiry",
                    role="counsellor",
                    title="Aufenthaltstitel läuft ab",
                    due_at=None,
                    referral_id=None,
                ),
                batch_event(7, CaseEventKind.TASK_DONE, Stage.ACTIVE, task_id="t7"),
                batch_event(8, CaseEventKind.REASSIGNED, Stage.ACTIVE, counsellor_id="berater3"),
            ]
        }
    )
    sink.append(OPENED_BATCH)
    sink.append(more)
    with Session(store_engine) as session:
        assignees = {t.id: t.assignee_id for t in session.exec(select(TaskRecord))}
    # The done task keeps who did it; the open one follows the case.
    assert assignees == {f"{BATCH_CASE}-t7": "berater1", f"{BATCH_CASE}-t9": "berater3"}


def test_a_repeated_batch_changes_nothing(store_engine: Engine) -> None:
    sink = SqlCaseEventSink(store_engine)
    for batch in (OPENED_BATCH, ACTIVATED_BATCH, LATER_BATCH):
        sink.append(batch)
    before = _snapshot(store_engine)
    assert [sink.append(b) for b in (OPENED_BATCH, ACTIVATED_BATCH, LATER_BATCH)] == [0, 0, 0]
    assert _snapshot(store_engine) == before


def test_a_late_redelivery_does_not_roll_the_summary_back(store_engine: Engine) -> None:
    sink = SqlCaseEventSink(store_engine)
    for batch in (OPENED_BATCH, ACTIVATED_BATCH, LATER_BATCH):
        sink.append(batch)
    before = _snapshot(store_engine)
    # The activity of batch 2 timed out and is retried after batch 3 landed.
    assert sink.append(ACTIVATED_BATCH) == 0
    assert _snapshot(store_engine) == before
    assert sink.last_applied(BATCH_CASE) == 10


def test_an_overlapping_batch_applies_only_its_new_events(store_engine: Engine) -> None:
    sink = SqlCaseEventSink(store_engine)
    sink.append(OPENED_BATCH)
    overlapping = CaseEventBatch(
        case=ACTIVATED_BATCH.case, events=[*OPENED_BATCH.events, *ACTIVATED_BATCH.events]
    )
    assert sink.append(overlapping) == 4
    assert sink.last_applied(BATCH_CASE) == 5


def test_a_failing_batch_leaves_nothing_behind(store_engine: Engine) -> None:
    sink = SqlCaseEventSink(store_engine)
    sink.append(OPENED_BATCH)
    before = _snapshot(store_engine)
    broken = ACTIVATED_BATCH.model_copy(deep=True)
    # The referral comes first in the batch, then an event the projector cannot read.
    broken.events[-1].data["role"] = "nobody"
    # Never fits, however often it is sent: rejected for good, naming the error's type only.
    with pytest.raises(ProjectionRejected, match=r"^ValidationError$"):
        sink.append(broken)
    assert _snapshot(store_engine) == before
    assert sink.last_applied(BATCH_CASE) == 1
    # The retry with good data then applies the whole batch.
    assert sink.append(ACTIVATED_BATCH) == 4


# The referral's dispatch event with data that does not fit `ReferralDispatched`.
DISPATCHED = ACTIVATED_BATCH.events[2].data
MISFITS = {
    "renamed-key": {("referal_id" if k == "referral_id" else k): v for k, v in DISPATCHED.items()},
    "unknown-key": DISPATCHED | {"client_name": "Amina"},
    "missing-key": {k: v for k, v in DISPATCHED.items() if k != "previous_referral_id"},
    "unknown-enum": DISPATCHED | {"need": "money"},
    "wrong-type": DISPATCHED | {"partner_id": 7},
}


@pytest.mark.parametrize("misfit", list(MISFITS))
def test_an_event_that_does_not_fit_its_model_is_refused_before_anything_lands(
    store_engine: Engine, misfit: str
) -> None:
    sink = SqlCaseEventSink(store_engine)
    sink.append(OPENED_BATCH)
    before = _snapshot(store_engine)
    broken = ACTIVATED_BATCH.model_copy(deep=True)
    broken.events[2].data = MISFITS[misfit]
    with pytest.raises(ProjectionRejected, match=r"^ValidationError$") as rejected:
        sink.append(broken)
    assert "Amina" not in str(rejected.value)
    assert _snapshot(store_engine) == before
    assert sink.last_applied(BATCH_CASE) == 1
    with Session(store_engine) as session:
        assert session.get(ReferralSummary, BATCH_REFERRAL) is None
        assert [row.seq for row in session.exec(select(CaseEventRecord))] == [1]
    assert sink.append(ACTIVATED_BATCH) == 4


def test_racing_out_of_order_deliveries_never_apply_an_event_twice(store_engine: Engine) -> None:
    # The workflow sends a case's batches one after the other, so a later batch never
    # overtakes an earlier one that did not land; here they race anyway. Whatever lands
    # first, no event counts twice and the summary ends at the newest batch.
    sink = SqlCaseEventSink(store_engine)
    with ThreadPoolExecutor(max_workers=6) as pool:
        applied = sum(pool.map(sink.append, [OPENED_BATCH, ACTIVATED_BATCH, LATER_BATCH] * 6))
    assert applied <= 10
    assert sink.last_applied(BATCH_CASE) == 10
    with Session(store_engine) as session:
        assert len(session.exec(select(ReferralSummary)).all()) <= 1
        tasks = session.exec(select(TaskRecord.id).order_by(col(TaskRecord.id))).all()
        assert len(tasks) == len(set(tasks))
        assert len(session.exec(select(ReviewRecord)).all()) == 1


def test_in_order_concurrent_repeats_count_every_event_once(store_engine: Engine) -> None:
    sink = SqlCaseEventSink(store_engine)
    applied = 0
    for batch in (OPENED_BATCH, ACTIVATED_BATCH, LATER_BATCH):
        with ThreadPoolExecutor(max_workers=6) as pool:
            applied += sum(pool.map(sink.append, [batch] * 6))
    assert applied == 10
    with Session(store_engine) as session:
        assert len(session.exec(select(ReviewRecord)).all()) == 1


def test_the_directory_counts_projected_open_referrals(store_engine: Engine) -> None:
    seed_demo(store_engine, environment="development")
    sink = SqlCaseEventSink(store_engine)
    directory = SqlDirectory(store_engine)
    sink.append(OPENED_BATCH)
    sink.append(ACTIVATED_BATCH)
    assert directory.partner("sprachschule-musterstadt").open_referrals == 1
    completed = CaseEventBatch(
        case=LATER_BATCH.case,
        events=[
            batch_event(
                6,
                CaseEventKind.REFERRAL_STATUS_CHANGED,
                Stage.ACTIVE,
                referral_id=BATCH_REFERRAL,
                partner_id="sprachschule-musterstadt",
                status="completed",
            )
        ],
    )
    sink.append(completed)
    assert directory.partner("sprachschule-musterstadt").open_referrals == 0


def test_a_withdrawn_referral_leaves_the_partner_inbox_and_the_open_count(
    store_engine: Engine,
) -> None:
    sink = SqlCaseEventSink(store_engine)
    seed_demo(store_engine, environment="development")
    sink.append(OPENED_BATCH)
    sink.append(ACTIVATED_BATCH)
    directory = SqlDirectory(store_engine)

    def open_referrals() -> int:
        partners = {p.id: p for p in directory.partners("musterstadt")}
        return partners["sprachschule-musterstadt"].open_referrals

    assert open_referrals() == 1
    closed = CaseEventBatch(
        case=batch_projection(Stage.CLOSED),
        events=[
            batch_event(
                6,
                CaseEventKind.REFERRAL_WITHDRAWN,
                Stage.CLOSED,
                referral_id=BATCH_REFERRAL,
                partner_id="sprachschule-musterstadt",
            )
        ],
    )
    sink.append(closed)
    with Session(store_engine) as session:
        referral = session.get(ReferralSummary, BATCH_REFERRAL)
    assert referral is not None and referral.status is ReferralStatus.WITHDRAWN
    assert open_referrals() == 0


def test_a_referral_keeps_only_its_kinds_facts_and_loses_them_when_withdrawn(
    store_engine: Engine,
) -> None:
    sink = SqlCaseEventSink(store_engine)
    sink.append(OPENED_BATCH)
    # A view wider than a language school receives (a bug in the case, say): the row keeps
    # the German level only.
    wide = PartnerView(
        german_level=GermanLevel.A2, family_name="Karimi", birth_date=date(1990, 5, 17)
    )
    case = ACTIVATED_BATCH.case.model_copy(update={"partner_views": {BATCH_REFERRAL: wide}})
    sink.append(ACTIVATED_BATCH.model_copy(update={"case": case}))
    with Session(store_engine) as session:
        referral = session.get(ReferralSummary, BATCH_REFERRAL)
    assert referral is not None and referral.partner_view == {"german_level": "A2"}
    withdrawn = CaseEventBatch(
        case=batch_projection(Stage.ACTIVE),
        events=[
            batch_event(
                6,
                CaseEventKind.REFERRAL_WITHDRAWN,
                Stage.ACTIVE,
                referral_id=BATCH_REFERRAL,
                partner_id="sprachschule-musterstadt",
            )
        ],
    )
    sink.append(withdrawn)
    with Session(store_engine) as session:
        referral = session.get(ReferralSummary, BATCH_REFERRAL)
    assert referral is not None
    assert (referral.client_first_name, referral.languages, referral.partner_view) == ("", [], {})
