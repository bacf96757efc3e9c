"""The referral's stage machine (domain/referral_stages.py) without Temporal: every partner
action in every status, repeats by update id, the note cap, who may answer, and the clocks.
Plain pytest: these are the rules ReferralWorkflow asks on every update."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.gateway import CONFLICT_TYPES, INVALID_TYPES, NOT_YOURS
from domain.actor import Actor, ActorRole
from domain.clocks import Clocks
from domain.enums import ActorKind, NeedKind
from domain.needs import Route
from domain.projection import ReferralNote
from domain.referral import (
    CLOSED,
    STATUS_LABELS,
    DeclineReason,
    Outcome,
    OutcomeResult,
    ProgressEntry,
    ProgressNote,
    ReferralInput,
    ReferralState,
    ReferralStatus,
)
from domain.referral_stages import (
    INVALID_INPUT,
    KEEP_PROGRESS_NOTES,
    KEEP_UPDATE_IDS,
    MAX_PROGRESS_NOTES,
    WRONG_STATUS,
    NumberedNote,
    ReferralClock,
    ReferralRejection,
    WrongStatus,
    acknowledge,
    add_note,
    check_acknowledge,
    check_complete,
    check_decline,
    check_report_progress,
    complete,
    decline,
    is_repeat,
    keep_note,
    next_clock,
    number_note,
    on_clock,
    open_referral,
)
from domain.rejections import Invalid, NotYours

# Monday 3 March 2025, 09:00 in Germany: five working days later is Monday 10 March.
DISPATCHED_AT = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
LATER = DISPATCHED_AT + timedelta(days=2)
PARTNER = Actor(user_id="kursleitung", role=ActorRole.PARTNER, partner_id="sprachkurs")
OTHER_PARTNER = Actor(user_id="jc", role=ActorRole.PARTNER, partner_id="jobcenter")
COUNSELLOR = Actor(user_id="berater", role=ActorRole.COUNSELLOR, centre_id="mbe-musterstadt")
OUTCOME = Outcome(result=OutcomeResult.ACHIEVED, note="B1 bestanden")
REASON = DeclineReason(reason="Keine Kursplätze bis März")
NOTE = ProgressNote(note="Einstufungstest am Montag")


def referral_input(land: str = "NW") -> ReferralInput:
    return ReferralInput(
        referral_id="case-1-ref-1",
        case_id="case-1",
        route_id="r1",
        route=Route(
            need=NeedKind.LANGUAGE,
            actor=ActorKind.LANGUAGE_COURSE_PROVIDER,
            measure="integration_course",
            partner_id="sprachkurs",
            rule="lang-1",
            reason="Deutschkenntnisse unter B1",
        ),
        partner_id="sprachkurs",
        land=land,
        dispatched_at=DISPATCHED_AT,
        clocks=Clocks(),
    )


def ok(result: object) -> ReferralState:
    assert isinstance(result, ReferralState), result
    return result


def dispatched() -> ReferralState:
    return ok(open_referral(referral_input()))


def in_status(status: ReferralStatus) -> ReferralState:
    """A referral that got to `status` the way a partner or its clock takes it there."""
    state = dispatched()
    if status is ReferralStatus.DISPATCHED:
        return state
    if status is ReferralStatus.EXPIRED:
        for clock in ReferralClock:
            state = on_clock(state, clock, state.expire_at)
        return state
    if status is ReferralStatus.DECLINED:
        return ok(decline(state, REASON, LATER, actor=PARTNER))
    if status is ReferralStatus.WITHDRAWN:
        # Only the read model says so (the case cancelled the workflow); a state that says it
        # must refuse every action all the same.
        return state.model_copy(update={"status": ReferralStatus.WITHDRAWN})
    state = ok(acknowledge(state, LATER, actor=PARTNER))
    if status is ReferralStatus.COMPLETED:
        state = ok(complete(state, OUTCOME, LATER, actor=PARTNER))
    return state


# -- every action in every status ------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    label: str  # how the refusal names it
    allowed: frozenset[ReferralStatus]
    check: Callable[[ReferralState, Actor | None, str | None], ReferralRejection | None]
    act: Callable[[ReferralState, Actor | None, str | None], ReferralState | ReferralRejection]


def _numbered_then_kept(
    state: ReferralState, actor: Actor | None, update_id: str | None
) -> ReferralState | ReferralRejection:
    numbered = number_note(state, NOTE, LATER, actor=actor)
    if not isinstance(numbered, NumberedNote):
        return numbered
    return keep_note(state, numbered, update_id=update_id)


BEFORE_THE_ARCHIVE = "report_progress (before the archive)"
ACTIONS: dict[str, Action] = {
    "acknowledge": Action(
        "annehmen",
        frozenset({ReferralStatus.DISPATCHED}),
        lambda s, a, u: check_acknowledge(s, actor=a, update_id=u),
        lambda s, a, u: acknowledge(s, LATER, actor=a, update_id=u),
    ),
    "decline": Action(
        "ablehnen",
        frozenset({ReferralStatus.DISPATCHED, ReferralStatus.ACKNOWLEDGED}),
        lambda s, a, u: check_decline(s, REASON, actor=a, update_id=u),
        lambda s, a, u: decline(s, REASON, LATER, actor=a, update_id=u),
    ),
    "report_progress": Action(
        "einen Zwischenstand melden",
        frozenset({ReferralStatus.ACKNOWLEDGED}),
        lambda s, a, u: check_report_progress(s, NOTE, actor=a, update_id=u),
        _numbered_then_kept,
    ),
    BEFORE_THE_ARCHIVE: Action(
        "einen Zwischenstand melden",
        frozenset({ReferralStatus.ACKNOWLEDGED}),
        lambda s, a, u: check_report_progress(s, NOTE, actor=a, update_id=u),
        lambda s, a, u: add_note(s, NOTE, LATER, actor=a, update_id=u),
    ),
    "complete": Action(
        "abschließen",
        frozenset({ReferralStatus.ACKNOWLEDGED}),
        lambda s, a, u: check_complete(s, OUTCOME, actor=a, update_id=u),
        lambda s, a, u: complete(s, OUTCOME, LATER, actor=a, update_id=u),
    ),
}
MATRIX = [(name, status) for name in ACTIONS for status in ReferralStatus]


def wanted(allowed: frozenset[ReferralStatus]) -> str:
    # In the order the statuses are declared, as the refusal lists them.
    return " oder ".join(f"„{STATUS_LABELS[s]}“" for s in ReferralStatus if s in allowed)


@pytest.mark.parametrize(("name", "status"), MATRIX)
@pytest.mark.parametrize("actor", [PARTNER, None], ids=["agency", "no-header"])
def test_every_action_in_every_status(
    name: str, status: ReferralStatus, actor: Actor | None
) -> None:
    action = ACTIONS[name]
    state = in_status(status)
    before = state.model_dump()
    refusal = action.check(state, actor, None)
    result = action.act(state, actor, "u1")
    assert state.model_dump() == before  # pure: the input is never changed
    if status in action.allowed:
        assert refusal is None
        assert isinstance(result, ReferralState) and result is not state
        assert result.recent_update_ids == [*before["recent_update_ids"], "u1"]
        return
    expected = WrongStatus(
        status=status,
        message=(
            f"Die Vermittlung ist im Status „{STATUS_LABELS[status]}“; "
            f"{action.label} ist nur im Status {wanted(action.allowed)} möglich."
        ),
    )
    assert refusal == expected and result == expected  # the twins agree
    assert expected.type == WRONG_STATUS


def test_the_refusals_name_the_statuses_as_the_partner_reads_them() -> None:
    refusal = check_complete(in_status(ReferralStatus.DISPATCHED), OUTCOME, actor=PARTNER)
    assert refusal is not None
    assert refusal.message == (
        "Die Vermittlung ist im Status „übermittelt“; abschließen ist nur im "
        "Status „angenommen“ möglich."
    )
    late = check_decline(in_status(ReferralStatus.COMPLETED), REASON, actor=PARTNER)
    assert late is not None
    assert late.message == (
        "Die Vermittlung ist im Status „abgeschlossen“; ablehnen ist nur im "
        "Status „übermittelt“ oder „angenommen“ möglich."
    )


def test_the_api_maps_each_refusal_type() -> None:
    """409 for a wrong status, 422 for bad input, 404 for someone else's referral."""
    assert WRONG_STATUS in CONFLICT_TYPES
    assert INVALID_INPUT in INVALID_TYPES
    assert NotYours().type == NOT_YOURS


