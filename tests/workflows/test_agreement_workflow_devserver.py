"""AgreementWorkflow on the dev server: what the time-skipping server cannot show. Visibility
of the search attributes, a rejected update leaving no trace in history, and the real
ReferralWorkflow children, declined and handed on, across the case's continue-as-new, and
withdrawn or re-routed by a person."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.actions import Closure, Reassignment, ReferralReroute, ReferralWithdrawal, Review
from domain.case import CaseState, Stage, TaskKind
from domain.clocks import Clocks
from domain.referral import DeclineReason, Outcome, OutcomeResult, ReferralStatus
from tests.case_harness import (
    Harness,
    running_worker,
    until,
    walk_to,
)
from tests.case_histories import (
    REGENERATE,
    run_histories,
    save_histories,
)
from workflows.agreement import AgreementWorkflow
from workflows.referral import ReferralWorkflow

T = TypeVar("T")
# Remind after 2.5 s, escalate after 5 s, expire after 7.5 s: none of it within these tests
# unless a test waits for it.
WORKING_DAY = timedelta(seconds=0.5)


@pytest.fixture
async def harness(dev_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Harness]:
    workflows = (AgreementWorkflow, ReferralWorkflow)
    async with running_worker(dev_env, task_queue, workflows=workflows) as harness:
        yield harness


async def eventually(
    probe: Callable[[], Awaitable[T]], condition: Callable[[T], bool], timeout: float = 10.0
) -> T:
    """Visibility is eventually consistent: ask again until it answers as expected."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    while True:
        value = await probe()
        if condition(value) or loop.time() > give_up:
            return value
        await asyncio.sleep(0.2)


async def case_ids(client: Client, query: str) -> list[str]:
    return [execution.id async for execution in client.list_workflows(query)]


async def test_search_attributes_find_cases_by_stage_counsellor_and_review_clock(
    harness: Harness,
) -> None:
    client = harness.client
    handle = await harness.start()
    state = await walk_to(handle, Stage.ACTIVE)
    query = (
        f"WorkflowId = '{handle.id}' AND CaseStage = 'active' AND CounsellorId = 'berater1' "
        "AND MunicipalityId = 'musterstadt' AND CentreId = 'mbe-mitte' AND ReviewOverdue = false"
    )
    assert await eventually(lambda: case_ids(client, query), bool) == [handle.id]
    due = state.next_review_due
    assert due is not None and due.tzinfo is not None
    window = (
        f"WorkflowId = '{handle.id}' AND NextReviewDue > '{(due - timedelta(days=1)).isoformat()}'"
        f" AND NextReviewDue < '{(due + timedelta(days=1)).isoformat()}'"
    )
    assert await eventually(lambda: case_ids(client, window), bool) == [handle.id]

    await handle.execute_update(AgreementWorkflow.reassign, Reassignment(counsellor_id="berater2"))
    moved = f"WorkflowId = '{handle.id}' AND CounsellorId = 'berater2'"
    assert await eventually(lambda: case_ids(client, moved), bool) == [handle.id]


