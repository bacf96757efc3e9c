"""People changing a case's referrals: withdrawing one, handing its measure to another partner
of the same kind, or setting the measure aside. (domain/stages_referral.py is what the
referrals themselves report.)

Who may do what:
- the counsellor of the case: withdraw an open referral (wrong or obsolete; or the client
  withdrew her consent for the measure, which the case records: that measure is then never
  handed on again without a changed agreement); re-route the latest referral of a measure,
  open (it is withdrawn first), declined, expired or withdrawn (the decline task's way out:
  another partner, with a reason); or, for a latest referral that went nowhere, let the measure rest
  or report it to the coordination for want of a partner (the other ways out);
- the municipality's coordination (a supervisor): withdraw or re-route an *escalated* referral,
  one still unanswered after ten working days; nothing else of the case.

A withdrawn referral's child workflow is cancelled by the workflow after the action (as when
a case closes); the partner's inbox row keeps no personal data (store/projector.py). A
re-route stays within the partner kind the signed consent names (a partner of another kind
needs an amended agreement and new signatures), so the partner the directory offers must be of
the route's kind, which the workflow checks through the directory before it commits.

`check_*` for the update's validator; the action returns a new state or a `Rejection`. Pure.
"""

from datetime import datetime

from domain.actions import ReferralReroute, ReferralSetAside, ReferralWithdrawal
from domain.case import (
    CaseState,
    Measure,
    ReferralRecord,
    SetAside,
    StepBy,
    TaskKind,
    TaskRole,
)
from domain.case_log import add_task, finish_tasks, record
from domain.clocks import Clocks
from domain.events import MeasureSetAside, ReferralWithdrawn
from domain.referral import OPEN, STATUS_LABELS, ReferralStatus
from domain.rejections import Invalid, NotYours, Rejection, WrongStage, require_allowed
from domain.stage_table import Action
from domain.stages_referral import (
    DECLINE_TASKS,
    REFERRAL_TASKS,
    add_step,
    dispatch_measure,
    route_words,
)

# What ends with a referral taken back: its reminders, its escalation, its decline check and
# the search for another partner.
WITHDRAWAL_TASKS = REFERRAL_TASKS | DECLINE_TASKS | {TaskKind.REFERRAL_UNASSIGNED}
AFTER_PARTNER = frozenset({ReferralStatus.DECLINED, ReferralStatus.EXPIRED})
# A referral whose measure no partner carries out now: the counsellor may hand it on or set
# it aside.
GONE_NOWHERE = AFTER_PARTNER | {ReferralStatus.WITHDRAWN}
CONSENT_GONE = (
    "Die Klientin / der Klient hat die Einwilligung für diese Maßnahme widerrufen; eine neue "
    "Vermittlung braucht eine geänderte Vereinbarung mit neuen Unterschriften."
)


def _by(coordination: bool) -> StepBy:
    return StepBy.COORDINATION if coordination else StepBy.COUNSELLOR


def _referral(state: CaseState, referral_id: str) -> ReferralRecord | None:
    return next((r for r in state.referrals if r.id == referral_id), None)


def _is_latest(state: CaseState, referral: ReferralRecord) -> bool:
    """Whether no later referral carries the same measure (a re-route made one)."""
    later = [r for r in state.referrals if r.measure_id == referral.measure_id]
    return later[-1].id == referral.id


def _escalated(state: CaseState, referral: ReferralRecord) -> bool:
    """Unanswered and escalated: the coordination's task for it is open."""
    return referral.status is ReferralStatus.DISPATCHED and any(
        not t.done and t.kind is TaskKind.REFERRAL_ESCALATION and t.referral_id == referral.id
        for t in state.tasks
    )


def _status_refusal(
    state: CaseState, referral: ReferralRecord, what: str, allowed: str
) -> WrongStage:
    """409: the referral's status does not allow it (the case's stage is fine)."""
    label = STATUS_LABELS[referral.status]
    return WrongStage(
        stage=state.stage,
        message=f"Die Vermittlung ist im Status „{label}“: {what} geht nur {allowed}.",
    )


def _find(state: CaseState, referral_id: str, action: Action) -> ReferralRecord | Rejection:
    if wrong := require_allowed(state, action):
        return wrong
    referral = _referral(state, referral_id)
    if referral is None:
        # Like a referral of another case: nothing to learn from the id (404).
        return NotYours()
    return referral


def check_withdraw_referral(
    state: CaseState, change: ReferralWithdrawal, now: datetime, *, coordination: bool = False
) -> Rejection | None:
    found = _find(state, change.referral_id, Action.WITHDRAW_REFERRAL)
    if not isinstance(found, ReferralRecord):
        return found
    return withdraw_refusal(state, found, coordination=coordination)