# -- what each action changes ----------------------------------------------------------------


def test_acknowledging_stops_the_clocks() -> None:
    state = ok(acknowledge(dispatched(), LATER, actor=PARTNER))
    assert state.status is ReferralStatus.ACKNOWLEDGED and state.acknowledged_at == LATER
    assert state.closed_at is None and next_clock(state) is None


@pytest.mark.parametrize("status", [ReferralStatus.DISPATCHED, ReferralStatus.ACKNOWLEDGED])
def test_a_decline_closes_with_its_reason(status: ReferralStatus) -> None:
    state = ok(decline(in_status(status), REASON, LATER + timedelta(hours=1), actor=PARTNER))
    assert state.status is ReferralStatus.DECLINED and state.status in CLOSED
    assert state.decline_reason == REASON.reason
    assert state.closed_at == LATER + timedelta(hours=1)


def test_completion_closes_with_the_outcome() -> None:
    state = ok(complete(in_status(ReferralStatus.ACKNOWLEDGED), OUTCOME, LATER, actor=PARTNER))
    assert state.status is ReferralStatus.COMPLETED and state.outcome == OUTCOME
    assert state.closed_at == LATER


def test_archived_notes_are_numbered_and_the_state_keeps_the_last_five() -> None:
    state = in_status(ReferralStatus.ACKNOWLEDGED)
    for n in range(1, 8):
        at = LATER + timedelta(minutes=n)
        numbered = number_note(state, ProgressNote(note=f"n{n}"), at, actor=PARTNER)
        assert isinstance(numbered, NumberedNote)
        assert numbered.entry == ProgressEntry(at=at, note=f"n{n}")
        assert numbered.record == ReferralNote(
            referral_id="case-1-ref-1",
            case_id="case-1",
            partner_id="sprachkurs",
            number=n,
            at=at,
            note=f"n{n}",
        )
        assert state.progress_count == n - 1  # nothing changes before the archive has it
        state = keep_note(state, numbered, update_id=f"p{n}")
    assert state.progress_count == 7 and state.note_count() == 7
    assert [p.note for p in state.progress] == [f"n{n}" for n in range(3, 8)]
    assert len(state.progress) == KEEP_PROGRESS_NOTES


