"""Ticking off the client's or the centre's own measure (domain/stages_measures.py), pure."""

from datetime import timedelta

import pytest

from domain.actions import OwnMeasureCompletion
from domain.case import CaseEventKind, PendingFollowUp, Responsible, Stage
from domain.events import OwnMeasureCompleted, event_payload
from domain.months import german_day
from domain.rejections import Invalid, NotYours, WrongStage
from domain.stages_measures import (
    ALREADY_DONE,
    IN_FUTURE,
    PARTNERS_OWN,
    check_complete_own_measure,
    complete_own_measure,
)
from tests.samples import NOW, active, in_stage, ok

LATER = NOW + timedelta(days=10)


def test_the_clients_measure_is_done_on_its_day_with_an_event() -> None:
    state = active()
    own = next(m for m in state.measures if m.responsible is Responsible.CLIENT)
    day = german_day(LATER) - timedelta(days=2)
    new = ok(
        complete_own_measure(state, OwnMeasureCompletion(measure_id=own.id, done_on=day), LATER)
    )
    done = next(m for m in new.measures if m.id == own.id)
    assert done.done and done.done_at is not None and german_day(done.done_at) == day
    assert not next(m for m in state.measures if m.id == own.id).done  # the old state stays
    event = new.events[-1]
    assert event.kind is CaseEventKind.OWN_MEASURE_COMPLETED and event.at == LATER
    assert event_payload(event) == OwnMeasureCompleted(
        measure_id=own.id, responsible=Responsible.CLIENT, done_on=day
    )
    # No referral and no evaluation figure changes: only the measure and the history.
    assert new.referrals == state.referrals


def test_a_centre_measure_can_be_ticked_off_too() -> None:
    state = active()
    own = next(m for m in state.measures if m.responsible is Responsible.CLIENT)
    own.responsible = Responsible.COUNSELLOR
    completion = OwnMeasureCompletion(measure_id=own.id, done_on=german_day(LATER))
    assert check_complete_own_measure(state, completion, LATER) is None


@pytest.mark.parametrize(
    ("days", "message"),
    [(1, IN_FUTURE), (-30, "vor dem Beginn der Vereinbarung")],
)
def test_a_day_in_the_future_or_before_the_agreement_is_refused_naming_the_field(
    days: int, message: str
) -> None:
    state = active()
    own = next(m for m in state.measures if m.responsible is Responsible.CLIENT)
    day = german_day(LATER) + timedelta(days=days)
    refused = complete_own_measure(
        state, OwnMeasureCompletion(measure_id=own.id, done_on=day), LATER
    )
    assert isinstance(refused, Invalid) and refused.field == "done_on"
    assert message in refused.message


def test_a_partners_measure_a_done_one_and_an_unknown_id_are_refused() -> None:
    state = active()
    partner = next(m for m in state.measures if m.responsible is Responsible.PARTNER)
    today = german_day(LATER)
    refused = check_complete_own_measure(
        state, OwnMeasureCompletion(measure_id=partner.id, done_on=today), LATER
    )
    assert refused == Invalid("measure_id", PARTNERS_OWN)
    own = next(m for m in state.measures if m.responsible is Responsible.CLIENT)
    completion = OwnMeasureCompletion(measure_id=own.id, done_on=today)
    done = ok(complete_own_measure(state, completion, LATER))
    assert check_complete_own_measure(done, completion, LATER) == Invalid(
        "measure_id", ALREADY_DONE
    )
    unknown = OwnMeasureCompletion(measure_id="m999", done_on=today)
    assert isinstance(check_complete_own_measure(state, unknown, LATER), NotYours)


def test_only_an_agreement_in_force_has_measures_to_tick_off() -> None:
    state = in_stage(Stage.AWAITING_SIGNATURE)
    own = next(m for m in state.measures if m.responsible is Responsible.CLIENT)
    completion = OwnMeasureCompletion(measure_id=own.id, done_on=german_day(NOW))
    refused = check_complete_own_measure(state, completion, NOW)
    assert isinstance(refused, WrongStage) and "Eine eigene Maßnahme abhaken" in refused.message


@pytest.mark.parametrize("stop", [True, False])
def test_a_ticked_off_measure_drops_its_proposal_s_follow_ups_behind_the_patch(stop: bool) -> None:
    state = active()
    own = next(m for m in state.measures if m.responsible is Responsible.CLIENT)
    own.route_id = "r9"  # the client carries out a proposal herself
    state.follow_ups = [
        PendingFollowUp(id="f1", route_id="r9", action="Anmeldung prüfen", due_at=LATER),
        PendingFollowUp(id="f2", route_id="r9", referral_id="x-ref-1", action="a", due_at=LATER),
        PendingFollowUp(id="f3", route_id="r1", action="b", due_at=LATER),
    ]
    completion = OwnMeasureCompletion(measure_id=own.id, done_on=german_day(LATER))
    new = ok(complete_own_measure(state, completion, LATER, stop_follow_ups=stop))
    # A referral's follow-up and another proposal's stay; without the patch (a run checked
    # off before it) all stay, as that run recorded.
    left = ["f2", "f3"] if stop else ["f1", "f2", "f3"]
    assert [f.id for f in new.follow_ups] == left


def test_follow_ups_stay_while_another_own_measure_carries_the_proposal() -> None:
    state = active()
    own = next(m for m in state.measures if m.responsible is Responsible.CLIENT)
    own.route_id = "r9"
    twin = own.model_copy(update={"id": "m99", "responsible": Responsible.COUNSELLOR})
    state.measures.append(twin)
    state.follow_ups = [PendingFollowUp(id="f1", route_id="r9", action="a", due_at=LATER)]
    completion = OwnMeasureCompletion(measure_id=own.id, done_on=german_day(LATER))
    new = ok(complete_own_measure(state, completion, LATER, stop_follow_ups=True))
    assert [f.id for f in new.follow_ups] == ["f1"]
