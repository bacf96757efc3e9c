"""What referral reports do to a case: outcomes, reminders, escalations, re-routing."""

from datetime import UTC, datetime, timedelta

from domain.actions import ReferralReroute, ReferralSetAside, ReferralWithdrawal
from domain.case import CaseEventKind, CaseState, Responsible, SetAside, TaskKind, TaskRole
from domain.clocks import Clocks
from domain.compaction import after_projection
from domain.events import ReferralDispatched
from domain.referral import (
    Outcome,
    OutcomeResult,
    ReferralReport,
    ReferralStatus,
    ReportKind,
    deadlines_of_earlier_code,
    referral_deadlines,
)
from domain.rejections import Invalid, WrongStage
from domain.stages_draft import draft_agreement
from domain.stages_referral import (
    dispatch_measure,
    mark_started,
    on_referral_report,
    referral_input,
    referrals_to_reroute,
    referrals_to_start,
    reroute,
)
from domain.stages_withdrawal import reroute_referral, set_aside_referral, withdraw_referral
from domain.workdays import DEFAULT_LAND
from tests.samples import CLOCKS, NOW, active, draft, ok

LATER = NOW + timedelta(days=3)


def report(kind: ReportKind, referral: str = "case-1-ref-1", **extra: object) -> ReferralReport:
    partner = "sprachkurs" if referral.endswith("-1") else "jobcenter"
    return ReferralReport.model_validate(
        {
            "referral_id": referral,
            "route_id": "r1",
            "partner_id": partner,
            "kind": kind,
            "at": LATER,
            **extra,
        }
    )


def test_dispatched_referrals_wait_for_their_child_to_start() -> None:
    state = active()
    assert [r.id for r in referrals_to_start(state)] == ["case-1-ref-1", "case-1-ref-2"]
    state = mark_started(state, "case-1-ref-1")
    assert [r.id for r in referrals_to_start(state)] == ["case-1-ref-2"]
    child = referral_input(state, state.referrals[0], CLOCKS)
    assert child.case_id == "case-1" and child.route.measure == "integration_course"
    assert child.partner_id == "sprachkurs" and child.dispatched_at == NOW


def test_completion_records_the_outcome_against_the_measure_once() -> None:
    outcome = Outcome(result=OutcomeResult.ACHIEVED, note="B1 bestanden")
    state = on_referral_report(active(), report(ReportKind.ACKNOWLEDGED), LATER)
    state = on_referral_report(state, report(ReportKind.COMPLETED, outcome=outcome), LATER)
    referral = state.referrals[0]
    assert referral.status is ReferralStatus.COMPLETED
    [measure] = [m for m in state.measures if m.id == referral.measure_id]
    assert measure.done and measure.outcome == outcome
    # Its pending follow-ups went with it; the Jobcenter's stay.
    assert [f.referral_id for f in state.follow_ups] == ["case-1-ref-2"]
    assert on_referral_report(state, report(ReportKind.COMPLETED, outcome=outcome), LATER) == state


def test_reminder_and_escalation_become_tasks_once_and_close_on_acknowledgement() -> None:
    state = on_referral_report(active(), report(ReportKind.REMINDER), LATER)
    state = on_referral_report(state, report(ReportKind.REMINDER), LATER)
    state = on_referral_report(state, report(ReportKind.ESCALATED), LATER)
    assert [(t.kind, t.role) for t in state.open_tasks()] == [
        (TaskKind.REFERRAL_REMINDER, TaskRole.COUNSELLOR),
        (TaskKind.REFERRAL_ESCALATION, TaskRole.SUPERVISOR),
    ]
    state = on_referral_report(state, report(ReportKind.ACKNOWLEDGED), LATER)
    assert state.open_tasks() == []
    assert state.referrals[0].status is ReferralStatus.ACKNOWLEDGED


def test_a_decline_reroutes_to_another_partner_of_the_same_kind_with_a_new_number() -> None:
    state = on_referral_report(active(), report(ReportKind.DECLINED, note="voll"), LATER)
    assert [r.id for r in referrals_to_reroute(state)] == ["case-1-ref-1"]
    assert state.follow_ups[0].referral_id == "case-1-ref-2"
    state = reroute(state, "case-1-ref-1", "sprachkurs-2", None, LATER, CLOCKS)
    new = state.referrals[-1]
    assert new.id == "case-1-ref-3" and new.partner_id == "sprachkurs-2"
    assert new.tried_partner_ids == ["sprachkurs", "sprachkurs-2"]
    assert new.route_id == "r1" and not new.started
    assert referrals_to_reroute(state) == []
    assert [m.partner_id for m in state.measures if m.route_id == "r1"] == ["sprachkurs-2"]
    # The rule's follow-ups count again from the new dispatch.
    assert any(
        f.referral_id == new.id and f.due_at == LATER + timedelta(42) for f in state.follow_ups
    )
    assert state.events[-1].data["previous_referral_id"] == "case-1-ref-1"