def test_a_note_archived_while_the_referral_closed_is_still_counted() -> None:
    """The archive has it (the activity answered): the referral keeps it whatever happened
    meanwhile, as the workflow always did."""
    state = in_status(ReferralStatus.ACKNOWLEDGED)
    numbered = number_note(state, NOTE, LATER, actor=PARTNER)
    assert isinstance(numbered, NumberedNote)
    closed = ok(complete(state, OUTCOME, LATER, actor=PARTNER))
    kept = keep_note(closed, numbered)
    assert kept.status is ReferralStatus.COMPLETED and kept.progress_count == 1


def test_notes_from_before_the_archive_stay_in_the_state_all_of_them() -> None:
    state = in_status(ReferralStatus.ACKNOWLEDGED)
    for n in range(8):
        state = ok(add_note(state, ProgressNote(note=f"n{n}"), LATER, actor=PARTNER))
    assert [p.note for p in state.progress] == [f"n{n}" for n in range(8)]
    assert state.progress_count == 0 and state.note_count() == 8
    # The archived path numbers on from there.
    numbered = number_note(state, NOTE, LATER, actor=PARTNER)
    assert isinstance(numbered, NumberedNote) and numbered.number == 9


# -- the note cap ----------------------------------------------------------------------------


def at_count(count: int) -> ReferralState:
    return in_status(ReferralStatus.ACKNOWLEDGED).model_copy(update={"progress_count": count})


def test_the_last_note_under_the_cap_is_taken_and_the_next_refused() -> None:
    state = at_count(MAX_PROGRESS_NOTES - 1)
    assert check_report_progress(state, NOTE, actor=PARTNER) is None
    numbered = number_note(state, NOTE, LATER, actor=PARTNER)
    assert isinstance(numbered, NumberedNote) and numbered.number == MAX_PROGRESS_NOTES
    full = keep_note(state, numbered, update_id="last")

    refusal = check_report_progress(full, NOTE, actor=PARTNER, update_id="one-more")
    assert isinstance(refusal, Invalid)
    assert (refusal.type, refusal.field) == (INVALID_INPUT, "note")
    assert refusal.message == (
        "Diese Vermittlung hat bereits 2.000 Zwischenstände; weitere nimmt Lotse nicht an. "
        "Bitte die Vermittlung abschließen oder die Beratungsstelle anrufen."
    )
    assert number_note(full, NOTE, LATER, actor=PARTNER) == refusal
    # A retry of the last note's update is answered, not refused; completing still works.
    assert check_report_progress(full, NOTE, actor=PARTNER, update_id="last") is None
    assert ok(complete(full, OUTCOME, LATER, actor=PARTNER)).status is ReferralStatus.COMPLETED


def test_the_cap_counts_notes_kept_in_the_state_from_before_the_archive() -> None:
    old = [ProgressEntry(at=LATER, note="x")] * MAX_PROGRESS_NOTES
    state = in_status(ReferralStatus.ACKNOWLEDGED).model_copy(update={"progress": old})
    assert isinstance(check_report_progress(state, NOTE, actor=PARTNER), Invalid)


