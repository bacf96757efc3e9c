"""The referral's own stage machine, which ReferralWorkflow asks on every update and clock:
one pure function per partner action and per clock, `(state, [payload], now, actor) ->
ReferralState | rejection`. (domain/stages_referral.py is the other side: what a case does
with its referrals and their reports.)

    dispatched --acknowledge--> acknowledged --complete--> completed
    dispatched or acknowledged --decline--> declined
    acknowledged --report_progress--> acknowledged (one more note)
    dispatched --remind, then escalate (once each)--> dispatched --expire--> expired

Each partner action has a `check_*` twin for the update's validator: the actor is the
referral's agency (domain/actor.py), the referral is in a status that allows the action, a
note fits under the cap. A repeated update id passes the check (the handler answers it with
the state, `is_repeat`); the action remembers its update id among the last
`KEEP_UPDATE_IDS`, because Temporal dedupes update ids only within one run.

A refusal is typed as the API reads it: `WrongStatus` (409), `Invalid` of type
`InvalidReferralInput` (422, naming the field), `NotYours` (404, like a missing referral).

The clocks: the workflow's timer decides *when* (`next_clock` names the deadline it sleeps
until), `on_clock` decides *whether*: only while unanswered, each clock once.

The functions never change their input; they return a copy (or the state itself when there
is nothing to do). No I/O, no clock of their own.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum, auto

from domain.actor import Actor, referral_access
from domain.projection import ReferralNote
from domain.referral import (
    STATUS_LABELS,
    DeclineReason,
    Outcome,
    ProgressEntry,
    ProgressNote,
    ReferralInput,
    ReferralState,
    ReferralStatus,
    ReportKind,
    referral_deadlines,
)
from domain.rejections import Invalid, NotYours

# ApplicationError types the API maps (api/gateway.py): wrong status -> 409, bad input -> 422.
WRONG_STATUS = "WrongStatus"
INVALID_INPUT = "InvalidReferralInput"

# Update ids remembered across continue-as-new: Temporal dedupes them only within one run.
KEEP_UPDATE_IDS = 100
# The state keeps the last few notes; the read model keeps them all (`referral_notes`).
KEEP_PROGRESS_NOTES = 5
# Beyond this a referral takes no more notes (422): each costs an update and a row, and a
# partner reporting this much should complete the referral or call the centre.
MAX_PROGRESS_NOTES = 2000


@dataclass(frozen=True)
class WrongStatus:
    """The action is not possible in the referral's current status (HTTP 409)."""

    status: ReferralStatus
    message: str
    type: str = WRONG_STATUS


ReferralRejection = WrongStatus | Invalid | NotYours


class PartnerAction(StrEnum):
    """A partner's update (the values, from `auto()`, are the workflow's update names)."""

    ACKNOWLEDGE = auto()
    DECLINE = auto()
    REPORT_PROGRESS = auto()
    COMPLETE = auto()


# What each action is called in a refusal, and the statuses it is possible in.
ACTION_LABELS: dict[PartnerAction, str] = {
    PartnerAction.ACKNOWLEDGE: "annehmen",
    PartnerAction.DECLINE: "ablehnen",
    PartnerAction.REPORT_PROGRESS: "einen Zwischenstand melden",
    PartnerAction.COMPLETE: "abschließen",
}
ALLOWED: dict[PartnerAction, tuple[ReferralStatus, ...]] = {
    PartnerAction.ACKNOWLEDGE: (ReferralStatus.DISPATCHED,),
    PartnerAction.DECLINE: (ReferralStatus.DISPATCHED, ReferralStatus.ACKNOWLEDGED),
    PartnerAction.REPORT_PROGRESS: (ReferralStatus.ACKNOWLEDGED,),
    PartnerAction.COMPLETE: (ReferralStatus.ACKNOWLEDGED,),
}


class ReferralClock(StrEnum):
    """The clocks of an unanswered referral, in the order they fire (the values name the
    workflow's timers in its history)."""

    REMIND = "remind"
    ESCALATE = "escalate"
    EXPIRE = "expire"


# What the case hears when a clock fires.
CLOCK_REPORTS: dict[ReferralClock, ReportKind] = {
    ReferralClock.REMIND: ReportKind.REMINDER,
    ReferralClock.ESCALATE: ReportKind.ESCALATED,
    ReferralClock.EXPIRE: ReportKind.EXPIRED,
}


@dataclass(frozen=True)
class NumberedNote:
    """A progress note with the referral's next number: the record the read model archives,
    and the entry the state keeps once the archive has it. Both are built before the note
    leaves the workflow, so a note that cannot be built is refused with nothing archived."""

    record: ReferralNote
    entry: ProgressEntry

    @property
    def number(self) -> int:
        return self.record.number


