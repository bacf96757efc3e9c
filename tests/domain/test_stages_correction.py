"""The way back, as pure stage functions (no Temporal): correcting a completed intake (with
its routing recomputed before signature, an amendment due after it) and withdrawing a
document presented for signing while nobody has signed it."""

from datetime import date, timedelta

import pytest

from domain.actions import Signature
from domain.case import CaseEventKind, CaseState, Party, Stage, TaskKind
from domain.enums import ActorKind, NeedKind
from domain.events import IntakeCorrected, RoutesRecomputed, event_payload
from domain.months import start_of_german_day
from domain.needs import Route, RoutingResult
from domain.profile import IntakeData
from domain.rejections import Invalid, WrongStage
from domain.stages import check_sign, request_signature, sign
from domain.stages_correction import (
    UNCHANGED,
    WITHDRAW_FIRST,
    check_correct_intake,
    check_withdraw_signature_request,
    correct_intake,
    intake_changes,
    reroutes_on_correction,
    withdraw_signature_request,
)
from domain.stages_draft import draft_agreement
from tests.samples import (
    CLOCKS,
    NOW,
    document,
    draft,
    in_stage,
    intake,
    ok,
    routing,
)

CORRECTED = intake(birth_date="1991-01-01")


def born_later(state: CaseState) -> IntakeData:
    """The case's profile with the birth date corrected, nothing else."""
    assert state.profile is not None
    return state.profile.model_copy(update={"birth_date": date(1991, 1, 1)})


def _events(state: CaseState, kind: CaseEventKind) -> list[object]:
    return [event_payload(e) for e in state.events if e.kind is kind]


def _without_jobcenter() -> RoutingResult:
    """The rules after the correction: employment now goes to the employment agency (another
    actor kind), language and credential as before."""
    routes = [r for r in routing().routes if r.need is not NeedKind.EMPLOYMENT]
    agency = Route(
        need=NeedKind.EMPLOYMENT,
        need_index=1,
        actor=ActorKind.EMPLOYMENT_AGENCY,
        measure="placement",
        partner_id="arbeitsagentur",
        rule="emp-sgb3",
        reason="Kein Bürgergeld (SGB III).",
    )
    return RoutingResult(ruleset_version="test-2", routes=[*routes, agency])


# -- what a correction records ----------------------------------------------------------------


def test_intake_changes_name_each_field_with_old_and_new_value_as_json() -> None:
    new = intake(expires_on=date(2031, 1, 31), birth_date="1991-01-01", languages=["ar"])
    assert intake_changes(intake(), new) == [
        ("birth_date", '"1990-05-17"', '"1991-01-01"'),
        ("languages", '["ar","en"]', '["ar"]'),
        ("residence.expires_on", '"2030-03-01"', '"2031-01-31"'),
    ]


@pytest.mark.parametrize("stage", [Stage.ASSESSMENT, Stage.DRAFTING, Stage.ACTIVE])
def test_a_correction_is_allowed_after_the_intake_until_the_case_closes(stage: Stage) -> None:
    assert check_correct_intake(in_stage(stage), CORRECTED, NOW) is None


@pytest.mark.parametrize("stage", [Stage.INTAKE, Stage.CLOSED])
def test_a_correction_before_the_intake_or_after_closing_is_refused(stage: Stage) -> None:
    rejection = check_correct_intake(in_stage(stage), CORRECTED, NOW)
    assert isinstance(rejection, WrongStage) and rejection.stage is stage


def test_a_correction_while_a_document_awaits_signatures_asks_to_withdraw_it_first() -> None:
    rejection = check_correct_intake(in_stage(Stage.AWAITING_SIGNATURE), CORRECTED, NOW)
    assert rejection == WrongStage(stage=Stage.AWAITING_SIGNATURE, message=WITHDRAW_FIRST)


def test_a_correction_that_changes_nothing_is_refused() -> None:
    state = in_stage(Stage.DRAFTING)
    assert state.profile is not None
    rejection = correct_intake(state, state.profile, None, NOW, CLOCKS)
    assert rejection == Invalid("intake", UNCHANGED)


def test_a_birth_date_corrected_into_the_future_is_refused_naming_the_field() -> None:
    future = intake(birth_date=(NOW + timedelta(days=400)).date().isoformat())
    rejection = check_correct_intake(in_stage(Stage.ACTIVE), future, NOW)
    assert isinstance(rejection, Invalid) and rejection.field == "birth_date"
    assert "Zukunft" in rejection.message


def test_in_assessment_the_profile_is_replaced_and_each_change_recorded() -> None:
    state = in_stage(Stage.ASSESSMENT)
    assert not reroutes_on_correction(state)
    new = ok(correct_intake(state, born_later(state), None, NOW, CLOCKS))
    assert new.stage is Stage.ASSESSMENT
    assert new.profile == born_later(state)
    assert _events(new, CaseEventKind.INTAKE_CORRECTED) == [
        IntakeCorrected(field="birth_date", old='"1990-05-17"', new='"1991-01-01"')
    ]
    assert state.profile is not None and state.profile.birth_date == date(1990, 5, 17)


