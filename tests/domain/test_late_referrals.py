"""When a referral is late for the coordination, and the deadline its list orders it by:
unanswered past the acknowledgement deadline, escalated, or acknowledged and silent for 20
working days (domain/late_referrals.py). Plain pytest."""

from datetime import UTC, datetime, timedelta

from domain.late_referrals import (
    STALLED_AFTER_WORKING_DAYS,
    Lateness,
    deadline,
    lateness,
    stall_deadline,
    stalled_before,
)
from domain.months import german_day, start_of_german_day
from domain.referral import ReferralStatus

# Wednesday 25 November 2026, 10:00 in Germany.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
LAND = "NW"


def test_stalled_before_is_midnight_of_the_twentieth_working_day_back() -> None:
    cut = stalled_before(NOW, LAND)
    # Twenty working days back from Wednesday 25 November, the day itself included: four
    # weeks back is Wednesday 28 October, one day later, Thursday 29 October. (1 November is
    # All Saints' Day, a Sunday in 2026: no working day lost.)
    assert cut == start_of_german_day(datetime(2026, 10, 29).date())
    assert german_day(stall_deadline(cut - timedelta(seconds=1), LAND)) == german_day(NOW)
    assert german_day(stall_deadline(cut, LAND)) > german_day(NOW)


def test_an_acknowledged_referral_is_stalled_once_its_last_step_is_older_than_the_cut() -> None:
    cut = stalled_before(NOW, LAND)

    def late(last_step: datetime) -> Lateness | None:
        return lateness(ReferralStatus.ACKNOWLEDGED, None, False, last_step, NOW, LAND)

    assert late(cut - timedelta(minutes=1)) is Lateness.STALLED
    assert late(cut) is None
    assert late(NOW - timedelta(days=3)) is None
    # Without a known step nothing is said.
    assert lateness(ReferralStatus.ACKNOWLEDGED, None, False, None, NOW, LAND) is None


def test_unanswered_and_escalated_follow_the_partners_deadlines() -> None:
    past, future = NOW - timedelta(days=1), NOW + timedelta(days=1)
    dispatched = ReferralStatus.DISPATCHED
    assert lateness(dispatched, future, False, None, NOW, LAND) is None
    assert lateness(dispatched, past, False, None, NOW, LAND) is Lateness.UNANSWERED
    assert lateness(dispatched, future, True, None, NOW, LAND) is Lateness.ESCALATED
    long_ago = NOW - timedelta(days=400)
    for closed in (ReferralStatus.COMPLETED, ReferralStatus.DECLINED, ReferralStatus.WITHDRAWN):
        assert lateness(closed, past, True, long_ago, NOW, LAND) is None


def test_the_deadline_is_escalation_expiry_or_the_end_of_the_stall_period() -> None:
    escalate, expire = NOW + timedelta(days=2), NOW + timedelta(days=9)
    last_step = NOW - timedelta(days=40)
    assert deadline(Lateness.UNANSWERED, escalate, expire, last_step, LAND) == escalate
    assert deadline(Lateness.ESCALATED, escalate, expire, last_step, LAND) == expire
    stalled = deadline(Lateness.STALLED, escalate, expire, last_step, LAND)
    assert stalled == stall_deadline(last_step, LAND) and stalled is not None and stalled < NOW
    assert deadline(Lateness.STALLED, escalate, expire, None, LAND) is None
    assert STALLED_AFTER_WORKING_DAYS == 20