def test_when_no_partner_is_left_the_counsellor_gets_a_task() -> None:
    state = on_referral_report(active(), report(ReportKind.EXPIRED), LATER)
    state = reroute(
        state, "case-1-ref-1", None, "Alle passenden Partner haben abgelehnt.", LATER, CLOCKS
    )
    [task] = state.open_tasks()
    assert task.kind is TaskKind.REFERRAL_UNASSIGNED and task.referral_id == "case-1-ref-1"
    assert "Alle passenden Partner" in task.title
    assert len(state.referrals) == 2 and referrals_to_reroute(state) == []


def test_a_partner_that_already_had_the_referral_is_never_chosen_again() -> None:
    state = on_referral_report(active(), report(ReportKind.DECLINED), LATER)
    state = reroute(state, "case-1-ref-1", "sprachkurs", None, LATER, CLOCKS)
    assert len(state.referrals) == 2
    assert state.open_tasks()[0].kind is TaskKind.REFERRAL_UNASSIGNED


def test_reports_of_unknown_referrals_change_nothing() -> None:
    state = active()
    assert on_referral_report(state, report(ReportKind.COMPLETED, "case-1-ref-9"), LATER) == state


def test_an_amendment_keeps_the_partner_a_re_route_chose() -> None:
    state = on_referral_report(active(), report(ReportKind.DECLINED), LATER)
    state = reroute(state, "case-1-ref-1", "sprachkurs-2", None, LATER, CLOCKS)
    before = {m.route_id: m for m in state.measures}
    state = ok(draft_agreement(state, draft(), LATER))  # the same proposals, reworded or not
    after = {m.route_id: m for m in state.measures}
    assert after["r1"].partner_id == "sprachkurs-2" and after["r1"].id == before["r1"].id
    assert after["r1"].activated_at is not None and state.amendment_pending


def test_a_running_measure_keeps_its_partner_and_its_responsibility() -> None:
    state = active()
    other_partner = draft()
    other_partner.measures[0].partner_id = "sprachkurs-2"
    other_partner.measures[0].override_reason = "näher"
    rejection = draft_agreement(state, other_partner, LATER)
    assert isinstance(rejection, Invalid) and rejection.field == "measures.0.partner_id"
    by_client = draft()
    by_client.measures[0].responsible = Responsible.CLIENT
    rejection = draft_agreement(state, by_client, LATER)
    assert isinstance(rejection, Invalid) and rejection.field == "measures.0.responsible"
    dropped = draft(route_ids=("r2",))
    rejection = draft_agreement(state, dropped, LATER)
    assert isinstance(rejection, Invalid) and rejection.field == "measures"
    # The proposal by its need in German, not its id (r1).
    assert "„Sprache“" in rejection.message and "r1" not in rejection.message


def test_a_referral_gets_its_deadlines_once_at_dispatch_and_carries_them() -> None:
    """Computed by the case from the dispatch instant and the case's Land; the referral's input
    and the dispatch event carry the same three instants, so the referral runs on them and the
    read model shows them (no page recomputes them)."""
    state = active()
    for referral in state.referrals:
        expected = referral_deadlines(referral.dispatched_at, state.land, CLOCKS)
        assert referral.deadlines == expected
        assert referral_input(state, referral, CLOCKS).deadlines == expected
        [event] = [
            e
            for e in state.events
            if e.kind is CaseEventKind.REFERRAL_DISPATCHED and e.data["referral_id"] == referral.id
        ]
        dispatched = ReferralDispatched.model_validate(event.data)
        assert (dispatched.acknowledge_by, dispatched.escalate_at, dispatched.expires_at) == (
            expected.acknowledge_by,
            expected.escalate_at,
            expected.expires_at,
        )
        # Five working days are never fewer than five days.
        assert expected.acknowledge_by - referral.dispatched_at >= timedelta(days=5)