def test_a_corrected_permit_expiry_moves_the_warning() -> None:
    state = in_stage(Stage.DRAFTING)
    later = date(2031, 6, 30)
    new = ok(correct_intake(state, intake(expires_on=later), routing(), NOW, CLOCKS))
    assert state.profile is not None and state.profile.residence.expires_on is not None
    assert state.permit_warning_at == (
        start_of_german_day(state.profile.residence.expires_on) - CLOCKS.permit_warning_before
    )
    assert new.permit_warning_at == start_of_german_day(later) - CLOCKS.permit_warning_before
    gone = ok(correct_intake(state, intake(expires_on=None), routing(), NOW, CLOCKS))
    assert gone.permit_warning_at is None


# -- routing before and after signature -------------------------------------------------------


def test_before_signature_routes_are_recomputed_and_measures_without_a_route_dropped() -> None:
    state = in_stage(Stage.DRAFTING)
    state = ok(draft_agreement(state, draft(), NOW))
    assert reroutes_on_correction(state)
    jobcenter_measure = next(m for m in state.measures if m.route_id == "r2")
    new = ok(correct_intake(state, CORRECTED, _without_jobcenter(), NOW, CLOCKS))
    assert new.stage is Stage.DRAFTING
    by_measure = {r.measure: r for r in new.routes}
    assert set(by_measure) == {"integration_course", "placement", "recognition_counselling"}
    assert by_measure["integration_course"].id == "r1"  # the same proposal keeps its id
    assert by_measure["placement"].actor is ActorKind.EMPLOYMENT_AGENCY
    assert by_measure["placement"].id not in {"r1", "r2", "r3"}
    assert jobcenter_measure.id not in {m.id for m in new.measures}
    assert "r2" not in {m.route_id for m in new.measures}
    assert new.ruleset_version == "test-2"
    (recomputed,) = _events(new, CaseEventKind.ROUTES_RECOMPUTED)
    assert recomputed == RoutesRecomputed(
        ruleset_version="test-2",
        added=by_measure["placement"].id,
        removed="r2",
        removed_measures="placement",
        dropped_measures=jobcenter_measure.id,
        amendment_due=False,
    )
    assert not any(t.kind is TaskKind.AMENDMENT_DUE for t in new.tasks)


def test_before_signature_a_measure_follows_its_proposals_new_partner() -> None:
    state = ok(draft_agreement(in_stage(Stage.DRAFTING), draft(), NOW))
    moved = routing()
    moved.routes[0] = moved.routes[0].model_copy(update={"partner_id": "sprachkurs-2"})
    new = ok(correct_intake(state, CORRECTED, moved, NOW, CLOCKS))
    measure = next(m for m in new.measures if m.route_id == "r1")
    assert measure.partner_id == "sprachkurs-2"
    (recomputed,) = _events(new, CaseEventKind.ROUTES_RECOMPUTED)
    assert isinstance(recomputed, RoutesRecomputed)
    assert (recomputed.added, recomputed.removed, recomputed.dropped_measures) == ("", "", "")


def test_after_signature_the_signed_agreement_stays_and_an_amendment_is_due() -> None:
    state = in_stage(Stage.ACTIVE)
    new = ok(correct_intake(state, CORRECTED, _without_jobcenter(), NOW, CLOCKS))
    assert new.stage is Stage.ACTIVE
    assert new.measures == state.measures and new.referrals == state.referrals
    assert new.documents == state.documents
    # The old proposals stay (running measures carry them); the new one waits beside them.
    assert [r.id for r in new.routes][:3] == ["r1", "r2", "r3"]
    assert len(new.routes) == 4 and new.routes[3].actor is ActorKind.EMPLOYMENT_AGENCY
    (recomputed,) = _events(new, CaseEventKind.ROUTES_RECOMPUTED)
    assert isinstance(recomputed, RoutesRecomputed)
    assert recomputed.amendment_due and recomputed.removed == "r2"
    (task,) = [t for t in new.open_tasks() if t.kind is TaskKind.AMENDMENT_DUE]
    # A second correction does not add a second task while the first is open.
    again = ok(
        correct_intake(new, intake(birth_date="1992-02-02"), _without_jobcenter(), NOW, CLOCKS)
    )
    assert [t.id for t in again.open_tasks() if t.kind is TaskKind.AMENDMENT_DUE] == [task.id]


def test_after_signature_a_correction_that_keeps_the_routing_needs_no_amendment() -> None:
    state = in_stage(Stage.ACTIVE)
    new = ok(correct_intake(state, CORRECTED, routing(), NOW, CLOCKS))
    (recomputed,) = _events(new, CaseEventKind.ROUTES_RECOMPUTED)
    assert isinstance(recomputed, RoutesRecomputed) and not recomputed.amendment_due
    assert new.routes == state.routes
    assert not any(t.kind is TaskKind.AMENDMENT_DUE for t in new.tasks)


# -- withdrawing a signature request ----------------------------------------------------------


