"""A referral child on the dev server, where the time-skipping server has known bugs: its
timers keep running across its parent's continue-as-new and its reports, completion included,
reach the parent's new run. Working days are shortened with `working_day_override`.
"""

import uuid
from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.clocks import Clocks
from domain.referral import Outcome, OutcomeResult, ReferralStatus, ReportKind
from tests.referral_harness import (
    RecorderInput,
    ReportRecorder,
    eventually,
    kinds,
    referral_input,
    reports_of,
)
from workflows.referral import ReferralWorkflow

# Remind after 2.5 s, escalate after 5 s, expire after 7.5 s.
WORKING_DAY = timedelta(seconds=0.5)


async def test_child_keeps_its_timers_across_the_parents_continue_as_new(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    client: Client = dev_env.client
    case_id = f"case-{uuid.uuid4()}"
    child = referral_input(
        case_id, 1, datetime.now(UTC), clocks=Clocks(working_day_override=WORKING_DAY)
    )
    async with Worker(client, task_queue=task_queue, workflows=[ReportRecorder, ReferralWorkflow]):
        # The recorder starts the child (ABANDON) and continues as new after the first report.
        parent = await client.start_workflow(
            ReportRecorder.run,
            RecorderInput(continue_after_reports=1, child=child),
            id=case_id,
            task_queue=task_queue,
        )
        recorded = await eventually(
            lambda: reports_of(client, case_id),
            lambda r: ReportKind.ESCALATED in kinds(r),
            timeout=15,
        )
        assert kinds(recorded) == [ReportKind.REMINDER, ReportKind.ESCALATED]

        referral = client.get_workflow_handle_for(ReferralWorkflow.run, child.referral_id)
        description = await referral.describe()
        assert description.parent_id == case_id
        await referral.execute_update(ReferralWorkflow.acknowledge)
        outcome = Outcome(result=OutcomeResult.PARTLY, note="B1 nicht bestanden")
        await referral.execute_update(ReferralWorkflow.complete, outcome)
        final = await referral.result()
        assert final.status is ReferralStatus.COMPLETED

        recorded = await eventually(
            lambda: reports_of(client, case_id),
            lambda r: ReportKind.COMPLETED in kinds(r),
        )
    assert kinds(recorded) == [
        ReportKind.REMINDER,
        ReportKind.ESCALATED,
        ReportKind.ACKNOWLEDGED,
        ReportKind.COMPLETED,
    ]
    first_run = parent.first_execution_run_id
    assert recorded[0].run_id == first_run
    # Everything after the reminder went to the parent's second run, the completion included.
    assert {r.run_id for r in recorded[1:]} == {recorded[1].run_id}
    assert recorded[1].run_id != first_run
    assert recorded[-1].report.outcome == outcome
    # The deadlines were kept: the reminder came 5 working days after dispatch, not later.
    reminded = recorded[0].report.at - child.dispatched_at
    assert 5 * WORKING_DAY <= reminded < 5 * WORKING_DAY + timedelta(seconds=2)
    await client.get_workflow_handle(case_id).signal(ReportRecorder.stop)
