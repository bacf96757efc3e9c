"""NoticeWorkflow: one notice delivered, in the app and by mail, however long the mail server
needs (activities/notifications.py retries for about two and a half hours, then records what
never arrived for the administrators).

The case starts one per notice its projected events cause (domain/case_notices.py), and the
API one per inbound referral's step; the workflow id is `notice-<event key>`, so a notice is
started once however often its sender retries (`id_reuse_policy` refuses a second start, and
the activity itself is idempotent by the key besides). Its sender never waits for it: a case
does not stall, nor delay continuing as new or closing, while a mail server is down.

Deterministic: one activity, no clock, no I/O of its own.
"""

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NOTIFY_CALL, NotificationActivities
    from domain.notifications import Notice

# One notice, one workflow, for good: a finished one is never started again under its id.
NOTICE_ID_REUSE = WorkflowIDReusePolicy.REJECT_DUPLICATE


def notice_workflow_id(notice: Notice) -> str:
    """`notice-<event key>`: ids and kinds only, as every workflow id."""
    return f"notice-{notice.event_key}"


@workflow.defn
class NoticeWorkflow:
    @workflow.run
    async def run(self, notice: Notice) -> None:
        await workflow.execute_activity_method(
            NotificationActivities.notify,
            notice,
            start_to_close_timeout=NOTIFY_CALL.start_to_close,
            retry_policy=NOTIFY_CALL.retry,
        )
