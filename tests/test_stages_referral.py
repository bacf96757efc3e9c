"""What referral reports do to a case: outcomes, reminders, escalations, re-routing."""

from datetime import timedelta

from domain.case import Responsible, TaskKind, TaskRole
from domain.referral import Outcome, OutcomeResult, ReferralReport, ReferralStatus, ReportKind
from domain.rejections import Invalid
from domain.stages_draft import draft_agreement
from domain.stages_referral import (
    mark_started,
    on_referral_report,
    referral_input,
    referrals_to_reroute,
    referrals_to_start,
    reroute,
)
from tests.case_samples import CLOCKS, NOW, active, draft, ok

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
    state = reroute(state, "case-1-ref-1", "sprachkurs-2", None, LATER)
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
    state = reroute(state, "case-1-ref-1", None, "Alle passenden Partner haben abgelehnt.", LATER)
    [task] = state.open_tasks()
    assert task.kind is TaskKind.REFERRAL_UNASSIGNED and task.referral_id == "case-1-ref-1"
    assert "Alle passenden Partner" in task.title
    assert len(state.referrals) == 2 and referrals_to_reroute(state) == []


def test_a_partner_that_already_had_the_referral_is_never_chosen_again() -> None:
    state = on_referral_report(active(), report(ReportKind.DECLINED), LATER)
    state = reroute(state, "case-1-ref-1", "sprachkurs", None, LATER)
    assert len(state.referrals) == 2
    assert state.open_tasks()[0].kind is TaskKind.REFERRAL_UNASSIGNED


def test_reports_of_unknown_referrals_change_nothing() -> None:
    state = active()
    assert on_referral_report(state, report(ReportKind.COMPLETED, "case-1-ref-9"), LATER) == state


def test_an_amendment_keeps_the_partner_a_re_route_chose() -> None:
    state = on_referral_report(active(), report(ReportKind.DECLINED), LATER)
    state = reroute(state, "case-1-ref-1", "sprachkurs-2", None, LATER)
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
    assert "r1" in rejection.message
