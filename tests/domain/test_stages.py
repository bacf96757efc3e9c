"""The pure stage machine: which action is allowed in which stage and what it changes.
Plain pytest, no Temporal."""

import json
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from domain.actions import (
    AgreementDraft,
    Closure,
    DraftMeasure,
    Reassignment,
    Review,
    Signature,
    TaskDone,
    Transfer,
)
from domain.case import (
    STAGE_LABELS,
    CaseState,
    ClosureReason,
    Party,
    Responsible,
    Stage,
    TaskKind,
    TaskRole,
)
from domain.case_log import KEEP_UPDATE_IDS, action_result, remember_update
from domain.enums import CentreKind, NeedKind
from domain.months import add_months, add_months_at, start_of_german_day
from domain.needs import Need
from domain.rejections import Invalid, Rejection, WrongStage
from domain.stages import (
    check_complete_assessment,
    check_complete_intake,
    check_request_signature,
    check_sign,
    complete_intake,
    request_signature,
    sign,
)
from domain.stages_clock import next_deadline, on_clock
from domain.stages_draft import check_draft_agreement, draft_agreement
from domain.stages_review import (
    MAX_NEEDS_PER_CASE,
    check_close,
    check_complete_task,
    check_reassign,
    check_record_review,
    check_transfer,
    close,
    complete_task,
    reassign,
    record_review,
    transfer,
)
from tests.samples import (
    CLOCKS,
    NOW,
    active,
    assessment,
    document,
    draft,
    in_stage,
    intake,
    ok,
    opened,
    routing,
)

SIGNATURE = Signature(party=Party.CLIENT, document_hash=document().hash)

# Every counsellor action with the stages it is allowed in, checked as the validator does.
ACTIONS: dict[str, tuple[set[Stage], Callable[[CaseState], Rejection | None]]] = {
    "complete_intake": ({Stage.INTAKE}, lambda s: check_complete_intake(s, intake(), NOW)),
    "complete_assessment": (
        {Stage.ASSESSMENT},
        lambda s: check_complete_assessment(s, assessment(), NOW),
    ),
    "draft_agreement": (
        {Stage.DRAFTING, Stage.ACTIVE},
        lambda s: check_draft_agreement(s, AgreementDraft(goals=draft().goals), NOW),
    ),
    "request_signature": (
        {Stage.DRAFTING, Stage.ACTIVE},
        lambda s: check_request_signature(s, NOW),
    ),
    "sign": ({Stage.AWAITING_SIGNATURE}, lambda s: check_sign(s, SIGNATURE, NOW)),
    "record_review": ({Stage.ACTIVE}, lambda s: check_record_review(s, Review(), NOW, CLOCKS)),
    "close": (
        set(Stage) - {Stage.CLOSED},
        lambda s: check_close(s, Closure(reason="moved_away"), NOW),
    ),
    "reassign": (
        set(Stage) - {Stage.CLOSED},
        lambda s: check_reassign(s, Reassignment(counsellor_id="berater2"), NOW),
    ),
    "transfer": (
        set(Stage) - {Stage.CLOSED},
        lambda s: check_transfer(s, Transfer(centre_id="mbe-nord"), NOW),
    ),
    "complete_task": (
        set(Stage) - {Stage.CLOSED},
        lambda s: check_complete_task(s, TaskDone(task_id="t999"), NOW),
    ),
}

WRONG = [
    (action, stage)
    for action, (allowed, _) in ACTIONS.items()
    for stage in Stage
    if stage not in allowed
]


@pytest.mark.parametrize(("action", "stage"), WRONG)
def test_every_action_in_every_wrong_stage_is_rejected_naming_the_stage(
    action: str, stage: Stage
) -> None:
    rejection = ACTIONS[action][1](in_stage(stage))
    assert isinstance(rejection, WrongStage), rejection
    assert rejection.stage is stage
    assert rejection.message.startswith(f"Im Stadium „{STAGE_LABELS[stage]}“")
    assert "nicht möglich" in rejection.message