def test_the_status_is_refused_before_the_cap() -> None:
    full = at_count(MAX_PROGRESS_NOTES).model_copy(update={"status": ReferralStatus.COMPLETED})
    assert isinstance(check_report_progress(full, NOTE, actor=PARTNER), WrongStatus)


def test_notes_from_before_the_archive_know_no_cap() -> None:
    """Runs recorded before the patch took notes without a cap; replaying them must too."""
    state = at_count(MAX_PROGRESS_NOTES)
    assert len(ok(add_note(state, NOTE, LATER, actor=PARTNER)).progress) == 1


# -- repeats by update id --------------------------------------------------------------------


def test_a_repeated_update_id_passes_the_check_whatever_the_status_now() -> None:
    state = ok(acknowledge(dispatched(), LATER, actor=PARTNER, update_id="ack-from-the-api"))
    assert is_repeat(state, "ack-from-the-api")
    assert not is_repeat(state, "another") and not is_repeat(state, None)
    assert check_acknowledge(state, actor=PARTNER, update_id="ack-from-the-api") is None
    assert isinstance(check_acknowledge(state, actor=PARTNER, update_id="another"), WrongStatus)
    # Even another agency's retry passes the check: the handler only answers with the state.
    assert check_acknowledge(state, actor=OTHER_PARTNER, update_id="ack-from-the-api") is None
    assert isinstance(check_acknowledge(state, actor=None), WrongStatus)  # no id: no repeat


def test_update_ids_are_remembered_up_to_the_bound_oldest_forgotten_first() -> None:
    state = in_status(ReferralStatus.ACKNOWLEDGED)
    for n in range(KEEP_UPDATE_IDS + 20):
        state = ok(add_note(state, NOTE, LATER, actor=PARTNER, update_id=f"u{n}"))
    assert len(state.recent_update_ids) == KEEP_UPDATE_IDS
    assert state.recent_update_ids[0] == "u20" and state.recent_update_ids[-1] == "u119"
    assert not is_repeat(state, "u19") and is_repeat(state, "u20")


def test_an_action_without_update_id_remembers_none() -> None:
    assert ok(acknowledge(dispatched(), LATER, actor=PARTNER)).recent_update_ids == []


# -- who may answer --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("status", list(ReferralStatus))
@pytest.mark.parametrize("actor", [OTHER_PARTNER, COUNSELLOR], ids=["other-agency", "counsellor"])
def test_only_the_referrals_agency_may_answer_in_any_status(
    name: str, status: ReferralStatus, actor: Actor
) -> None:
    """Refused as not found, before the status is told: ids and statuses cannot be probed."""
    action = ACTIONS[name]
    state = in_status(status)
    assert action.check(state, actor, None) == NotYours()
    assert action.act(state, actor, None) == NotYours()
    assert NotYours().message == "Nicht gefunden."


def test_a_partner_account_without_agency_is_refused() -> None:
    nobody = Actor(user_id="x", role=ActorRole.PARTNER)
    assert check_acknowledge(dispatched(), actor=nobody) == NotYours()


# -- clocks ----------------------------------------------------------------------------------


def test_deadlines_are_working_days_from_dispatch() -> None:
    state = dispatched()
    assert state.remind_at == DISPATCHED_AT + timedelta(days=7)  # Mon -> Mon
    assert state.escalate_at == DISPATCHED_AT + timedelta(days=14)
    assert state.expire_at == DISPATCHED_AT + timedelta(days=21)


def test_an_unknown_land_is_refused_naming_it() -> None:
    refused = open_referral(referral_input(land="XX"))
    assert isinstance(refused, Invalid)
    assert (refused.type, refused.field) == (INVALID_INPUT, "land")
    assert "kein Bundesland" in refused.message


def test_clocks_fire_in_order_each_once() -> None:
    state = dispatched()
    fired: list[ReferralClock] = []
    while (due := next_clock(state)) is not None:
        clock, deadline = due
        # A clock that is not next does nothing.
        for other in ReferralClock:
            if other is not clock:
                assert on_clock(state, other, deadline) is state
        state = on_clock(state, clock, deadline)
        fired.append(clock)
        assert on_clock(state, clock, deadline + timedelta(hours=1)) is state  # once only
    assert fired == [ReferralClock.REMIND, ReferralClock.ESCALATE, ReferralClock.EXPIRE]
    assert state.reminded_at == state.remind_at and state.escalated_at == state.escalate_at
    assert state.status is ReferralStatus.EXPIRED and state.closed_at == state.expire_at
    for clock in ReferralClock:
        assert on_clock(state, clock, state.expire_at + timedelta(days=1)) is state