# -- opening ---------------------------------------------------------------------------------


def open_referral(input: ReferralInput) -> ReferralState | Invalid:
    """A new referral with its three deadlines fixed once, from `dispatched_at` (a new run
    after continue-as-new keeps them); `Invalid` naming the Land when it has no calendar."""
    try:
        # The case computed them at dispatch; an input from older code did not.
        deadlines = input.deadlines or referral_deadlines(
            input.dispatched_at, input.land, input.clocks
        )
    except ValueError as err:
        return Invalid(field="land", message=str(err), type=INVALID_INPUT)
    return ReferralState(
        referral_id=input.referral_id,
        case_id=input.case_id,
        route_id=input.route_id,
        partner_id=input.partner_id,
        dispatched_at=input.dispatched_at,
        remind_at=deadlines.acknowledge_by,
        escalate_at=deadlines.escalate_at,
        expire_at=deadlines.expires_at,
    )


# -- the rules every partner action shares ---------------------------------------------------


def is_repeat(state: ReferralState, update_id: str | None) -> bool:
    """Whether this update id was handled already, in this run or an earlier one."""
    return update_id is not None and update_id in state.recent_update_ids


def require(
    state: ReferralState, action: PartnerAction, actor: Actor | None
) -> WrongStatus | NotYours | None:
    """The actor is the referral's agency (or unknown: not checked, domain/actor.py) and the
    referral is in a status that allows `action`; the refusal otherwise."""
    if refused := referral_access(state, actor):
        return refused
    allowed = ALLOWED[action]
    status = state.status
    if status in allowed:
        return None
    wanted = " oder ".join(f"„{STATUS_LABELS[s]}“" for s in allowed)
    return WrongStatus(
        status=status,
        message=(
            f"Die Vermittlung ist im Status „{STATUS_LABELS[status]}“; "
            f"{ACTION_LABELS[action]} ist nur im Status {wanted} möglich."
        ),
    )


def check(
    state: ReferralState, action: PartnerAction, actor: Actor | None, update_id: str | None
) -> WrongStatus | NotYours | None:
    """A validator's view: a repeat passes (its handler answers it), anything else must pass
    `require`."""
    if is_repeat(state, update_id):
        return None
    return require(state, action, actor)


def refuse_beyond_note_cap(state: ReferralState) -> Invalid | None:
    if state.note_count() < MAX_PROGRESS_NOTES:
        return None
    count = f"{MAX_PROGRESS_NOTES:,}".replace(",", ".")  # German digit grouping
    return Invalid(
        field="note",
        message=(
            f"Diese Vermittlung hat bereits {count} Zwischenstände; weitere nimmt Lotse "
            "nicht an. Bitte die Vermittlung abschließen oder die Beratungsstelle anrufen."
        ),
        type=INVALID_INPUT,
    )


def remember_update(state: ReferralState, update_id: str | None) -> None:
    """Add `update_id` to a copy's memory, forgetting the oldest beyond `KEEP_UPDATE_IDS`.
    (Changes `state`: call it on the action's own copy only.)"""
    if update_id is not None:
        state.recent_update_ids.append(update_id)
        del state.recent_update_ids[:-KEEP_UPDATE_IDS]


def _closed(state: ReferralState, status: ReferralStatus, now: datetime) -> None:
    state.status = status
    state.closed_at = now


# -- partner actions -------------------------------------------------------------------------


def check_acknowledge(
    state: ReferralState, *, actor: Actor | None, update_id: str | None = None
) -> ReferralRejection | None:
    return check(state, PartnerAction.ACKNOWLEDGE, actor, update_id)


def acknowledge(
    state: ReferralState, now: datetime, *, actor: Actor | None, update_id: str | None = None
) -> ReferralState | ReferralRejection:
    """The partner takes the referral on: its clocks stop."""
    if refused := require(state, PartnerAction.ACKNOWLEDGE, actor):
        return refused
    new = state.model_copy(deep=True)
    new.status = ReferralStatus.ACKNOWLEDGED
    new.acknowledged_at = now
    remember_update(new, update_id)
    return new


def check_decline(
    state: ReferralState,
    reason: DeclineReason,
    *,
    actor: Actor | None,
    update_id: str | None = None,
) -> ReferralRejection | None:
    return check(state, PartnerAction.DECLINE, actor, update_id)