def test_deadlines_of_earlier_code_are_the_default_clocks_in_the_lands_working_days() -> None:
    """What the pages computed for a referral whose case did not carry deadlines yet (migration
    0004 and the projector give such rows these): the default clocks, the Land's working days,
    and the default Land's for an unknown Land or one without a calendar."""
    at = datetime(2025, 1, 3, 9, 0, tzinfo=UTC)  # the Friday before Epiphany
    assert deadlines_of_earlier_code(at, "BY") == referral_deadlines(at, "BY", Clocks())
    default = referral_deadlines(at, DEFAULT_LAND, Clocks())
    assert deadlines_of_earlier_code(at, None) == default
    assert deadlines_of_earlier_code(at, "XX") == default
    assert deadlines_of_earlier_code(at, "BY") != default  # Epiphany is Bavarian


def test_a_land_without_calendar_dispatches_without_deadlines() -> None:
    state = active().model_copy(update={"land": "XX"})
    state = state.model_copy(update={"referrals": [], "next_referral_number": 9})
    measure, route = state.measures[0], state.routes[0]
    copy = state.fork()
    referral = dispatch_measure(
        copy, copy.measures[0], copy.routes[0], "sprachkurs", NOW, CLOCKS, previous=None
    )
    assert measure.id == referral.measure_id and route.id == referral.route_id
    assert referral.deadlines is None
    assert referral_input(copy, referral, CLOCKS).deadlines is None


def _timeline(state: CaseState, referral_id: str) -> list[tuple[ReferralStatus, str]]:
    return [(s.status, s.note) for s in state.referral_steps if s.referral_id == referral_id]


def test_every_partner_step_reaches_the_case_with_the_partners_words() -> None:
    state = active()
    assert _timeline(state, "case-1-ref-1") == [(ReferralStatus.DISPATCHED, "")]
    state = on_referral_report(state, report(ReportKind.ACKNOWLEDGED), LATER)
    state = on_referral_report(state, report(ReportKind.PROGRESS, note="Kurs ab Mai"), LATER)
    # Clocks are no partner steps: the timeline does not list them.
    state = on_referral_report(state, report(ReportKind.REMINDER), LATER)
    outcome = Outcome(result=OutcomeResult.PARTLY, note="A2 bestanden, B1 offen")
    state = on_referral_report(state, report(ReportKind.COMPLETED, outcome=outcome), LATER)
    assert _timeline(state, "case-1-ref-1") == [
        (ReferralStatus.DISPATCHED, ""),
        (ReferralStatus.ACKNOWLEDGED, ""),
        (ReferralStatus.ACKNOWLEDGED, "Kurs ab Mai"),
        (ReferralStatus.COMPLETED, "A2 bestanden, B1 offen"),
    ]
    # Each step names the event that recorded it, so it reaches the read model with it.
    recorded = {event.sequence for event in state.events}
    assert all(step.sequence in recorded for step in state.referral_steps)
    sequences = [step.sequence for step in state.referral_steps]
    assert sequences == sorted(sequences)
    # A repeated report adds no step.
    assert on_referral_report(state, report(ReportKind.COMPLETED, outcome=outcome), LATER) == state


def test_a_decline_gives_the_counsellor_a_task_even_when_another_partner_takes_over() -> None:
    state = on_referral_report(active(), report(ReportKind.DECLINED, note="Kurs ist voll"), LATER)
    [task] = [t for t in state.open_tasks() if t.kind is TaskKind.REFERRAL_DECLINED]
    assert task.role is TaskRole.COUNSELLOR and task.referral_id == "case-1-ref-1"
    assert task.title == (
        "Ablehnung prüfen: Sprachkursträger hat die Vermittlung „Sprache“ abgelehnt "
        "(Grund im Verlauf der Vermittlung)."
    )
    # The reason is in the timeline, not in the task (tasks and events carry no one's words).
    assert _timeline(state, "case-1-ref-1")[-1] == (ReferralStatus.DECLINED, "Kurs ist voll")
    assert "voll" not in str([event.data for event in state.events])
    state = reroute(state, "case-1-ref-1", "sprachkurs-2", None, LATER, CLOCKS)
    assert [t.kind for t in state.open_tasks()] == [TaskKind.REFERRAL_DECLINED]
    assert _timeline(state, "case-1-ref-3") == [(ReferralStatus.DISPATCHED, "")]