async def test_a_rejected_update_leaves_no_trace_in_history(harness: Harness) -> None:
    handle = await harness.start()
    await walk_to(handle, Stage.ASSESSMENT)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(AgreementWorkflow.record_review, Review(), id="too-early")
    history = await handle.fetch_history()
    # Accepted updates (the walk's) are in history; the refused one is nowhere in it.
    accepted = [
        event.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert len(accepted) == 1 and "too-early" not in accepted  # the intake only
    assert "too-early" not in history.to_json()


async def test_a_declined_referral_goes_to_the_next_partner_across_continue_as_new(
    harness: Harness,
) -> None:
    client = harness.client
    clocks = Clocks(working_day_override=WORKING_DAY, max_events_per_run=10)
    handle = await harness.start(clocks)
    await walk_to(handle, Stage.ACTIVE)
    state = await until(handle, lambda s: all(r.started for r in s.referrals))
    first, jobcenter = state.referrals
    assert (first.partner_id, jobcenter.partner_id) == ("sprachkurs", "jobcenter")

    school = client.get_workflow_handle_for(ReferralWorkflow.run, first.id)
    await school.execute_update(ReferralWorkflow.decline, DeclineReason(reason="Kurs ist voll"))
    state = await until(handle, lambda s: len(s.referrals) == 3 and s.referrals[2].started)
    second = state.referrals[2]
    assert second.id == f"{handle.id}-ref-3" and second.partner_id == "sprachkurs-2"
    assert second.tried_partner_ids == ["sprachkurs", "sprachkurs-2"]

    other = client.get_workflow_handle_for(ReferralWorkflow.run, second.id)
    await other.execute_update(ReferralWorkflow.acknowledge)
    await other.execute_update(ReferralWorkflow.complete, Outcome(result=OutcomeResult.ACHIEVED))
    state = await until(handle, lambda s: any(m.done for m in s.measures))
    [done] = [m for m in state.measures if m.done]
    assert done.route_id == first.route_id and done.partner_id == "sprachkurs-2"
    assert state.referrals[0].status is ReferralStatus.DECLINED

    # The Jobcenter never answers: reminder, escalation, expiry, and no partner is left.
    state = await until(
        handle, lambda s: any(t.kind is TaskKind.REFERRAL_UNASSIGNED for t in s.tasks), 20
    )
    assert state.referrals[1].status is ReferralStatus.EXPIRED
    kinds = {t.kind for t in state.tasks if t.referral_id == jobcenter.id}
    assert kinds >= {TaskKind.REFERRAL_REMINDER, TaskKind.REFERRAL_ESCALATION}
    runs = await run_histories(client, handle)
    assert len(runs) >= 2  # the children reached the case across its continue-as-new
    if REGENERATE:
        children = [await client.get_workflow_handle(r.id).fetch_history() for r in state.referrals]
        save_histories("referral_decline", [*runs, *children])
    await handle.execute_update(AgreementWorkflow.close, Closure(reason="goals_achieved"))
    final: CaseState = await handle.result()
    assert final.stage is Stage.CLOSED


async def test_a_withdrawn_referral_ends_and_a_rerouted_one_goes_to_the_chosen_partner(
    harness: Harness,
) -> None:
    client = harness.client
    handle = await harness.start(Clocks(working_day_override=WORKING_DAY * 20))
    await walk_to(handle, Stage.ACTIVE)
    state = await until(handle, lambda s: all(r.started for r in s.referrals))
    school, jobcenter = state.referrals

    # The school referral goes to the other language school, chosen by the counsellor.
    change = ReferralReroute(referral_id=school.id, partner_id="sprachkurs-2", reason="näher")
    await handle.execute_update(AgreementWorkflow.reroute_referral, change)
    state = await until(handle, lambda s: len(s.referrals) == 3 and s.referrals[2].started)
    assert state.referrals[0].status is ReferralStatus.WITHDRAWN
    assert state.referrals[2].partner_id == "sprachkurs-2"
    # A partner the directory does not offer for the measure is refused before anything.
    wrong = ReferralReroute(referral_id=state.referrals[2].id, partner_id="jobcenter", reason="x")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(AgreementWorkflow.reroute_referral, wrong)
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.details == ("partner_id",)

    # The Jobcenter referral is withdrawn: its child is cancelled.
    withdrawal = ReferralWithdrawal(referral_id=jobcenter.id, reason="hat sich erledigt")
    await handle.execute_update(AgreementWorkflow.withdraw_referral, withdrawal)
    for referral_id in (school.id, jobcenter.id):
        child = client.get_workflow_handle(referral_id)
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(child.result(), timeout=10)
        assert (await child.describe()).status is WorkflowExecutionStatus.CANCELED
    state = await handle.query(AgreementWorkflow.state)
    assert [r.status for r in state.referrals] == [
        ReferralStatus.WITHDRAWN,
        ReferralStatus.WITHDRAWN,
        ReferralStatus.DISPATCHED,
    ]
    if REGENERATE:
        runs = await run_histories(client, handle)
        children = [await client.get_workflow_handle(r.id).fetch_history() for r in state.referrals]
        save_histories("referral_withdrawal", [*runs, *children])
    await handle.execute_update(AgreementWorkflow.close, Closure(reason="goals_achieved"))
    final: CaseState = await handle.result()
    assert final.stage is Stage.CLOSED