def test_a_reminder_fires_once() -> None:
    reminded = on_clock(dispatched(), ReferralClock.REMIND, LATER)
    assert reminded.reminded_at == LATER
    assert on_clock(reminded, ReferralClock.REMIND, LATER + timedelta(days=1)) is reminded
    assert next_clock(reminded) == (ReferralClock.ESCALATE, reminded.escalate_at)


@pytest.mark.parametrize(
    "status", [s for s in ReferralStatus if s is not ReferralStatus.DISPATCHED]
)
def test_no_clock_once_the_partner_answered(status: ReferralStatus) -> None:
    state = in_status(status)
    assert next_clock(state) is None
    for clock in ReferralClock:
        assert on_clock(state, clock, state.expire_at) is state


def test_acknowledging_after_a_reminder_stops_the_rest() -> None:
    reminded = on_clock(dispatched(), ReferralClock.REMIND, LATER)
    state = ok(acknowledge(reminded, LATER, actor=PARTNER))
    assert state.reminded_at == LATER and next_clock(state) is None


def test_notes_from_before_the_patch_count_on_after_it() -> None:
    """A run from before the archive kept every note; continued as new it takes the patched
    path: the next note is numbered after all of them and the state keeps only the last few."""
    state = in_status(ReferralStatus.ACKNOWLEDGED)
    for _ in range(KEEP_PROGRESS_NOTES + 2):
        state = ok(add_note(state, NOTE, LATER, actor=PARTNER))
    assert len(state.progress) == KEEP_PROGRESS_NOTES + 2 and state.progress_count == 0
    state = ok(_numbered_then_kept(state, PARTNER, None))
    assert state.progress_count == KEEP_PROGRESS_NOTES + 3
    assert len(state.progress) == KEEP_PROGRESS_NOTES


# -- any sequence ----------------------------------------------------------------------------


def _clock_step(
    clock: ReferralClock,
) -> Callable[[ReferralState, Actor | None, str | None], ReferralState]:
    return lambda state, actor, update_id: on_clock(state, clock, LATER)


STEPS: dict[str, Callable[[ReferralState, Actor | None, str | None], Any]] = {
    **{name: action.act for name, action in ACTIONS.items()},
    **{f"clock {clock.value}": _clock_step(clock) for clock in ReferralClock},
}
MOVES = {
    ReferralStatus.DISPATCHED: {
        ReferralStatus.ACKNOWLEDGED,
        ReferralStatus.DECLINED,
        ReferralStatus.EXPIRED,
    },
    ReferralStatus.ACKNOWLEDGED: {ReferralStatus.COMPLETED, ReferralStatus.DECLINED},
}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(STEPS)),
            st.sampled_from([PARTNER, OTHER_PARTNER, None]),
            st.sampled_from([None, "a", "b", "c"]),
        ),
        max_size=25,
    )
)
def test_any_sequence_keeps_the_lifecycle(
    steps: list[tuple[str, Actor | None, str | None]],
) -> None:
    """Whatever partners send in whatever order: statuses move only along the lifecycle, a
    closed referral stays closed, each clock fires at most once, a refusal changes nothing,
    and an action's check refuses exactly when the action does."""
    state = dispatched()
    for name, actor, update_id in steps:
        if name == BEFORE_THE_ARCHIVE and state.progress_count > 0:
            # `workflow.patched` is one-way: once a run has numbered a note (the patched path),
            # neither it nor a run it continues as new takes the path from before the patch.
            continue
        if name in ACTIONS:
            refusal = ACTIONS[name].check(state, actor, update_id)
            if not is_repeat(state, update_id):
                result = STEPS[name](state, actor, update_id)
                assert (refusal is None) == isinstance(result, ReferralState)
            else:
                result = state  # the workflow answers a repeat with the state
        else:
            result = STEPS[name](state, actor, update_id)
        if not isinstance(result, ReferralState):
            continue
        if result.status is not state.status:
            assert result.status in MOVES.get(state.status, set())
            assert (result.closed_at is not None) == (result.status in CLOSED)
        if state.reminded_at is not None:
            assert result.reminded_at == state.reminded_at
        if state.escalated_at is not None:
            assert result.escalated_at == state.escalated_at
        assert len(result.recent_update_ids) <= KEEP_UPDATE_IDS
        assert len(result.progress) <= KEEP_PROGRESS_NOTES or result.progress_count == 0
        state = result