def test_happy_path_to_an_active_agreement() -> None:
    state = in_stage(Stage.ACTIVE)
    assert state.stage is Stage.ACTIVE
    assert state.profile is not None and state.profile.german_level == "A2"
    assert [route.id for route in state.routes] == ["r1", "r2", "r3"]
    assert state.ruleset_version == "test-1"
    # Only proposals taken into a measure are dispatched (r3 is not), numbered from 1.
    assert [(r.id, r.route_id, r.partner_id) for r in state.referrals] == [
        ("case-1-ref-1", "r1", "sprachkurs"),
        ("case-1-ref-2", "r2", "jobcenter"),
    ]
    assert state.next_review_due == add_months_at(NOW, 3)
    assert state.document is not None and state.document.version == 1
    assert sorted(f.due_at - NOW for f in state.follow_ups) == [timedelta(42), timedelta(56)]
    sequences = [event.sequence for event in state.events]
    assert sequences == list(range(1, len(sequences) + 1))
    assert state.events[-1].kind == "agreement_activated"


def test_events_carry_no_personal_data() -> None:
    state = ok(
        record_review(
            active(),
            Review(
                goal_progress=[
                    {"goal_id": "g4", "status": "in_progress", "note": "Kurs läuft gut"}
                ],
                survey={"agreement_helped": True},
            ),
            None,
            NOW + timedelta(days=90),
            CLOCKS,
        )
    )
    dumped = json.dumps([event.model_dump(mode="json") for event in state.events])
    for secret in ("Amina", "Karimi", "1990", "Deutsch lernen", "Kurs läuft gut", "Bauingenieurin"):
        assert secret not in dumped


def test_intake_with_an_expired_permit_is_invalid_and_names_the_field() -> None:
    rejection = complete_intake(opened(), intake(expires_on=date(2025, 1, 1)), NOW, CLOCKS)
    assert isinstance(rejection, Invalid)
    assert rejection.field == "residence"
    assert "abgelaufen" in rejection.message


def test_signature_with_a_stale_hash_is_rejected() -> None:
    state = in_stage(Stage.AWAITING_SIGNATURE)
    stale = Signature(party=Party.CLIENT, document_hash=document("alte Fassung").hash)
    rejection = sign(state, stale, NOW, CLOCKS)
    assert isinstance(rejection, Invalid) and rejection.field == "document_hash"
    assert "Version 1" in rejection.message


def test_the_same_party_cannot_sign_one_version_twice() -> None:
    state = ok(sign(in_stage(Stage.AWAITING_SIGNATURE), SIGNATURE, NOW, CLOCKS))
    rejection = sign(state, SIGNATURE, NOW, CLOCKS)
    assert isinstance(rejection, Invalid) and rejection.field == "party"
    assert state.stage is Stage.AWAITING_SIGNATURE


def test_overriding_a_proposed_partner_needs_a_reason() -> None:
    state = in_stage(Stage.DRAFTING)
    measure = DraftMeasure(
        text="Kurs", responsible=Responsible.PARTNER, route_id="r1", partner_id="sprachkurs-2"
    )
    rejection = draft_agreement(state, AgreementDraft(goals=draft().goals, measures=[measure]), NOW)
    assert isinstance(rejection, Invalid)
    assert rejection.field == "measures.0.override_reason"
    with_reason = measure.model_copy(update={"override_reason": "Kurs am Vormittag"})
    state = ok(
        draft_agreement(state, AgreementDraft(goals=draft().goals, measures=[with_reason]), NOW)
    )
    assert state.measures[0].partner_id == "sprachkurs-2"
    assert state.measures[0].override_reason == "Kurs am Vormittag"


def test_a_partner_measure_needs_a_partner_and_an_existing_proposal() -> None:
    state = in_stage(Stage.DRAFTING)
    no_partner = draft(route_ids=("r3",))
    rejection = draft_agreement(state, no_partner, NOW)
    assert isinstance(rejection, Invalid) and rejection.field == "measures.0.partner_id"
    assert "Anerkennungsberatung" in rejection.message
    unknown = draft(route_ids=("r9",))
    rejection = draft_agreement(state, unknown, NOW)
    assert isinstance(rejection, Invalid) and rejection.field == "measures.0.route_id"
    twice = draft(route_ids=("r1", "r1"))
    rejection = draft_agreement(state, twice, NOW)
    assert isinstance(rejection, Invalid) and rejection.field == "measures.1.route_id"


