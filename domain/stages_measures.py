"""Ticking off a measure the client or the centre carries out itself, with the day it was done.

A partner's measure ends with the partner's report (domain/stages_referral.py); the client's
and the centre's own measures have no one to report them, so the counsellor records them: only
in an agreement in force, only a measure that is not a partner's, not done already, and not
before the agreement came into force nor after today. The follow-ups the rules scheduled for
the measure stay (the counsellor ends them as tasks): a check-off changes no clock.

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
    state: CaseState, completion: OwnMeasureCompletion, now: datetime
) -> CaseState | Rejection:
    if refused := check_complete_own_measure(state, completion, now):
        return refused
    new = state.fork()
    measure = _measure(new, completion.measure_id)
    assert measure is not None  # checked above, on the same state
    measure.done = True
    measure.done_at = start_of_german_day(completion.done_on)
    record(
        new,
        OwnMeasureCompleted(
            measure_id=measure.id, responsible=measure.responsible, done_on=completion.done_on
        ),
        now,
    )
    return new