def withdraw_refusal(
    state: CaseState, referral: ReferralRecord, *, coordination: bool = False
) -> Rejection | None:
    """Why `referral` cannot be withdrawn, or None: it must be open; for the coordination,
    escalated. (The case page offers the form where this is None.)"""
    if wrong := require_allowed(state, Action.WITHDRAW_REFERRAL):
        return wrong
    if coordination and not _escalated(state, referral):
        return _status_refusal(
            state, referral, "Zurückziehen durch die Koordination", "bei eskalierten Vermittlungen"
        )
    if referral.status not in OPEN:
        return _status_refusal(state, referral, "Zurückziehen", "bei offenen Vermittlungen")
    return None


def _withdraw(
    state: CaseState, referral: ReferralRecord, reason: str, now: datetime, by: StepBy
) -> None:
    """Take `referral` back (in `state`, the action's own copy): its tasks and follow-ups end."""
    referral.status = ReferralStatus.WITHDRAWN
    referral.awaiting_reroute = False
    record(
        state,
        ReferralWithdrawn(referral_id=referral.id, partner_id=referral.partner_id),
        now,
    )
    add_step(state, referral.id, ReferralStatus.WITHDRAWN, now, reason, by=by)
    finish_tasks(state, now, kinds=WITHDRAWAL_TASKS, referral_id=referral.id)
    state.follow_ups = [f for f in state.follow_ups if f.referral_id != referral.id]


def withdraw_referral(
    state: CaseState, change: ReferralWithdrawal, now: datetime, *, coordination: bool = False
) -> CaseState | Rejection:
    """The referral is withdrawn with the reason; its measure rests until someone re-routes it
    or amends the agreement (for good, when the client withdrew her consent for it). The
    workflow then cancels the referral's child."""
    if rejection := check_withdraw_referral(state, change, now, coordination=coordination):
        return rejection
    new = state.fork()
    referral = next(r for r in new.referrals if r.id == change.referral_id)
    reason = change.reason
    if change.consent_withdrawn:
        reason = f"Einwilligung widerrufen: {reason}"
    _withdraw(new, referral, reason, now, _by(coordination))
    if change.consent_withdrawn:
        _set_aside(new, referral, SetAside.CONSENT_WITHDRAWN, now)
    return new


def _measure_of(state: CaseState, referral: ReferralRecord) -> Measure | None:
    return next((m for m in state.measures if m.id == referral.measure_id), None)


def _set_aside(state: CaseState, referral: ReferralRecord, how: SetAside, now: datetime) -> None:
    measure = _measure_of(state, referral)
    if measure is None:
        return
    measure.set_aside = how
    record(state, MeasureSetAside(measure_id=measure.id, referral_id=referral.id, how=how), now)


def check_set_aside_referral(
    state: CaseState, change: ReferralSetAside, now: datetime
) -> Rejection | None:
    """See `set_aside_refusal`; and the measure not set aside this way already."""
    found = _find(state, change.referral_id, Action.SET_ASIDE_REFERRAL)
    if not isinstance(found, ReferralRecord):
        return found
    if refused := set_aside_refusal(state, found):
        return refused
    measure = _measure_of(state, found)
    if measure is not None and measure.set_aside is change.how:
        already = "ruht bereits" if change.how is SetAside.REST else "ist bereits gemeldet"
        return Invalid("how", f"Die Maßnahme {already}.")
    return None


def set_aside_refusal(state: CaseState, referral: ReferralRecord) -> Rejection | None:
    """Why the measure of `referral` cannot be set aside, or None: it must be the latest
    referral of a measure that went nowhere (declined, expired or withdrawn), the measure
    not done and its consent not withdrawn."""
    if wrong := require_allowed(state, Action.SET_ASIDE_REFERRAL):
        return wrong
    if referral.status not in GONE_NOWHERE or not _is_latest(state, referral):
        return _status_refusal(
            state,
            referral,
            "Ruhen lassen oder der Koordination melden",
            "bei der letzten Vermittlung einer Maßnahme, abgelehnt, abgelaufen oder zurückgezogen",
        )
    return _measure_refusal(state, referral, "Ruhen lassen")


def _measure_refusal(state: CaseState, referral: ReferralRecord, what: str) -> Rejection | None:
    """The referral's measure must be open and its consent not withdrawn."""
    measure = _measure_of(state, referral)
    if measure is None or measure.done:
        return _status_refusal(state, referral, what, "bei einer offenen Maßnahme")
    if measure.set_aside is SetAside.CONSENT_WITHDRAWN:
        return Invalid("referral_id", CONSENT_GONE)
    return None


