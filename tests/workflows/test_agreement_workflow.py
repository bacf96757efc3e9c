"""AgreementWorkflow on the time-skipping server: a whole case, and how updates are refused
(in the validator before history, or by a handler as a failed update, never a failed workflow
task). Referral children are the scripted stand-ins of tests/case_harness.py; clocks are in
test_agreement_workflow_clocks.py, continue-as-new in test_agreement_workflow_runs.py."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import (
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities.case import CaseActivities, RouteNeedsInput
from activities.case_events import InMemoryCaseEventSink
from activities.directory import InMemoryDirectory
from domain.actions import (
    AgreementDraft,
    Closure,
    DraftMeasure,
    Reassignment,
    Review,
    Signature,
    TaskDone,
    Transfer,
)
from domain.case import (
    STAGE_LABELS,
    CaseState,
    ClosureReason,
    Party,
    Responsible,
    Stage,
    TaskKind,
)
from domain.needs import RoutingResult
from domain.referral import ReferralStatus
from tests.case_harness import (
    Harness,
    review_cycle,
    search_attributes,
    send,
    skip_to,
    state_of,
    time_skipping_harness,
    until,
    walk_to,
)
from tests.case_histories import (
    REGENERATE,
    assert_no_task_failures,
    run_histories,
    save_histories,
    until_runs,
)
from tests.samples import PARTNERS, assessment, draft, intake, routing
from workflows.agreement import AgreementWorkflow

OPEN_STAGES = set(Stage) - {Stage.CLOSED}

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


@pytest.fixture
async def harness(task_queue: str) -> AsyncIterator[Harness]:
    async with time_skipping_harness(task_queue) as harness:
        yield harness


async def test_happy_path_from_intake_to_closed_with_two_review_cycles(harness: Harness) -> None:
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
        await skip_to(harness, state.next_review_due)
        state = await until(
            handle, lambda s: any(t.kind is TaskKind.REVIEW_DUE for t in s.open_tasks())
        )
        goal = state.goals[0].id
        progress = [{"goal_id": goal, "status": "achieved" if cycle == 2 else "in_progress"}]
        review = Review(goal_progress=progress, survey={"agreement_helped": True})
        await review_cycle(harness, handle, review)
        state = await until(handle, lambda s: s.emitted_through == s.last_sequence)
        # The read model has the review; the case carries none once it is projected.
        assert len([k for k in harness.sink.reviews if k[0] == state.id]) == cycle
        assert state.reviews == []
    assert (await handle.describe()).run_id != first_run  # continued as new after each review

    await handle.execute_update(
        AgreementWorkflow.close, Closure(reason=ClosureReason.GOALS_ACHIEVED)
    )
    final: CaseState = await handle.result()
    assert final.stage is Stage.CLOSED and final.open_tasks() == []
    # The read model has every event, once, in order; the case carries none of them any more.
    assert final.emitted_through == final.last_sequence and final.events == []
    sequences = [e.sequence for e in harness.sink.history(final.id)]
    assert sequences == list(range(1, final.last_sequence + 1))
    assert harness.sink.cases[final.id].stage is Stage.CLOSED
    histories = await until_runs(harness.client, handle, 3)
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
        assert cause.message.startswith(f"Im Stadium „{STAGE_LABELS[stage]}“"), cause.message
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


async def test_a_business_error_in_a_handler_fails_the_update_not_the_workflow_task(
    task_queue: str,
) -> None:
    release = asyncio.Event()

    @activity.defn(name="route_needs")
    async def slow_routing(input: RouteNeedsInput) -> RoutingResult:
        await release.wait()
        return routing(input.needs)

    sink_only = CaseActivities(InMemoryDirectory(PARTNERS), InMemoryCaseEventSink())
    activities: list[Callable[..., Any]] = [slow_routing, sink_only.emit_case_events]
    async with time_skipping_harness(task_queue, activities) as harness:
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
        assert "„Entwurf“" in cause.message
        state = await state_of(handle)
        assert state.stage is Stage.DRAFTING and len(state.routes) == 3
        assert_no_task_failures(await run_histories(harness.client, handle))


async def test_bad_data_found_by_an_activity_fails_the_update_with_the_field(
    harness: Harness,
) -> None:
    handle = await harness.start()
    await walk_to(handle, Stage.DRAFTING)
    # The stage machine cannot know partner kinds; rendering the document checks them.
    wrong_kind = DraftMeasure(
        text="Deutschkurs",
        responsible=Responsible.PARTNER,
        route_id="r1",
        partner_id="jobcenter",
        override_reason="liegt näher",
    )
    await handle.execute_update(
        AgreementWorkflow.draft_agreement,
        AgreementDraft(goals=draft().goals, measures=[wrong_kind]),
    )
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(AgreementWorkflow.request_signature)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "Invalid"
    assert cause.details == ("measures.0.partner_id",)
    state = await state_of(handle)
    assert state.stage is Stage.DRAFTING and state.documents == []
