"""Running an activity from workflow code with its `CallOptions` (activities/case.py), and the
one rule for activities a person waits for inside an update: their failure fails the update
and leaves the workflow unchanged, bad data as `Invalid`, an outage as `Unavailable` (the API
answers 422 or 503). Shared by the case and the referral workflows. Workflow code:
deterministic, no I/O of its own.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.case import INTERACTIVE_CALL, CallOptions, CaseActivities

In = TypeVar("In")
Out = TypeVar("Out")
Activity = Callable[[CaseActivities, In], Awaitable[Out]]


async def execute(method: Activity[In, Out], input: In, call: CallOptions) -> Out:
    return await workflow.execute_activity_method(
        method,
        input,
        start_to_close_timeout=call.start_to_close,
        schedule_to_close_timeout=call.schedule_to_close,
        retry_policy=call.retry,
    )


async def execute_waited(
    method: Activity[In, Out], input: In, unchanged: str = "Der Fall ist unverändert."
) -> Out:
    """An activity a person waits for (inside an update). Its failure fails the update and
    leaves the workflow unchanged (`unchanged` says so): bad data as `Invalid`, an outage as
    `Unavailable`."""
    try:
        return await execute(method, input, INTERACTIVE_CALL)
    except ActivityError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.non_retryable:
            raise ApplicationError(
                cause.message, *cause.details, type=cause.type, non_retryable=True
            ) from err
        raise ApplicationError(
            "Der Dienst antwortet gerade nicht; bitte in einigen Minuten erneut versuchen. "
            + unchanged,
            type="Unavailable",
            non_retryable=True,
        ) from err