def test_request_signature_needs_a_draft_or_an_amendment() -> None:
    state = in_stage(Stage.DRAFTING)
    rejection = request_signature(state, document(), NOW)
    assert isinstance(rejection, Invalid) and rejection.field == "agreement"
    ok(request_signature(ok(draft_agreement(state, draft(), NOW)), document(), NOW))
    unchanged = check_request_signature(active(), NOW)
    assert isinstance(unchanged, Invalid) and unchanged.field == "agreement"


def test_permit_expiry_task_eight_weeks_before_expiry() -> None:
    state = ok(complete_intake(opened(), intake(expires_on=date(2025, 6, 1)), NOW, CLOCKS))
    warn_at = state.permit_warning_at
    assert warn_at is not None and warn_at.date() == date(2025, 4, 5)  # 22:00 UTC = midnight CEST
    assert next_deadline(state, CLOCKS) == warn_at
    assert on_clock(state, warn_at - timedelta(seconds=1), CLOCKS) == state
    fired = on_clock(state, warn_at, CLOCKS)
    [task] = fired.open_tasks()
    assert task.kind is TaskKind.PERMIT_EXPIRY and task.role is TaskRole.COUNSELLOR
    assert task.due_at == start_of_german_day(date(2025, 6, 1))  # the expiry is the deadline
    assert "2025" not in task.title  # titles go into events: no dates of the profile
    assert on_clock(fired, warn_at + timedelta(days=1), CLOCKS) == fired  # fires once


def test_review_overdue_after_14_days_clears_on_record() -> None:
    state = active()
    due = state.next_review_due
    assert due is not None
    state = on_clock(state, due, CLOCKS)
    review_tasks = {TaskKind.REVIEW_DUE, TaskKind.REVIEW_OVERDUE}
    assert [t.kind for t in state.open_tasks() if t.kind in review_tasks] == [TaskKind.REVIEW_DUE]
    assert not state.review_overdue
    assert next_deadline(state, CLOCKS) == due + timedelta(days=14)
    state = on_clock(state, due + timedelta(days=14), CLOCKS)
    assert state.review_overdue
    overdue = [t for t in state.open_tasks() if t.kind is TaskKind.REVIEW_OVERDUE]
    assert [t.role for t in overdue] == [TaskRole.SUPERVISOR]
    later = due + timedelta(days=20)
    state = ok(record_review(state, Review(survey={"agreement_helped": True}), None, later, CLOCKS))
    assert not state.review_overdue
    assert not [t for t in state.open_tasks() if t.kind in review_tasks]
    assert state.next_review_due == add_months_at(later, 6)
    assert state.reviews[-1].due_at == due


def test_next_review_on_is_at_most_six_months_ahead_and_in_the_future() -> None:
    state = active()
    too_late = Review(next_review_on=add_months(NOW.date(), 6) + timedelta(days=1))
    rejection = record_review(state, too_late, None, NOW, CLOCKS)
    assert isinstance(rejection, Invalid) and rejection.field == "next_review_on"
    past = Review(next_review_on=NOW.date())
    assert isinstance(record_review(state, past, None, NOW, CLOCKS), Invalid)
    sooner = Review(next_review_on=date(2025, 5, 1))
    state = ok(record_review(state, sooner, None, NOW, CLOCKS))
    assert state.next_review_due is not None and state.next_review_due.date() == date(2025, 4, 30)


def test_review_with_an_unknown_goal_is_invalid() -> None:
    review = Review(goal_progress=[{"goal_id": "g99", "status": "achieved"}])
    rejection = record_review(active(), review, None, NOW, CLOCKS)
    assert isinstance(rejection, Invalid) and rejection.field == "goal_progress.0.goal_id"