def set_aside_referral(
    state: CaseState, change: ReferralSetAside, now: datetime
) -> CaseState | Rejection:
    """The measure of a referral that went nowhere waits: it rests, or the coordination gets a
    task (no partner of the kind; a capacity shortage it must see). The counsellor's tasks for
    the referral end; the reason goes into the referral's timeline."""
    if rejection := check_set_aside_referral(state, change, now):
        return rejection
    new = state.fork()
    referral = next(r for r in new.referrals if r.id == change.referral_id)
    referral.awaiting_reroute = False
    finish_tasks(new, now, kinds=WITHDRAWAL_TASKS, referral_id=referral.id)
    _set_aside(new, referral, change.how, now)
    if change.how is SetAside.COORDINATION:
        partner, need = route_words(new, referral)
        add_task(
            new,
            TaskKind.REFERRAL_REPORTED,
            f"Kein Partner für „{need}“ ({partner}): von der Beratung gemeldet.",
            now,
            role=TaskRole.SUPERVISOR,
            referral_id=referral.id,
        )
        note = f"An Koordination gemeldet: {change.reason}"
    else:
        note = f"Maßnahme ruht: {change.reason}"
    add_step(new, referral.id, referral.status, now, note, by=StepBy.COUNSELLOR)
    return new


def check_reroute_referral(
    state: CaseState, change: ReferralReroute, now: datetime, *, coordination: bool = False
) -> Rejection | None:
    """See `reroute_refusal`; and never to a partner that had the measure already."""
    found = _find(state, change.referral_id, Action.REROUTE_REFERRAL)
    if not isinstance(found, ReferralRecord):
        return found
    if refused := reroute_refusal(state, found, coordination=coordination):
        return refused
    if change.partner_id is not None and change.partner_id in found.tried_partner_ids:
        return Invalid(
            "partner_id",
            "Dieser Partner hatte die Maßnahme schon; bitte einen anderen wählen.",
        )
    return None


def reroute_refusal(
    state: CaseState, referral: ReferralRecord, *, coordination: bool = False
) -> Rejection | None:
    """Why `referral`'s measure cannot be handed on, or None. The coordination: an escalated
    referral. The counsellor: the latest referral of its measure, open, declined, expired or
    withdrawn. Either way the measure open and its consent not withdrawn."""
    if wrong := require_allowed(state, Action.REROUTE_REFERRAL):
        return wrong
    if coordination:
        if not _escalated(state, referral):
            return _status_refusal(
                state,
                referral,
                "Weitergeben durch die Koordination",
                "bei eskalierten Vermittlungen",
            )
    elif referral.status not in OPEN | GONE_NOWHERE or not _is_latest(state, referral):
        return _status_refusal(
            state,
            referral,
            "Weitergeben",
            "bei der letzten Vermittlung einer Maßnahme, offen, abgelehnt, abgelaufen oder "
            "zurückgezogen",
        )
    return _measure_refusal(state, referral, "Weitergeben")


def reroute_referral(
    state: CaseState,
    change: ReferralReroute,
    partner_id: str | None,
    now: datetime,
    clocks: Clocks,
    *,
    coordination: bool = False,
) -> CaseState | Rejection:
    """Withdraw the referral if it is still open, then dispatch its measure to `partner_id`
    (checked against the directory by the workflow), or, when None, let the workflow ask the
    directory for the next partner of the kind (declined and expired referrals are handed on
    that way too, and a counsellor's task says when none is left)."""
    if rejection := check_reroute_referral(state, change, now, coordination=coordination):
        return rejection
    new = state.fork()
    old = next(r for r in new.referrals if r.id == change.referral_id)
    if old.status in OPEN:
        _withdraw(new, old, change.reason, now, _by(coordination))
    else:
        # Declined or expired: the decline check and the search for a partner end here.
        finish_tasks(new, now, kinds=WITHDRAWAL_TASKS, referral_id=old.id)
    measure = next(m for m in new.measures if m.id == old.measure_id)
    measure.set_aside = None  # it no longer waits: it is handed on
    # A shortage the counsellor reported is over for this measure.
    finish_tasks(new, now, kinds=frozenset({TaskKind.REFERRAL_REPORTED}), referral_id=old.id)
    route = next((r for r in new.routes if r.id == old.route_id), None)
    if route is None:
        return Invalid("referral_id", "Zu dieser Vermittlung gibt es keinen Routing-Vorschlag.")
    if partner_id is None:
        old.awaiting_reroute = True
        return new
    old.awaiting_reroute = False  # a decline's own hand-on would dispatch it a second time
    dispatch_measure(new, measure, route, partner_id, now, clocks, previous=old)
    return new