def test_when_no_partner_is_left_after_a_decline_one_task_remains() -> None:
    state = on_referral_report(active(), report(ReportKind.DECLINED, note="voll"), LATER)
    state = reroute(state, "case-1-ref-1", None, "Kein aktiver Partner.", LATER, CLOCKS)
    [task] = state.open_tasks()
    assert task.kind is TaskKind.REFERRAL_UNASSIGNED
    assert task.title == (
        "Kein weiterer Partner für „Sprache“: Sprachkursträger hat die Vermittlung "
        "abgelehnt. Kein aktiver Partner."
    )


def test_the_read_model_takes_the_steps_with_their_events_and_the_case_drops_them() -> None:
    state = on_referral_report(active(), report(ReportKind.DECLINED, note="voll"), LATER)
    declined = state.referral_steps[-1]
    before = after_projection(state, declined.sequence - 1)
    assert declined in before.referral_steps
    after = after_projection(state, state.last_sequence)
    assert after.referral_steps == []


def test_a_measure_without_partner_rests_or_goes_to_the_coordination() -> None:
    state = on_referral_report(active(), report(ReportKind.DECLINED, note="voll"), LATER)
    state = reroute(state, "case-1-ref-1", None, "Kein aktiver Partner.", LATER, CLOCKS)
    # An open referral cannot be set aside: it is withdrawn or handed on instead.
    open_one = ReferralSetAside(referral_id="case-1-ref-2", how=SetAside.REST, reason="x")
    assert isinstance(set_aside_referral(state, open_one, LATER), WrongStage)

    report_it = ReferralSetAside(
        referral_id="case-1-ref-1", how=SetAside.COORDINATION, reason="Kein Kita-Platz U3"
    )
    reported = ok(set_aside_referral(state, report_it, LATER))
    # The counsellor's task ends; the coordination gets one (kinds, no one's words).
    assert [t.kind for t in reported.open_tasks()] == [TaskKind.REFERRAL_REPORTED]
    [task] = reported.open_tasks()
    assert task.role is TaskRole.SUPERVISOR and "Kita" not in task.title
    [measure] = [m for m in reported.measures if m.route_id == "r1"]
    assert measure.set_aside is SetAside.COORDINATION
    step = reported.referral_steps[-1]
    assert (step.referral_id, step.note) == (
        "case-1-ref-1",
        "An Koordination gemeldet: Kein Kita-Platz U3",
    )
    # Twice the same way: 422 naming `how`; letting it rest after reporting is fine.
    again = set_aside_referral(reported, report_it, LATER)
    assert isinstance(again, Invalid) and again.field == "how"
    rest = ReferralSetAside(referral_id="case-1-ref-1", how=SetAside.REST, reason="später")
    resting = ok(set_aside_referral(reported, rest, LATER))
    assert [m.set_aside for m in resting.measures if m.route_id == "r1"] == [SetAside.REST]
    # Handing it on later ends the waiting.
    handed = ok(
        reroute_referral(
            resting,
            ReferralReroute(referral_id="case-1-ref-1", partner_id="sprachkurs-3", reason="frei"),
            "sprachkurs-3",
            LATER,
            CLOCKS,
        )
    )
    assert [m.set_aside for m in handed.measures if m.route_id == "r1"] == [None]


def test_a_withdrawn_consent_is_recorded_and_the_measure_is_not_handed_on_again() -> None:
    state = active()
    change = ReferralWithdrawal(
        referral_id="case-1-ref-1", reason="möchte keinen Kurs mehr", consent_withdrawn=True
    )
    withdrawn = ok(withdraw_referral(state, change, LATER))
    [measure] = [m for m in withdrawn.measures if m.route_id == "r1"]
    assert measure.set_aside is SetAside.CONSENT_WITHDRAWN
    kinds = [e.kind for e in withdrawn.events if e.sequence > state.last_sequence]
    assert CaseEventKind.REFERRAL_WITHDRAWN in kinds and CaseEventKind.MEASURE_SET_ASIDE in kinds
    assert withdrawn.referral_steps[-1].note == "Einwilligung widerrufen: möchte keinen Kurs mehr"
    refused = reroute_referral(
        withdrawn,
        ReferralReroute(referral_id="case-1-ref-1", reason="doch"),
        None,
        LATER,
        CLOCKS,
    )
    assert isinstance(refused, Invalid) and "Einwilligung" in refused.message
    rest = ReferralSetAside(referral_id="case-1-ref-1", how=SetAside.REST, reason="x")
    assert isinstance(set_aside_referral(withdrawn, rest, LATER), Invalid)
