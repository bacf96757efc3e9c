"""When a referral counts as unanswered past its deadline, for the partner's inbox and the
supervisor's dashboard.

The referral workflow reminds the partner after 5 working days and escalates after 10
(DESIGN.md); the pages call a dispatched referral "overdue" from the reminder on, computed
with the domain's working-day calendar of the municipality's Land, and always once the
workflow has escalated it (the read model's flag).
"""

from datetime import datetime

from domain.clocks import Clocks
from domain.referral import ReferralStatus
from domain.workdays import add_working_days
from store.projections import ReferralSummary

ACKNOWLEDGE_WITHIN = Clocks().remind_after_working_days


def acknowledgement_due(dispatched_at: datetime, land: str) -> datetime:
    return add_working_days(dispatched_at, ACKNOWLEDGE_WITHIN, land)


def overdue(row: ReferralSummary, land: str, now: datetime) -> bool:
    """Dispatched and not acknowledged past the deadline."""
    if row.status is not ReferralStatus.DISPATCHED:
        return False
    return row.escalated or now > acknowledgement_due(row.dispatched_at, land)
