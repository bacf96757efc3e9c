"""The case's clocks as pure functions of the state and the instant.

The workflow sleeps until `next_deadline(state)` (or an update or signal wakes it) and then
calls `on_clock(state, now)`, which fires everything due at `now`: the reminder seven days
before a review is due (`remind`: a run whose input says so), the review task
on the due date, the overdue flag and the supervisor's task 14 days later, the permit-expiry
task 8 weeks before expiry, and the rules' follow-ups. Each fires once (the state remembers it), so
waking up early, late or twice changes nothing.
"""

from datetime import datetime

from domain.case import CaseState, Stage, TaskKind, TaskRole
from domain.case_log import add_task, record
from domain.clocks import Clocks
from domain.events import ReviewDue, ReviewDueSoon, ReviewOverdue
from domain.months import german_day


def _reminder_at(state: CaseState, clocks: Clocks, remind: bool) -> datetime | None:
    """When the counsellor is told the review is due soon (None: not, or told already)."""
    due = state.next_review_due
    if not remind or due is None or state.review_reminded or state.review_due_noticed:
        return None
    return due - clocks.review_reminder_before


def _review_deadlines(state: CaseState, clocks: Clocks, remind: bool) -> list[datetime]:
    due = state.next_review_due
    if due is None:
        return []
    pending = []
    if (reminder := _reminder_at(state, clocks, remind)) is not None:
        pending.append(reminder)
    if not state.review_due_noticed:
        pending.append(due)
    if not state.review_overdue:
        pending.append(due + clocks.overdue_after)
    return pending


def next_deadline(state: CaseState, clocks: Clocks, *, remind: bool = False) -> datetime | None:
    """The earliest instant at which `on_clock` has something to do (None: nothing waits)."""
    if state.stage is Stage.CLOSED:
        return None
    deadlines = _review_deadlines(state, clocks, remind)
    if state.permit_warning_at is not None:
        deadlines.append(state.permit_warning_at)
    deadlines.extend(follow_up.due_at for follow_up in state.follow_ups)
    return min(deadlines, default=None)


def on_clock(state: CaseState, now: datetime, clocks: Clocks, *, remind: bool = False) -> CaseState:
    """Everything due at `now`; the same state when nothing is."""
    deadline = next_deadline(state, clocks, remind=remind)
    if deadline is None or deadline > now:
        return state
    new = state.fork()
    due = new.next_review_due
    reminder = _reminder_at(new, clocks, remind)
    if due is not None and reminder is not None and reminder <= now:
        new.review_reminded = True
        if now < due:  # once it is due, the review task says it
            record(new, ReviewDueSoon(due_at=due), now)
    if due is not None and not new.review_due_noticed and due <= now:
        new.review_due_noticed = True
        record(new, ReviewDue(due_at=due), now)
        add_task(
            new,
            TaskKind.REVIEW_DUE,
            f"Überprüfung der Vereinbarung fällig am {german_day(due):%d.%m.%Y}.",
            now,
            due_at=due,
        )
    if due is not None and not new.review_overdue and due + clocks.overdue_after <= now:
        new.review_overdue = True
        record(new, ReviewOverdue(due_at=due, overdue=True), now)
        add_task(
            new,
            TaskKind.REVIEW_OVERDUE,
            f"Überprüfung seit {german_day(due):%d.%m.%Y} fällig und nicht erfasst.",
            now,
            role=TaskRole.SUPERVISOR,
            due_at=now,
        )
    warning = new.permit_warning_at
    if warning is not None and warning <= now:
        new.permit_warning_at = None
        expires = warning + clocks.permit_warning_before
        # The title goes into an event, so it names no date of the profile; the task's due
        # date (the expiry) is the deadline the counsellor works to.
        add_task(
            new,
            TaskKind.PERMIT_EXPIRY,
            "Aufenthaltstitel läuft bald ab: Verlängerung klären.",
            now,
            due_at=expires,
        )
    for follow_up in [f for f in new.follow_ups if f.due_at <= now]:
        new.follow_ups.remove(follow_up)
        add_task(
            new,
            TaskKind.FOLLOW_UP,
            f"Nachhalten: {follow_up.action}",
            now,
            due_at=follow_up.due_at,
            referral_id=follow_up.referral_id,
        )
    return new
