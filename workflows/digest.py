"""DigestWorkflow: the coordination's daily digest, at seven in the morning, German time.

One per deployment (workflow id `lotse-daily-digest`, started by the worker: a second start
is refused). Each day it sleeps until 07:00 in Germany, asks the store for the day's
digests (`DigestActivities.daily_digests`) and starts one `NoticeWorkflow` with them (never
waiting for a mail); after `DAYS_PER_RUN` days it continues as new, so its history
stays short.

Deterministic: the time comes from `workflow.now()`, the clock of the day from the German
calendar (domain/months.py).
"""

from datetime import date, datetime, time, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.digest import DigestActivities
    from domain.months import GERMAN_TIME, german_day
    from domain.notifications import Notice

from workflows.notice import start_notices

DIGEST_WORKFLOW_ID = "lotse-daily-digest"
# Days a run covers before it continues as new: about 15 events a day keep its history short.
DAYS_PER_RUN = 30
DIGEST_HOUR = time(7)


def next_digest_at(now: datetime, hour: time = DIGEST_HOUR) -> datetime:
    """The next `hour` (07:00) in Germany after `now` (summer and winter time alike)."""
    day = german_day(now)
    at = datetime.combine(day, hour, GERMAN_TIME)
    if at <= now:
        at = datetime.combine(day + timedelta(days=1), hour, GERMAN_TIME)
    return at


@workflow.defn
class DigestWorkflow:
    @workflow.run
    async def run(self, hour: int = DIGEST_HOUR.hour) -> None:
        """`hour`: the German hour of the day the digest goes out (07 unless a test says)."""
        for _ in range(DAYS_PER_RUN):
            at = next_digest_at(workflow.now(), time(hour % 24))
            await workflow.sleep(at - workflow.now(), summary="daily digest")
            await self._send(german_day(at))
        workflow.continue_as_new(hour)

    async def _send(self, day: date) -> None:
        notices: list[Notice] = await workflow.execute_activity_method(
            DigestActivities.daily_digests,
            day,
            start_to_close_timeout=timedelta(minutes=1),
            # A store outage: try again for the rest of the morning, then skip the day.
            schedule_to_close_timeout=timedelta(hours=4),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=10)),
        )
        await start_notices(notices)
