"""A run hands over (continues as new, or ends a closed case) only once the notice children of
its last projected batch have started (the patch `notices-before-handover`,
workflows/agreement.py). Temporal never starts a child of a run that has ended, so before the
patch the notices of a batch that caught the projection up in the same workflow task as the
continue-as-new were lost. Records tests/histories/notices_before_handover.json; the histories
from before the patch replay as they were (tests/workflows/test_replay.py)."""

import threading
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from activities.case import CaseActivities
from activities.case_events import CaseEventBatch, InMemoryCaseEventSink
from activities.directory import InMemoryDirectory
from domain.actions import Review
from domain.case import CaseState, Stage
from tests.case_harness import time_skipping_harness, until, walk_to
from tests.case_histories import (
    REGENERATE,
    assert_no_task_failures,
    patches,
    save_histories,
    until_runs,
)
from tests.samples import PARTNERS
from workflows.agreement import NOTICES_BEFORE_HANDOVER, AgreementWorkflow

START_CHILD = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
CHILD_STARTED = EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED
START_FAILED = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED


class GatedSink(InMemoryCaseEventSink):
    """A read model that can be held: while `open` is clear, a batch waits (as behind a slow
    database), so the events after it pile up and land in one batch afterwards."""

    def __init__(self) -> None:
        super().__init__()
        self.open = threading.Event()
        self.open.set()

    def append(self, batch: CaseEventBatch) -> int:
        self.open.wait(timeout=30)
        return super().append(batch)


def caught_up(state: CaseState) -> bool:
    return state.emitted_through == state.last_sequence


def unstarted_notices(run: WorkflowHistory) -> tuple[list[str], list[str]]:
    """The notice children a run initiated, and those of them it ended before their start was
    recorded (started or refused): Temporal starts no child of a run that has ended."""
    initiated, answered = [], set()
    for event in run.events:
        if event.event_type == START_CHILD:
            child = event.start_child_workflow_execution_initiated_event_attributes.workflow_id
            if child.startswith("notice-"):
                initiated.append(child)
        elif event.event_type == CHILD_STARTED:
            answered.add(
                event.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id
            )
        elif event.event_type == START_FAILED:
            answered.add(event.start_child_workflow_execution_failed_event_attributes.workflow_id)
    return initiated, [child for child in initiated if child not in answered]


async def test_the_notices_of_the_last_batch_start_before_the_run_continues_as_new(
    task_queue: str,
) -> None:
    sink = GatedSink()
    case = CaseActivities(InMemoryDirectory(PARTNERS), sink)
    activities = [
        case.route_needs,
        case.resolve_partner,
        case.render_agreement,
        case.emit_case_events,
    ]
    async with time_skipping_harness(task_queue, activities=activities) as harness:
        handle = await harness.start()
        await walk_to(handle, Stage.AWAITING_SIGNATURE)
        await until(handle, caught_up)
        # The read model stalls (slow, not failing): the signatures, the referrals' dispatch
        # and their partners' first reports, and the review that ends the run all wait for
        # one batch, whose notices the run starts as it hands over.
        sink.open.clear()
        try:
            await walk_to(handle, Stage.ACTIVE)
            await until(handle, lambda s: len(s.referrals) == 3, timeout=20)
            await handle.execute_update(
                AgreementWorkflow.record_review, Review(), rpc_timeout=timedelta(seconds=10)
            )
        finally:
            sink.open.set()
        runs = await until_runs(harness.client, handle, 2, timeout=30)
        assert_no_task_failures(runs)
        first = runs[0]
        assert NOTICES_BEFORE_HANDOVER in patches(first)
        initiated, unstarted = unstarted_notices(first)
        assert initiated, "the referrals' dispatch causes notices"
        # The run that ended with the review waited for its last notices' start.
        assert unstarted == []
        assert (
            first.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        )
        # Each notice reached the in-app list (the harness's notification store).
        state = await until(handle, caught_up, timeout=20)
        assert any(key.startswith(state.id) for key in harness.notices.notices)
        if REGENERATE:
            save_histories("notices_before_handover", runs)