def test_a_case_holds_at_most_60_needs_so_its_state_stays_bounded() -> None:
    # A case whose reviews brought 42 needs on top of the assessment's three.
    state = active()
    state = state.model_copy(update={"needs": state.needs + [Need(kind=NeedKind.OTHER)] * 42})
    room = MAX_NEEDS_PER_CASE - len(state.needs)
    one_too_many = Review(new_needs=[Need(kind=NeedKind.OTHER)] * (room + 1))
    rejection = check_record_review(state, one_too_many, NOW, CLOCKS)
    assert isinstance(rejection, Invalid) and rejection.field == "new_needs"
    assert f"höchstens {MAX_NEEDS_PER_CASE} Bedarfe" in rejection.message
    assert f"es passen noch {room} dazu" in rejection.message
    fits = Review(new_needs=[Need(kind=NeedKind.OTHER)] * room)
    assert check_record_review(state, fits, NOW, CLOCKS) is None


def test_new_needs_in_a_review_are_routed_and_dispatched_only_after_re_signing() -> None:
    new_needs = [assessment().needs[2]]  # credential, now with a partner
    routed = routing(new_needs)
    routed.routes[0].partner_id = "anerkennung"
    state = ok(record_review(active(), Review(new_needs=new_needs), routed, NOW, CLOCKS))
    due = state.next_review_due
    [new_route] = state.routes[3:]
    assert new_route.need_index == 3 and new_route.partner_id == "anerkennung"
    assert state.stage is Stage.ACTIVE and len(state.referrals) == 2

    amended = draft(route_ids=("r1", "r2", new_route.id))
    amended.goals[0].id = "g4"  # keeps the language goal
    state = ok(draft_agreement(state, amended, NOW))
    assert state.amendment_pending and state.goals[0].id == "g4"
    state = ok(request_signature(state, document("Vereinbarung v2"), NOW))
    assert state.stage is Stage.AWAITING_SIGNATURE and state.document.version == 2  # type: ignore[union-attr]
    old = Signature(party=Party.CLIENT, document_hash=document().hash)
    assert isinstance(sign(state, old, NOW, CLOCKS), Invalid)
    for party in Party:
        signature = Signature(party=party, document_hash=document("Vereinbarung v2").hash)
        state = ok(sign(state, signature, NOW, CLOCKS))
    assert state.stage is Stage.ACTIVE
    assert [r.route_id for r in state.referrals] == ["r1", "r2", new_route.id]
    assert state.referrals[-1].id == "case-1-ref-3"
    assert state.next_review_due == due  # an amendment does not move the review


def test_close_from_every_open_stage_finishes_tasks_and_stops_clocks() -> None:
    for stage in set(Stage) - {Stage.CLOSED}:
        state = on_clock(in_stage(stage), NOW + timedelta(days=400), CLOCKS)
        state = ok(close(state, Closure(reason=ClosureReason.MOVED_AWAY), NOW))
        assert state.stage is Stage.CLOSED and state.closure is not None
        assert state.open_tasks() == []
        assert next_deadline(state, CLOCKS) is None
        assert not state.review_overdue


def test_reassign_and_transfer() -> None:
    state = active()
    same = reassign(state, Reassignment(counsellor_id="berater1"), NOW)
    assert isinstance(same, Invalid)
    state = ok(transfer(state, Transfer(centre_id="jmd-musterstadt", centre_kind="JMD"), NOW))
    assert state.centre_id == "jmd-musterstadt" and state.centre_kind is CentreKind.JMD
    assert state.counsellor_id is None
    [task] = state.open_tasks()
    assert task.kind is TaskKind.CASE_UNASSIGNED and task.role is TaskRole.SUPERVISOR
    state = ok(reassign(state, Reassignment(counsellor_id="berater3"), NOW))
    assert state.counsellor_id == "berater3" and state.open_tasks() == []


