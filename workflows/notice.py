"""NoticeWorkflow: notices delivered, in the app and by mail, however long the mail server
needs (activities/notifications.py retries for about two and a half hours, then records what
never arrived for the administrators).

The case starts one per projected batch whose events cause notices (domain/case_notices.py),
with all of that batch's notices (one child for the three referrals of a signature, not
three: bench/lifecycle.py measured the difference); the API one per inbound referral's step,
the digest one per day. Its id names what it sends (`notices_workflow_id`), so a sender that
retries starts it once (`id_reuse_policy` refuses a second start), and each notice is
idempotent by its event key besides: the same notice in two batches is delivered once.
Its sender never waits for it: a case does not stall, nor delay continuing as new or
closing, while a mail server is down.

Deterministic: the notices' activities, side by side; no clock, no I/O of its own.
"""

import asyncio
import contextlib
from collections.abc import Sequence

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NOTIFY_CALL, NotificationActivities
    from domain.notifications import Notice

from workflows.guard import ignore_result

# A finished delivery is never started again under its id.
NOTICE_ID_REUSE = WorkflowIDReusePolicy.REJECT_DUPLICATE


def notices_workflow_id(notices: Sequence[Notice]) -> str:
    """`notice-<first event key>` (and `+<more>` for a batch): ids and kinds only, as every
    workflow id; the same notices give the same id."""
    more = f"+{len(notices) - 1}" if len(notices) > 1 else ""
    return f"notice-{notices[0].event_key}{more}"


async def start_notices(notices: list[Notice]) -> None:
    """From workflow code: start the delivery of `notices` as a child, and do not wait for
    it. It outlives the run that sent it (continue-as-new, a closed case leave it to finish);
    started before (the same batch sent again), it is on its way already."""
    if not notices:
        return
    with contextlib.suppress(WorkflowAlreadyStartedError):
        child = await workflow.start_child_workflow(
            NoticeWorkflow.run,
            notices,
            id=notices_workflow_id(notices),
            id_reuse_policy=NOTICE_ID_REUSE,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        ignore_result(child)


@workflow.defn
class NoticeWorkflow:
    @workflow.run
    async def run(self, notices: list[Notice]) -> None:
        await asyncio.gather(
            *(
                workflow.execute_activity_method(
                    NotificationActivities.notify,
                    notice,
                    start_to_close_timeout=NOTIFY_CALL.start_to_close,
                    retry_policy=NOTIFY_CALL.retry,
                )
                for notice in notices
            )
        )
