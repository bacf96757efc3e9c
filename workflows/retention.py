"""RetentionWorkflow: one run of the retention, started daily by the Temporal Schedule
`lotse-retention` (worker/retention.py creates it).

It asks the activity to erase every closed case whose retention has run out as of the
workflow's clock (`workflow.now()`: the schedule's time, and the skipped time in a test) and
ends with how many it erased. A run that fails is retried by the activity's policy for a few
hours; the next day's run catches up whatever one day missed.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.retention import RetentionActivities

RETENTION_SCHEDULE_ID = "lotse-retention"
# The id of each run the schedule starts (the schedule appends the start time).
RETENTION_WORKFLOW_ID = "lotse-retention-run"


@workflow.defn
class RetentionWorkflow:
    @workflow.run
    async def run(self) -> int:
        erased: int = await workflow.execute_activity_method(
            RetentionActivities.erase_expired_cases,
            workflow.now(),
            # Many cases may expire on one day (the first run after a go-live): time enough.
            start_to_close_timeout=timedelta(minutes=30),
            # A store or Temporal outage: try again for some hours; tomorrow's run catches up.
            schedule_to_close_timeout=timedelta(hours=6),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=10)),
        )
        return erased
