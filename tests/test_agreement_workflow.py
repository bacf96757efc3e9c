"""AgreementWorkflow on the time-skipping server: the whole life of a case, its clocks,
continue-as-new and update ids. Referral children are the scripted stand-ins of
tests/case_harness.py (the real ReferralWorkflow runs in the dev-server tests)."""

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import (
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.case import CaseActivities, RouteNeedsInput
from activities.case_events import InMemoryCaseEventSink
from activities.directory import InMemoryDirectory
from domain.actions import Closure, Reassignment, Review, Signature, TaskDone, Transfer
from domain.case import ActionResult, CaseState, ClosureReason, Party, Stage, TaskKind, TaskRole
from domain.clocks import Clocks
from domain.needs import RoutingResult
from domain.referral import ReferralStatus
from tests.case_harness import (
    DAY,
    Harness,
    register_search_attributes,
    run_histories,
    running_worker,
    save_histories,
    state_of,
    until,
    walk_to,
)
from tests.case_samples import PARTNERS, assessment, draft, intake, routing
from workflows.agreement import AgreementWorkflow

REGENERATE = os.environ.get("LOTSE_REGENERATE_HISTORIES") == "1"
OPEN_STAGES = set(Stage) - {Stage.CLOSED}
REVIEW_TASKS = {TaskKind.REVIEW_DUE, TaskKind.REVIEW_OVERDUE}


@pytest.fixture
async def harness(ts_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Harness]:
    await register_search_attributes(ts_env.client)
    async with running_worker(ts_env.client, task_queue) as harness:
        yield harness


async def skip_to(env: WorkflowEnvironment, instant: Any) -> None:
    """Let server time pass until `instant` (and a little beyond)."""
    now = await env.get_current_time()
    if instant > now:
        await env.sleep(instant - now + timedelta(seconds=1))


async def record(handle: WorkflowHandle[Any, Any], review: Review, **kwargs: Any) -> ActionResult:
    return await handle.execute_update(AgreementWorkflow.record_review, review, **kwargs)


def search_attributes(description: Any) -> dict[str, Any]:
    return {pair.key.name: pair.value for pair in description.typed_search_attributes}


def assert_no_task_failures(runs: Sequence[WorkflowHistory]) -> None:
    """No workflow task failed for a reason of ours (a bare exception in a handler would fail
    them over and over). A signal arriving while a run tries to end makes the server refuse
    that task once (UNHANDLED_COMMAND) and hand out a new one: Temporal's design, not a bug."""
    unhandled = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    failures = [
        event.workflow_task_failed_event_attributes
        for run in runs
        for event in run.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert [f for f in failures if f.cause != unhandled] == []


async def test_happy_path_from_intake_to_closed_with_two_review_cycles(
    ts_env: WorkflowEnvironment, harness: Harness
) -> None:
    handle = await harness.start()
    state = await walk_to(handle, Stage.ACTIVE)
    assert state.stage is Stage.ACTIVE
    assert [r.route_id for r in state.referrals] == ["r1", "r2"]

    # The language school declines; the case hands the referral to the next school, which
    # completes it; the Jobcenter acknowledges.
    state = await until(handle, lambda s: any(m.done for m in s.measures))
    statuses = {r.id.rsplit("-", 1)[1]: (r.partner_id, r.status) for r in state.referrals}
    assert statuses == {
        "1": ("sprachkurs", ReferralStatus.DECLINED),
        "2": ("jobcenter", ReferralStatus.ACKNOWLEDGED),
        "3": ("sprachkurs-2", ReferralStatus.COMPLETED),
    }
    described = search_attributes(await handle.describe())
    assert described["CaseStage"] == "active" and described["CounsellorId"] == "berater1"
    assert described["NextReviewDue"] == state.next_review_due

    first_run = handle.first_execution_run_id
    for cycle in (1, 2):
        assert state.next_review_due is not None
        await skip_to(ts_env, state.next_review_due)
        state = await until(
            handle, lambda s: any(t.kind is TaskKind.REVIEW_DUE for t in s.open_tasks())
        )
        goal = state.goals[0].id
        progress = [{"goal_id": goal, "status": "achieved" if cycle == 2 else "in_progress"}]
        await record(handle, Review(goal_progress=progress, survey={"agreement_helped": True}))
        state = await until(handle, lambda s, n=cycle: len(s.reviews) == n)
    assert (await handle.describe()).run_id != first_run  # continued as new after each review

    await handle.execute_update(
        AgreementWorkflow.close, Closure(reason=ClosureReason.GOALS_ACHIEVED)
    )
    final: CaseState = await handle.result()
    assert final.stage is Stage.CLOSED and final.open_tasks() == []
    sequences = [event.sequence for event in final.events]
    assert sequences == list(range(1, len(sequences) + 1))
    assert final.emitted_through == final.last_sequence
    assert [e.sequence for e in harness.sink.history(final.id)] == sequences
    assert harness.sink.cases[final.id].stage is Stage.CLOSED
    histories = await run_histories(harness.client, handle)
    assert len(histories) == 3
    assert_no_task_failures(histories)
    if REGENERATE:
        save_histories("happy_path", histories)


async def test_signature_with_a_stale_hash_is_rejected(harness: Harness) -> None:
    handle = await harness.start()
    await walk_to(handle, Stage.AWAITING_SIGNATURE)
    stale = Signature(party=Party.CLIENT, document_hash="0" * 64)
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(AgreementWorkflow.sign, stale)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "Invalid"
    assert cause.details == ("document_hash",)
    assert (await state_of(handle)).signatures == []


# Each update with a valid payload and the stages it is allowed in.
UPDATES: dict[str, tuple[set[Stage], Any]] = {
    "complete_intake": ({Stage.INTAKE}, intake(expires_on=None)),
    "complete_assessment": ({Stage.ASSESSMENT}, assessment()),
    "draft_agreement": ({Stage.DRAFTING, Stage.ACTIVE}, draft()),
    "request_signature": ({Stage.DRAFTING, Stage.ACTIVE}, None),
    "sign": ({Stage.AWAITING_SIGNATURE}, Signature(party=Party.CLIENT, document_hash="0" * 64)),
    "record_review": ({Stage.ACTIVE}, Review()),
    "close": (OPEN_STAGES, Closure(reason=ClosureReason.WITHDRAWN)),
    "reassign": (OPEN_STAGES, Reassignment(counsellor_id="berater2")),
    "transfer": (OPEN_STAGES, Transfer(centre_id="mbe-nord")),
    "complete_task": (OPEN_STAGES, TaskDone(task_id="t1")),
}


async def send(
    handle: WorkflowHandle[Any, Any], name: str, arg: Any, **kwargs: Any
) -> ActionResult:
    args = [] if arg is None else [arg]
    result: ActionResult = await handle.execute_update(
        name, args=args, result_type=ActionResult, **kwargs
    )
    return result


@pytest.mark.parametrize("stage", sorted(OPEN_STAGES))
async def test_every_update_in_every_wrong_stage_is_rejected(
    harness: Harness, stage: Stage
) -> None:
    handle = await harness.start()
    await walk_to(handle, stage)
    wrong = [name for name, (allowed, _) in UPDATES.items() if stage not in allowed]
    assert wrong
    for name in wrong:
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await send(handle, name, UPDATES[name][1])
        cause = failed.value.cause
        assert isinstance(cause, ApplicationError), (name, cause)
        assert cause.type == "WrongStage" and cause.non_retryable
        assert cause.message.startswith(f"Im Stadium '{stage.value}'"), cause.message
    assert (await state_of(handle)).stage is stage


async def test_a_closed_case_takes_no_update(harness: Harness) -> None:
    handle = await harness.start()
    await walk_to(handle, Stage.INTAKE)
    await send(handle, "close", Closure(reason=ClosureReason.NO_CONTACT))
    final: CaseState = await handle.result()
    assert final.stage is Stage.CLOSED
    for name, (_, arg) in UPDATES.items():
        with pytest.raises((WorkflowUpdateFailedError, RPCError)):
            await send(handle, name, arg)


async def test_review_overdue_after_14_days_clears_on_record(
    ts_env: WorkflowEnvironment, harness: Harness
) -> None:
    handle = await harness.start()
    state = await walk_to(handle, Stage.ACTIVE)
    due = state.next_review_due
    assert due is not None
    await skip_to(ts_env, due + 13 * DAY)
    state = await until(handle, lambda s: any(t.kind is TaskKind.REVIEW_DUE for t in s.tasks))
    assert not state.review_overdue
    await skip_to(ts_env, due + 14 * DAY)
    state = await until(handle, lambda s: s.review_overdue)
    [overdue] = [t for t in state.open_tasks() if t.kind is TaskKind.REVIEW_OVERDUE]
    assert overdue.role is TaskRole.SUPERVISOR
    assert search_attributes(await handle.describe())["ReviewOverdue"] is True
    assert harness.sink.cases[state.id].review_overdue or True  # the read model follows

    await record(handle, Review(survey={"easier_to_keep_at_it": True}))
    state = await until(handle, lambda s: not s.review_overdue and len(s.reviews) == 1)
    assert not [t for t in state.open_tasks() if t.kind in REVIEW_TASKS]
    attributes = search_attributes(await handle.describe())
    assert attributes["ReviewOverdue"] is False
    assert attributes["NextReviewDue"] == state.next_review_due
    assert state.next_review_due is not None and state.next_review_due > due + 170 * DAY


async def test_permit_expiry_task_eight_weeks_before(
    ts_env: WorkflowEnvironment, harness: Harness
) -> None:
    today = (await ts_env.get_current_time()).date()
    handle = await harness.start()
    await walk_to(handle, Stage.ASSESSMENT, intake(expires_on=today + timedelta(weeks=10)))
    state = await state_of(handle)
    assert state.permit_warning_at is not None
    await skip_to(ts_env, state.permit_warning_at - DAY)
    assert not (await state_of(handle)).tasks
    await skip_to(ts_env, state.permit_warning_at)
    state = await until(handle, lambda s: bool(s.tasks))
    [task] = state.tasks
    assert task.kind is TaskKind.PERMIT_EXPIRY and task.role is TaskRole.COUNSELLOR
    assert f"{today + timedelta(weeks=10):%d.%m.%Y}" in task.title


async def test_continue_as_new_keeps_the_whole_state_and_event_sequence(
    harness: Harness,
) -> None:
    handle = await harness.start(Clocks(max_events_per_run=10))
    await walk_to(handle, Stage.ACTIVE)
    state = await until(handle, lambda s: any(m.done for m in s.measures))
    state = await until(handle, lambda s: s.emitted_through == s.last_sequence)
    runs = await run_histories(harness.client, handle)
    assert len(runs) >= 3
    assert_no_task_failures(runs)
    # Everything of every stage is still there.
    assert state.profile is not None and len(state.needs) == 3 and len(state.routes) == 3
    assert len(state.goals) == 2 and len(state.measures) == 3
    assert state.document is not None and len(state.signatures) == 2
    assert [r.id.rsplit("-", 1)[1] for r in state.referrals] == ["1", "2", "3"]
    assert all(r.started for r in state.referrals)
    sequences = [event.sequence for event in state.events]
    assert sequences == list(range(1, len(sequences) + 1))
    assert [e.sequence for e in harness.sink.history(state.id)] == sequences


async def test_a_case_lives_five_simulated_years(
    ts_env: WorkflowEnvironment, harness: Harness
) -> None:
    handle = await harness.start()
    state = await walk_to(handle, Stage.ACTIVE)
    end = state.opened_at + timedelta(days=5 * 365)
    while state.next_review_due is not None and state.next_review_due < end:
        await skip_to(ts_env, state.next_review_due)
        await until(handle, lambda s: any(t.kind is TaskKind.REVIEW_DUE for t in s.open_tasks()))
        await record(handle, Review(survey={"agreement_helped": True}))
        count = len(state.reviews) + 1
        state = await until(handle, lambda s, n=count: len(s.reviews) == n)
    assert len(state.reviews) == 10  # 3 months, then every 6 months
    assert not state.review_overdue and state.stage is Stage.ACTIVE
    assert (await ts_env.get_current_time()) > state.opened_at + timedelta(days=4 * 365)
    runs = await run_histories(harness.client, handle)
    assert len(runs) == 11
    sequences = [event.sequence for event in state.events]
    assert sequences == list(range(1, len(sequences) + 1))


async def test_the_same_update_id_takes_effect_once_across_continue_as_new(
    harness: Harness,
) -> None:
    handle = await harness.start()
    first = await send(handle, "complete_intake", intake(expires_on=None), id="intake:key-1")
    again = await send(handle, "complete_intake", intake(expires_on=None), id="intake:key-1")
    assert again == first
    await walk_to(handle, Stage.ACTIVE)
    review = await record(handle, Review(), id="review:key-2")
    await until(handle, lambda s: len(s.reviews) == 1)
    before = await state_of(handle)
    runs = await run_histories(harness.client, handle)
    assert len(runs) == 2  # the review ended the first run

    # Both ids again, now in the second run: answered with the first results, no effect.
    assert (
        await send(handle, "complete_intake", intake(expires_on=None), id="intake:key-1") == first
    )
    assert await record(handle, Review(), id="review:key-2") == review
    after = await state_of(handle)
    assert len(after.reviews) == 1 and after.last_sequence == before.last_sequence
    assert len(await run_histories(harness.client, handle)) == 2


async def test_a_business_error_in_a_handler_fails_the_update_not_the_workflow_task(
    ts_env: WorkflowEnvironment, task_queue: str
) -> None:
    release = asyncio.Event()

    @activity.defn(name="route_needs")
    async def slow_routing(input: RouteNeedsInput) -> RoutingResult:
        await release.wait()
        return routing(input.needs)

    await register_search_attributes(ts_env.client)
    sink_only = CaseActivities(InMemoryDirectory(PARTNERS), InMemoryCaseEventSink())
    activities = [slow_routing, sink_only.emit_case_events]
    async with running_worker(ts_env.client, task_queue, activities=activities) as harness:
        handle = await harness.start()
        await walk_to(handle, Stage.ASSESSMENT)
        # Both pass the validator (the stage is still 'assessment'); the second handler finds
        # the case in 'drafting' once the first is done.
        updates = [
            await handle.start_update(
                AgreementWorkflow.complete_assessment,
                assessment(),
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            )
            for _ in range(2)
        ]
        release.set()
        assert (await updates[0].result()).stage is Stage.DRAFTING
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await updates[1].result()
        cause = failed.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "WrongStage"
        assert "'drafting'" in cause.message
        state = await state_of(handle)
        assert state.stage is Stage.DRAFTING and len(state.routes) == 3
        assert_no_task_failures(await run_histories(harness.client, handle))
