"""The case's projection loop: the read model follows the case, and the case never waits for it.

Before the patch `projection-loop`, the run loop sent each batch of events to the read model
and waited for it before it fired clocks or started referrals, so a read-model outage, or one
batch the read model could not take, stopped a case's reviews, overdue flags and referrals.
Now `Projection.run` is a task of its own inside the workflow:

- it waits until there are events the read model does not have, sends the next batch
  (`emit_case_events`) and, once the read model has it, compacts the state
  (domain/compaction.py);
- an outage (the call gives up after `PROJECTION_CALL.schedule_to_close`) marks the projection
  `stalled`, logs ids only, and waits before it tries again (`Clocks.projection_pause`, doubled
  after each failed try up to `projection_pause_max`, so thousands of cases waiting out a long
  outage do not hammer Temporal): the backlog lands once the read model is back, in order,
  each event once;
- a batch the read model can never apply (`ProjectionFailed`, recorded by the activity as an
  administrator's task) is skipped: waiting would not make it fit, and the case goes on.

Once the read model has a batch, the notices its events cause (domain/case_notices.py) go
out together in a `NoticeWorkflow` of their own (workflows/notice.py), in runs whose input
says so (`AgreementInput.sends_notices`): the loop waits for its start only, never for a
mail. `telling` says that a start is under way; the run does not end before it is done
(behind the patch `notices-before-handover`, workflows/agreement.py).

A run continues as new once the projection has caught up or is stalled; the events not yet
projected travel with the state. Workflow code: deterministic, no I/O of its own.
"""

from collections.abc import Callable, Sequence

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.case import PROJECTION_CALL, CaseActivities
    from domain.case import CaseEvent, CaseState
    from domain.case_notices import notices_for
    from domain.clocks import Clocks
    from domain.compaction import after_projection

from workflows import agreement_calls as calls
from workflows.activity_calls import execute
from workflows.notice import start_notices


class Projection:
    """The loop of one run; it reads and replaces the workflow's state through the two
    callables, so it always sees what the handlers left."""

    def __init__(
        self,
        state: Callable[[], CaseState],
        apply: Callable[[CaseState], None],
        clocks: Clocks,
        *,
        tell: bool = False,
    ) -> None:
        """`tell`: send the notices of each projected batch (a run whose input says so)."""
        self._state = state
        self._apply = apply
        self._clocks = clocks
        self._tell = tell
        self.stalled = False
        self.telling = False
        self._pause = clocks.projection_pause

    def caught_up(self) -> bool:
        state = self._state()
        return state.emitted_through >= state.last_sequence

    async def run(self) -> None:
        while True:
            await workflow.wait_condition(lambda: not self.caught_up())
            batch = calls.next_batch(self._state())
            try:
                await execute(CaseActivities.emit_case_events, batch, PROJECTION_CALL)
            except ActivityError as error:
                cause = error.cause
                if not (isinstance(cause, ApplicationError) and cause.non_retryable):
                    self.stalled = True
                    workflow.logger.warning(
                        "Case events from %d not projected yet (read model unavailable)",
                        batch.events[0].sequence,
                    )
                    await workflow.sleep(self._pause)
                    self._pause = min(self._pause * 2, self._clocks.projection_pause_max)
                    continue
                # Never fits: the activity has recorded it for the administrators.
                workflow.logger.error(
                    "Case events %d..%d skipped by the projection (%s)",
                    batch.events[0].sequence,
                    batch.events[-1].sequence,
                    cause.type,
                )
            self.stalled = False
            self._pause = self._clocks.projection_pause
            self._apply(after_projection(self._state(), batch.events[-1].sequence))
            if self._tell:
                self.telling = True
                try:
                    await _tell(self._state(), batch.events)
                finally:
                    self.telling = False


async def _tell(state: CaseState, events: Sequence[CaseEvent]) -> None:
    """Start the notices of `events`, together; a notice that cannot be built is logged (ids
    only) and skipped: the case goes on without it."""
    try:
        notices = notices_for(state, events)
    except Exception as error:
        workflow.logger.error(
            "Notices of events %d..%d not built (%s)",
            events[0].sequence,
            events[-1].sequence,
            type(error).__name__,
        )
        return
    await start_notices(notices)