def decline(
    state: ReferralState,
    reason: DeclineReason,
    now: datetime,
    *,
    actor: Actor | None,
    update_id: str | None = None,
) -> ReferralState | ReferralRejection:
    """The partner cannot help, before or after acknowledging: the referral closes (the case
    hands the measure to the next partner)."""
    if refused := require(state, PartnerAction.DECLINE, actor):
        return refused
    new = state.model_copy(deep=True)
    new.decline_reason = reason.reason
    _closed(new, ReferralStatus.DECLINED, now)
    remember_update(new, update_id)
    return new


def check_report_progress(
    state: ReferralState,
    note: ProgressNote,
    *,
    actor: Actor | None,
    update_id: str | None = None,
) -> ReferralRejection | None:
    """Status and actor as for every action, and no note beyond `MAX_PROGRESS_NOTES`."""
    if is_repeat(state, update_id):
        return None
    return require(state, PartnerAction.REPORT_PROGRESS, actor) or refuse_beyond_note_cap(state)


def add_note(
    state: ReferralState,
    note: ProgressNote,
    now: datetime,
    *,
    actor: Actor | None,
    update_id: str | None = None,
) -> ReferralState | ReferralRejection:
    """A progress note the state keeps, every one of them: a run from before the patch
    `referral-notes-archived` (which knew no cap, so none is checked here)."""
    if refused := require(state, PartnerAction.REPORT_PROGRESS, actor):
        return refused
    new = state.model_copy(deep=True)
    new.progress.append(ProgressEntry(at=now, note=note.note))
    remember_update(new, update_id)
    return new


def number_note(
    state: ReferralState, note: ProgressNote, now: datetime, *, actor: Actor | None
) -> NumberedNote | ReferralRejection:
    """The archived path, step one: the note numbered and as the read model archives it (the
    state is not changed until the archive has it: `keep_note`)."""
    if refused := require(state, PartnerAction.REPORT_PROGRESS, actor):
        return refused
    if refused_note := refuse_beyond_note_cap(state):
        return refused_note
    entry = ProgressEntry(at=now, note=note.note)
    record = ReferralNote(
        referral_id=state.referral_id,
        case_id=state.case_id,
        partner_id=state.partner_id,
        number=state.note_count() + 1,
        at=entry.at,
        note=entry.note,
    )
    return NumberedNote(record=record, entry=entry)


def keep_note(
    state: ReferralState, numbered: NumberedNote, *, update_id: str | None = None
) -> ReferralState:
    """Step two, once the read model has archived the note: count it and keep it among the
    last `KEEP_PROGRESS_NOTES`. No check: the note is archived, so the referral counts it
    whatever happened while the archive answered."""
    new = state.model_copy(deep=True)
    new.progress_count = numbered.number
    new.progress.append(numbered.entry)
    del new.progress[:-KEEP_PROGRESS_NOTES]
    remember_update(new, update_id)
    return new


def check_complete(
    state: ReferralState, outcome: Outcome, *, actor: Actor | None, update_id: str | None = None
) -> ReferralRejection | None:
    return check(state, PartnerAction.COMPLETE, actor, update_id)


def complete(
    state: ReferralState,
    outcome: Outcome,
    now: datetime,
    *,
    actor: Actor | None,
    update_id: str | None = None,
) -> ReferralState | ReferralRejection:
    """The partner reports the outcome: the referral closes."""
    if refused := require(state, PartnerAction.COMPLETE, actor):
        return refused
    new = state.model_copy(deep=True)
    new.outcome = outcome
    _closed(new, ReferralStatus.COMPLETED, now)
    remember_update(new, update_id)
    return new


# -- clocks ----------------------------------------------------------------------------------


def next_clock(state: ReferralState) -> tuple[ReferralClock, datetime] | None:
    """The clock an unanswered referral waits for next and its deadline; None once the
    partner has answered or the referral is closed."""
    if state.status is not ReferralStatus.DISPATCHED:
        return None
    if state.reminded_at is None:
        return ReferralClock.REMIND, state.remind_at
    if state.escalated_at is None:
        return ReferralClock.ESCALATE, state.escalate_at
    return ReferralClock.EXPIRE, state.expire_at


def on_clock(state: ReferralState, clock: ReferralClock, now: datetime) -> ReferralState:
    """`clock` fired at `now`: remember the reminder or escalation, or let the referral
    expire. Only the clock that is next (`next_clock`: while the partner has not answered,
    each clock once and in order); for any other the state itself, unchanged."""
    due = next_clock(state)
    if due is None or due[0] is not clock:
        return state
    new = state.model_copy(deep=True)
    if clock is ReferralClock.REMIND:
        new.reminded_at = now
    elif clock is ReferralClock.ESCALATE:
        new.escalated_at = now
    else:
        _closed(new, ReferralStatus.EXPIRED, now)
    return new