def test_the_coordination_assigns_only_a_case_waiting_for_a_counsellor() -> None:
    state = active()
    waiting = Reassignment(counsellor_id="berater3", centre_id="jmd-musterstadt")
    refused = reassign(state, waiting, NOW, coordination=True)
    assert isinstance(refused, WrongStage) and "nach einer Abgabe" in refused.message
    state = ok(transfer(state, Transfer(centre_id="jmd-musterstadt", centre_kind="JMD"), NOW))
    [task] = state.open_tasks()
    # Chosen for a centre that no longer holds the case: refused on the counsellor.
    elsewhere = Reassignment(counsellor_id="berater2", centre_id="mbe-nord")
    moved = check_reassign(state, elsewhere, NOW, coordination=True)
    assert isinstance(moved, Invalid) and moved.field == "counsellor_id"
    assigned = ok(reassign(state, waiting, NOW + timedelta(minutes=1), coordination=True))
    assert assigned.counsellor_id == "berater3" and assigned.open_tasks() == []
    done = [e for e in assigned.events if e.kind == "task_done"]
    assert [e.data["task_id"] for e in done] == [task.id]
    # Once it has one, the coordination has nothing more to assign.
    again = Reassignment(counsellor_id="berater4", centre_id="jmd-musterstadt")
    assert isinstance(check_reassign(assigned, again, NOW, coordination=True), WrongStage)
    # The counsellor of the centre may still hand it on, with or without naming the centre.
    assert check_reassign(assigned, again, NOW) is None
    assert check_reassign(assigned, Reassignment(counsellor_id="berater4"), NOW) is None


def test_complete_task() -> None:
    state = on_clock(active(), NOW + timedelta(days=42), CLOCKS)
    [task] = state.open_tasks()
    assert task.kind is TaskKind.FOLLOW_UP and task.referral_id == "case-1-ref-1"
    state = ok(complete_task(state, TaskDone(task_id=task.id), NOW))
    assert state.open_tasks() == []
    assert isinstance(complete_task(state, TaskDone(task_id=task.id), NOW), Invalid)


def test_actions_do_not_change_their_input() -> None:
    state = in_stage(Stage.DRAFTING)
    before = state.model_dump()
    ok(draft_agreement(state, draft(), NOW))
    assert state.model_dump() == before


def test_state_survives_serialisation_for_continue_as_new() -> None:
    state = on_clock(active(), NOW + timedelta(days=100), CLOCKS)
    again = CaseState.model_validate_json(state.model_dump_json())
    assert again == state


def test_remembered_update_ids_are_bounded() -> None:
    state = opened()
    for number in range(KEEP_UPDATE_IDS + 5):
        state = remember_update(state, f"u{number}", action_result(state))
    assert len(state.recent_updates) == KEEP_UPDATE_IDS
    assert "u0" not in state.recent_updates and f"u{KEEP_UPDATE_IDS + 4}" in state.recent_updates


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2025, 11, 15), 3, date(2026, 2, 15)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
    ],
)
def test_calendar_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_months_keep_the_german_wall_clock_across_daylight_saving() -> None:
    # 10:00 in Germany in winter (09:00 UTC) is 10:00 in summer (08:00 UTC).
    assert add_months_at(NOW, 3).hour == 8


def test_a_case_closes_as_a_duplicate_only_while_in_intake() -> None:
    duplicate = Closure(reason=ClosureReason.DUPLICATE, note="zweimal angelegt")
    closed = ok(close(opened(), duplicate, NOW))
    assert closed.stage is Stage.CLOSED and closed.closure is not None
    assert closed.closure.reason == "duplicate"
    assert closed.events[-1].data == {"reason": "duplicate"}
    for stage in (Stage.ASSESSMENT, Stage.DRAFTING, Stage.AWAITING_SIGNATURE, Stage.ACTIVE):
        refused = check_close(in_stage(stage), duplicate, NOW)
        assert isinstance(refused, WrongStage) and refused.stage is stage
        assert "Als doppelt angelegt abschließen geht nur im Stadium „Aufnahme“" in refused.message
        # Any other reason still closes it.
        assert check_close(in_stage(stage), Closure(reason=ClosureReason.NO_CONTACT), NOW) is None
    # A closed case is refused as for every closure.
    refused = check_close(closed, duplicate, NOW)
    assert isinstance(refused, WrongStage) and "Den Fall abschließen" in refused.message
