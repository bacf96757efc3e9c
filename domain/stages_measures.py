"""Ticking off a measure the client or the centre carries out itself, with the day it was done.

A partner's measure ends with the partner's report (domain/stages_referral.py); the client's
and the centre's own measures have no one to report them, so the counsellor records them: only
in an agreement in force, only a measure that is not a partner's, not done already, and not
before the agreement came into force nor after today. A measure of the client's that carries
out a routing proposal (the client enrols herself) has the rule's follow-ups of that proposal
(„Nachhalten: …“ after 42 days, domain/stages.py `_activate`); once it is ticked off they are
dropped, so no reminder comes for what is done (`stop_follow_ups`, the workflow's patch
`own-measure-follow-ups`; runs from before it keep them). A follow-up task already given stays
the counsellor's to end.

`check_complete_own_measure` for the update's validator; `complete_own_measure` returns a new
state or a `Rejection`. Pure: no I/O, no clock of its own.
"""

from datetime import datetime

from domain.actions import OwnMeasureCompletion
from domain.case import CaseState, Measure, Responsible
from domain.case_log import record
from domain.events import OwnMeasureCompleted
from domain.months import german_day, start_of_german_day
from domain.rejections import Invalid, NotYours, Rejection, require_allowed
from domain.stage_table import Action

PARTNERS_OWN = (
    "Diese Maßnahme führt ein Partner durch; sie ist erledigt, wenn der Partner sie abschließt."
)
ALREADY_DONE = "Diese Maßnahme ist schon als erledigt erfasst."
IN_FUTURE = "Das Datum darf nicht in der Zukunft liegen."


def _measure(state: CaseState, measure_id: str) -> Measure | None:
    return next((m for m in state.measures if m.id == measure_id), None)


def check_complete_own_measure(
    state: CaseState, completion: OwnMeasureCompletion, now: datetime
) -> Rejection | None:
    if wrong := require_allowed(state, Action.COMPLETE_OWN_MEASURE):
        return wrong
    measure = _measure(state, completion.measure_id)
    if measure is None:
        # Like a measure of another case: nothing to learn from the id (404).
        return NotYours()
    if measure.responsible is Responsible.PARTNER:
        return Invalid("measure_id", PARTNERS_OWN)
    if measure.done:
        return Invalid("measure_id", ALREADY_DONE)
    if completion.done_on > german_day(now):
        return Invalid("done_on", IN_FUTURE)
    started = measure.activated_at or state.activated_at
    if started is not None and completion.done_on < german_day(started):
        return Invalid(
            "done_on",
            f"Das Datum darf nicht vor dem Beginn der Vereinbarung "
            f"({german_day(started):%d.%m.%Y}) liegen.",
        )
    return None


def complete_own_measure(
    state: CaseState, completion: OwnMeasureCompletion, now: datetime, stop_follow_ups: bool = False
) -> CaseState | Rejection:
    if refused := check_complete_own_measure(state, completion, now):
        return refused
    new = state.fork()
    measure = _measure(new, completion.measure_id)
    assert measure is not None  # checked above, on the same state
    measure.done = True
    measure.done_at = start_of_german_day(completion.done_on)
    if stop_follow_ups:
        _drop_follow_ups(new, measure)
    record(
        new,
        OwnMeasureCompleted(
            measure_id=measure.id, responsible=measure.responsible, done_on=completion.done_on
        ),
        now,
    )
    return new


def _drop_follow_ups(state: CaseState, done: Measure) -> None:
    """The pending follow-ups of `done`'s proposal that no referral holds, unless another own
    measure still open carries the same proposal (the follow-ups are the proposal's)."""
    if done.route_id is None:
        return
    still_open = any(
        m.route_id == done.route_id and not m.done and m.responsible is not Responsible.PARTNER
        for m in state.measures
    )
    if still_open:
        return
    state.follow_ups = [
        f for f in state.follow_ups if f.route_id != done.route_id or f.referral_id is not None
    ]
