"""When a referral needs the coordination's eye, and how soon: the coordination's list
„Vermittlungen über der Frist“ (its dashboard, "/aufsicht/vermittlungen" and
`GET /supervision/late-referrals`).

A referral is late in one of three ways (`Lateness`):

- **unanswered**: still dispatched and past its `acknowledge_by` (the partner was reminded),
  not escalated yet;
- **escalated**: still dispatched after ten working days (its workflow escalated it; the
  coordination may withdraw or re-route it);
- **stalled**: acknowledged, not completed, and the partner has taken no step since (neither the
  acknowledgement nor a progress note) for `STALLED_AFTER_WORKING_DAYS` working days of the
  municipality's Land. An acknowledged referral has no clock of its own: the partner took the
  measure on, and a course may run for months. Silence is the sign: a partner who reports
  nothing for four working weeks has most likely not started, or stopped, the measure.
  Counted in whole German calendar days, like the referral's clocks.

Each late referral has a deadline, and the list shows the least time left first:

- unanswered: `escalate_at`, when it becomes the coordination's;
- escalated: `expires_at`, when it ends unanswered and the measure is left without partner;
- stalled: its last step plus the stall period. That deadline has passed (it is what makes the
  referral stalled), so the stalled ones lead, the longest silent first; the others follow by
  their deadline. The read model orders them so in SQL (`store.reads.supervision_lists`), with
  the cut-off instant `stalled_before` as the one parameter the working days need.

Pure: `now` is always passed in.
"""

from datetime import date, datetime
from enum import StrEnum

from domain.months import german_day, start_of_german_day
from domain.referral import ReferralStatus, unanswered_past_deadline
from domain.workdays import add_working_days, nth_working_day_back

# Four working weeks without a word from the partner.
STALLED_AFTER_WORKING_DAYS = 20


class Lateness(StrEnum):
    UNANSWERED = "unanswered"
    ESCALATED = "escalated"
    STALLED = "stalled"


def stalled_before(now: datetime, land: str) -> datetime:
    """An acknowledged referral whose last step lies before this instant is stalled: midnight
    (German time) of the `STALLED_AFTER_WORKING_DAYS`-th working day counted back from today.
    Exactly then its `stall_deadline` falls on today or earlier."""
    today: date = german_day(now)
    return start_of_german_day(nth_working_day_back(today, STALLED_AFTER_WORKING_DAYS, land))


def stall_deadline(last_step_at: datetime, land: str) -> datetime:
    """When an acknowledged referral whose last step was at `last_step_at` becomes stalled."""
    return add_working_days(last_step_at, STALLED_AFTER_WORKING_DAYS, land)


def lateness(
    status: ReferralStatus,
    acknowledge_by: datetime | None,
    escalated: bool,
    last_step_at: datetime | None,
    now: datetime,
    land: str,
) -> Lateness | None:
    """How the referral is late, or None when it is on time (or closed). `last_step_at`: its
    partner's last step (None: none known, which never makes it stalled)."""
    if unanswered_past_deadline(status, acknowledge_by, escalated, now):
        return Lateness.ESCALATED if escalated else Lateness.UNANSWERED
    if status is ReferralStatus.ACKNOWLEDGED and last_step_at is not None:
        return Lateness.STALLED if last_step_at < stalled_before(now, land) else None
    return None


def deadline(
    late: Lateness,
    escalate_at: datetime | None,
    expires_at: datetime | None,
    last_step_at: datetime | None,
    land: str,
) -> datetime | None:
    """The deadline the list orders a late referral by (see the module docstring); None where
    the read model lacks the date it needs."""
    if late is Lateness.UNANSWERED:
        return escalate_at
    if late is Lateness.ESCALATED:
        return expires_at
    return stall_deadline(last_step_at, land) if last_step_at is not None else None
