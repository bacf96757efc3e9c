"""People changing a case's referrals: withdrawing one, or handing its measure to another
partner of the same kind. (domain/stages_referral.py is what the referrals themselves report.)

Who may do what:
- the counsellor of the case: withdraw an open referral (wrong or obsolete); re-route the
  latest referral of a measure, open (it is withdrawn first) or declined or expired (the
  decline task's way out: another partner, with a reason);
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

from domain.actions import ReferralReroute, ReferralWithdrawal
from domain.case import CaseState, ReferralRecord, TaskKind
from domain.case_log import finish_tasks, record
from domain.clocks import Clocks
from domain.events import ReferralWithdrawn
from domain.referral import OPEN, STATUS_LABELS, ReferralStatus
from domain.rejections import Invalid, NotYours, Rejection, WrongStage, require_allowed
from domain.stage_table import Action
from domain.stages_referral import DECLINE_TASKS, REFERRAL_TASKS, add_step, dispatch_measure

# What ends with a referral taken back: its reminders, its escalation, its decline check and
# the search for another partner.
WITHDRAWAL_TASKS = REFERRAL_TASKS | DECLINE_TASKS | {TaskKind.REFERRAL_UNASSIGNED}
AFTER_PARTNER = frozenset({ReferralStatus.DECLINED, ReferralStatus.EXPIRED})


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
    """An open referral of this case; for the coordination, an escalated one."""
    found = _find(state, change.referral_id, Action.WITHDRAW_REFERRAL)
    if not isinstance(found, ReferralRecord):
        return found
    if coordination and not _escalated(state, found):
        return _status_refusal(
            state, found, "Zurückziehen durch die Koordination", "bei eskalierten Vermittlungen"
        )
    if found.status not in OPEN:
        return _status_refusal(state, found, "Zurückziehen", "bei offenen Vermittlungen")
    return None


def _withdraw(state: CaseState, referral: ReferralRecord, reason: str, now: datetime) -> None:
    """Take `referral` back (in `state`, the action's own copy): its tasks and follow-ups end."""
    referral.status = ReferralStatus.WITHDRAWN
    referral.awaiting_reroute = False
    record(
        state,
        ReferralWithdrawn(referral_id=referral.id, partner_id=referral.partner_id),
        now,
    )
    add_step(state, referral.id, ReferralStatus.WITHDRAWN, now, reason)
    finish_tasks(state, now, kinds=WITHDRAWAL_TASKS, referral_id=referral.id)
    state.follow_ups = [f for f in state.follow_ups if f.referral_id != referral.id]


def withdraw_referral(
    state: CaseState, change: ReferralWithdrawal, now: datetime, *, coordination: bool = False
) -> CaseState | Rejection:
    """The referral is withdrawn with the reason; its measure rests until someone re-routes it
    or amends the agreement. The workflow then cancels the referral's child."""
    if rejection := check_withdraw_referral(state, change, now, coordination=coordination):
        return rejection
    new = state.fork()
    referral = next(r for r in new.referrals if r.id == change.referral_id)
    _withdraw(new, referral, change.reason, now)
    return new


def check_reroute_referral(
    state: CaseState, change: ReferralReroute, now: datetime, *, coordination: bool = False
) -> Rejection | None:
    """The coordination: an escalated referral. The counsellor: the latest referral of its
    measure, open, declined or expired, and the measure not done. Never to a partner that
    had the measure already."""
    found = _find(state, change.referral_id, Action.REROUTE_REFERRAL)
    if not isinstance(found, ReferralRecord):
        return found
    if coordination:
        if not _escalated(state, found):
            return _status_refusal(
                state,
                found,
                "Weitergeben durch die Koordination",
                "bei eskalierten Vermittlungen",
            )
    elif found.status not in OPEN | AFTER_PARTNER or not _is_latest(state, found):
        return _status_refusal(
            state,
            found,
            "Weitergeben",
            "bei der letzten Vermittlung einer Maßnahme, offen, abgelehnt oder abgelaufen",
        )
    measure = next((m for m in state.measures if m.id == found.measure_id), None)
    if measure is None or measure.done:
        return _status_refusal(state, found, "Weitergeben", "bei einer offenen Maßnahme")
    if change.partner_id is not None and change.partner_id in found.tried_partner_ids:
        return Invalid(
            "partner_id",
            "Dieser Partner hatte die Maßnahme schon; bitte einen anderen wählen.",
        )
    return None


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
        _withdraw(new, old, change.reason, now)
    else:
        # Declined or expired: the decline check and the search for a partner end here.
        finish_tasks(new, now, kinds=WITHDRAWAL_TASKS, referral_id=old.id)
    measure = next(m for m in new.measures if m.id == old.measure_id)
    route = next((r for r in new.routes if r.id == old.route_id), None)
    if route is None:
        return Invalid("referral_id", "Zu dieser Vermittlung gibt es keinen Routing-Vorschlag.")
    if partner_id is None:
        old.awaiting_reroute = True
        return new
    old.awaiting_reroute = False  # a decline's own hand-on would dispatch it a second time
    dispatch_measure(new, measure, route, partner_id, now, clocks, previous=old)
    return new
