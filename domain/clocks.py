"""Every duration a case or referral waits for, in one object passed in the workflow input.

The defaults are the real ones of DESIGN.md; tests may shorten them (the dev server has no
time skipping). A workflow derives absolute deadlines from these and keeps the deadlines in its
state, so timers can be re-created after continue-as-new.
"""

from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, Field


class Clocks(BaseModel):
    first_review_months: Annotated[int, Field(ge=0)] = 3
    max_review_interval_months: Annotated[int, Field(ge=0)] = 6
    # Test-only: when set, replaces the month arithmetic above for both review clocks.
    review_interval_override: timedelta | None = None
    overdue_after: timedelta = timedelta(days=14)
    # The counsellor is told this long before a review is due (in runs whose input says so:
    # domain/case.py, AgreementInput).
    review_reminder_before: timedelta = timedelta(days=7)
    permit_warning_before: timedelta = timedelta(weeks=8)
    remind_after_working_days: Annotated[int, Field(ge=1)] = 5
    escalate_after_working_days: Annotated[int, Field(ge=1)] = 10
    expire_after_working_days: Annotated[int, Field(ge=1)] = 15
    # Simulation only (simulate/): the workflows' clock runs this far behind the server's, so
    # a time-skipping server started today can play 2011 (workflows/clock.py).
    shift: timedelta | None = None
    # Test-only: when set, a "working day" is this long and the calendar is ignored.
    working_day_override: timedelta | None = None
    # Continue-as-new after this many events/updates in one run (the server caps updates per
    # run at 2,000 and the time-skipping server never suggests continue-as-new).
    max_events_per_run: Annotated[int, Field(ge=10)] = 500
    # While the read model is out, the case's projection tries again after this pause, doubled
    # after each failed try up to the maximum (workflows/agreement_projection.py).
    projection_pause: timedelta = timedelta(minutes=1)
    projection_pause_max: timedelta = timedelta(hours=1)