def test_a_presented_document_nobody_signed_is_withdrawn_back_to_drafting() -> None:
    state = in_stage(Stage.AWAITING_SIGNATURE)
    presented = state.documents[-1]
    new = ok(withdraw_signature_request(state, NOW))
    assert new.stage is Stage.DRAFTING
    assert new.documents[-1].version == presented.version
    assert new.documents[-1].withdrawn_at == NOW
    (event,) = [e for e in new.events if e.kind is CaseEventKind.SIGNATURE_REQUEST_WITHDRAWN]
    assert event.data == {"version": presented.version, "hash": presented.hash}
    # A new request renders the next version; the withdrawn hash is refused.
    again = ok(request_signature(new, document("Vereinbarung v2"), NOW))
    assert again.documents[-1].version == presented.version + 1
    stale = check_sign(again, Signature(party=Party.CLIENT, document_hash=presented.hash), NOW)
    assert isinstance(stale, Invalid) and stale.field == "document_hash"
    assert "zurückgezogen" in stale.message
    fresh = Signature(party=Party.CLIENT, document_hash=again.documents[-1].hash)
    assert check_sign(again, fresh, NOW) is None


def test_once_a_party_signed_the_request_cannot_be_withdrawn() -> None:
    state = in_stage(Stage.AWAITING_SIGNATURE)
    current = state.documents[-1]
    signed = ok(sign(state, Signature(party=Party.CLIENT, document_hash=current.hash), NOW, CLOCKS))
    rejection = check_withdraw_signature_request(signed, NOW)
    assert isinstance(rejection, Invalid) and "bereits unterschrieben" in rejection.message


@pytest.mark.parametrize("stage", [s for s in Stage if s is not Stage.AWAITING_SIGNATURE])
def test_withdrawing_outside_awaiting_signature_is_refused(stage: Stage) -> None:
    rejection = check_withdraw_signature_request(in_stage(stage), NOW)
    assert isinstance(rejection, WrongStage) and rejection.stage is stage


def test_an_amendment_withdrawn_goes_back_to_the_agreement_in_force() -> None:
    state = in_stage(Stage.ACTIVE)
    amended = ok(draft_agreement(state, draft(), NOW))
    presented = ok(request_signature(amended, document("Vereinbarung v2"), NOW))
    assert presented.stage is Stage.AWAITING_SIGNATURE
    back = ok(withdraw_signature_request(presented, NOW))
    assert back.stage is Stage.ACTIVE and back.amendment_pending
    assert back.referrals == presented.referrals
    # The amendment can be presented again as a new version.
    again = ok(request_signature(back, document("Vereinbarung v3"), NOW))
    assert again.documents[-1].version == presented.documents[-1].version + 1


def test_after_signature_losing_a_proposal_the_agreement_left_out_needs_no_amendment() -> None:
    state = in_stage(Stage.ACTIVE)
    assert "r3" not in {m.route_id for m in state.measures}
    without_credential = routing()
    without_credential.routes = [
        r for r in without_credential.routes if r.need is not NeedKind.CREDENTIAL
    ]
    new = ok(correct_intake(state, born_later(state), without_credential, NOW, CLOCKS))
    assert [r.id for r in new.routes] == ["r1", "r2"]  # r3 carried by nothing: gone
    (recomputed,) = _events(new, CaseEventKind.ROUTES_RECOMPUTED)
    assert isinstance(recomputed, RoutesRecomputed)
    assert recomputed.removed == "r3" and not recomputed.amendment_due
    assert not any(t.kind is TaskKind.AMENDMENT_DUE for t in new.tasks)


def test_a_proposal_the_rules_make_twice_gets_a_second_id() -> None:
    state = in_stage(Stage.DRAFTING)
    twice = routing()
    twice.routes = [twice.routes[0], *twice.routes]
    new = ok(correct_intake(state, born_later(state), twice, NOW, CLOCKS))
    ids = [r.id for r in new.routes]
    assert len(ids) == len(set(ids)) == 4 and ids[0] == "r1"


def test_the_amendment_a_correction_made_due_takes_the_new_proposal_and_ends_the_task() -> None:
    state = ok(correct_intake(in_stage(Stage.ACTIVE), CORRECTED, _without_jobcenter(), NOW, CLOCKS))
    agency = next(r for r in state.routes if r.actor is ActorKind.EMPLOYMENT_AGENCY)
    # The open referrals' measures stay; the new proposal becomes a measure of the amendment.
    amended = ok(draft_agreement(state, draft(("r1", "r2", agency.id)), NOW))
    assert amended.amendment_pending
    presented = ok(request_signature(amended, document("Vereinbarung v2"), NOW))
    current = presented.documents[-1].hash
    signed = presented
    for party in Party:
        signed = ok(sign(signed, Signature(party=party, document_hash=current), NOW, CLOCKS))
    assert signed.stage is Stage.ACTIVE
    assert [(r.route_id, r.partner_id) for r in signed.referrals][-1] == (
        agency.id,
        "arbeitsagentur",
    )
    assert not any(t.kind is TaskKind.AMENDMENT_DUE for t in signed.open_tasks())
