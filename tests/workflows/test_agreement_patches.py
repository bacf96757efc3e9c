"""Changes to the running AgreementWorkflow and how old cases keep their way (see the module
docstring of workflows/agreement.py): behind `workflow.patched`, the referrals of a signature
start in one workflow task; guarded by the carried state, a continued run upserts only the
search attributes that changed; guarded by the run's input, a review is announced seven days
ahead and projected events' notices go out. A new case takes the new paths; a history
recorded before them still replays with the current code."""

import json
from collections.abc import AsyncIterator, Sequence

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.common import HeaderCodecBehavior
from temporalio.worker import Replayer

from domain.actions import Review
from domain.case import Stage
from domain.referral import ReferralStatus
from tests.case_harness import (
    Harness,
    search_attributes,
    state_of,
    time_skipping_harness,
    until,
    walk_to,
)
from tests.case_histories import (
    assert_no_task_failures,
    load_histories,
    patches,
    run_histories,
    until_runs,
)
from tests.key_harness import session_converter
from workflows.actor_header import ActorInterceptor
from workflows.agreement import PARALLEL_REFERRAL_STARTS, AgreementWorkflow
from workflows.referral import NOTES_ARCHIVED, ReferralWorkflow

START_CHILD = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
UPSERT = EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
TASK_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
TASK_SCHEDULED = EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
# The SDK's own attribute, set by a patch (not carried by continue-as-new).
CHANGE_VERSION = "TemporalChangeVersion"


@pytest.fixture
async def harness(task_queue: str) -> AsyncIterator[Harness]:
    async with time_skipping_harness(task_queue) as harness:
        yield harness


def child_start_tasks(history: WorkflowHistory) -> list[int]:
    """For each referral child started, the workflow task that started it (notices, children
    too since the patch `notices`, are left out)."""
    return [
        event.start_child_workflow_execution_initiated_event_attributes.workflow_task_completed_event_id
        for event in history.events
        if event.event_type == START_CHILD
        and "-ref-" in event.start_child_workflow_execution_initiated_event_attributes.workflow_id
    ]


def upserted(event: HistoryEvent) -> list[str]:
    fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
    return list(fields.indexed_fields)


def upserted_in_first_task(history: WorkflowHistory) -> list[str]:
    """The search attributes the run's first workflow task upserted (its commands' events
    follow its completion, before the next task is scheduled)."""
    events = iter(history.events)
    for event in events:
        if event.event_type == TASK_COMPLETED:
            break
    names: list[str] = []
    for event in events:
        if event.event_type == TASK_SCHEDULED:
            break
        if event.event_type == UPSERT:
            names += upserted(event)
    return names


def continued_runs(histories: Sequence[WorkflowHistory]) -> list[WorkflowHistory]:
    """The case's runs that continue an earlier one (children left out)."""
    return [
        h
        for h in histories
        if "-ref-" not in h.workflow_id
        and h.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
    ]


def dispatching_run(histories: Sequence[WorkflowHistory]) -> WorkflowHistory:
    """The case's run that started the referrals of the signature (children left out)."""
    return next(
        h for h in histories if "-ref-" not in h.workflow_id and len(child_start_tasks(h)) >= 2
    )


def signature_starts(history: WorkflowHistory) -> list[int]:
    """The workflow tasks that started the signature's referrals (the first two children;
    a later re-route starts its child on its own)."""
    return child_start_tasks(history)[:2]


async def test_a_new_case_starts_the_referrals_of_a_signature_in_one_workflow_task(
    harness: Harness,
) -> None:
    handle = await harness.start()
    await walk_to(handle, Stage.ACTIVE)
    # The signature dispatches two referrals; the stand-in language school declines its one at
    # once (case_harness.SCRIPTS) and the case re-routes it. Waiting for that third referral
    # too: a poll that came only after the decline (a loaded machine) saw three, not two.
    state = await until(
        handle, lambda s: len(s.referrals) == 3 and all(r.started for r in s.referrals)
    )
    signed_off, rerouted = state.referrals[:2], state.referrals[2]
    assert len(signed_off) == 2 and {r.route_id for r in signed_off} == {"r1", "r2"}
    declined = next(r for r in signed_off if r.status is ReferralStatus.DECLINED)
    assert rerouted.route_id == declined.route_id and rerouted.partner_id != declined.partner_id
    [run] = await run_histories(harness.client, handle)
    assert_no_task_failures([run])
    tasks = child_start_tasks(run)
    # The signature's two children in one workflow task; the re-route's in a later one.
    assert len(tasks) == 3 and len(set(tasks[:2])) == 1 and tasks[2] > tasks[0]
    assert PARALLEL_REFERRAL_STARTS in patches(run)


@pytest.mark.parametrize("name", ["happy_path_v1", "referral_decline_v1"])
async def test_a_history_from_before_the_patch_still_replays(name: str) -> None:
    run = dispatching_run(load_histories(name))
    # Recorded before the patch: one workflow task per child, no marker.
    tasks = signature_starts(run)
    assert len(set(tasks)) == 2
    assert patches(run) == []
    replayer = Replayer(
        workflows=[AgreementWorkflow, ReferralWorkflow], data_converter=session_converter()
    )
    result = await replayer.replay_workflow(run, raise_on_replay_failure=False)
    assert result.replay_failure is None


@pytest.mark.parametrize("name", ["happy_path", "referral_decline"])
def test_the_current_histories_were_recorded_with_the_patch(name: str) -> None:
    run = dispatching_run(load_histories(name))
    assert len(set(signature_starts(run))) == 1
    assert PARALLEL_REFERRAL_STARTS in patches(run)
    # The notices of the signature's referrals went out as children of their own.
    assert notice_starts(run)
    started = run.events[0].workflow_execution_started_event_attributes
    assert b'"notices":true' in started.input.payloads[0].data


@pytest.mark.parametrize("name", ["happy_path_v3", "referral_decline_v3"])
async def test_a_history_from_before_the_notices_replays_without_them(name: str) -> None:
    runs = [h for h in load_histories(name) if "-ref-" not in h.workflow_id]
    replayer = Replayer(
        workflows=[AgreementWorkflow, ReferralWorkflow],
        data_converter=session_converter(),
        header_codec_behavior=HeaderCodecBehavior.CODEC,
        interceptors=[ActorInterceptor()],
    )
    for run in runs:
        # Recorded before the flags: its inputs lack them, no notice started, and it replays.
        started = run.events[0].workflow_execution_started_event_attributes
        assert b'"notices"' not in started.input.payloads[0].data
        assert notice_starts(run) == []
        result = await replayer.replay_workflow(run, raise_on_replay_failure=False)
        assert result.replay_failure is None, (run.workflow_id, result.replay_failure)


def notice_starts(history: WorkflowHistory) -> list[str]:
    """The ids of the notice children the run started."""
    return [
        event.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for event in history.events
        if event.event_type == START_CHILD
        and event.start_child_workflow_execution_initiated_event_attributes.workflow_id.startswith(
            "notice-"
        )
    ]


async def test_a_continued_run_upserts_only_changed_search_attributes(harness: Harness) -> None:
    handle = await harness.start()
    await walk_to(handle, Stage.ACTIVE)
    before = search_attributes(await handle.describe())
    await handle.execute_update(AgreementWorkflow.record_review, Review())
    runs = await until_runs(harness.client, handle, 2)
    assert_no_task_failures(runs)
    assert upserted_in_first_task(runs[1]) == []
    # The review moved the review date: that one attribute, no other.
    upserts = [e for e in runs[1].events if e.event_type == UPSERT]
    changed = {name for event in upserts for name in upserted(event)}
    assert changed <= {"NextReviewDue"}
    state = await state_of(handle)
    after = search_attributes(await handle.describe())
    assert after["CaseStage"] == "active" and after["NextReviewDue"] == state.next_review_due
    unchanged = set(before) - {"NextReviewDue", CHANGE_VERSION}
    assert len(unchanged) == 5
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}


@pytest.mark.parametrize("name", ["happy_path_v1", "referral_decline_v1"])
def test_before_the_change_a_continued_run_upserted_all_search_attributes(name: str) -> None:
    continued = continued_runs(load_histories(name))
    assert continued
    for run in continued:
        assert len(upserted_in_first_task(run)) == 6


def test_the_current_happy_path_carries_the_search_attributes() -> None:
    # (In referral_decline a run continues for its length, with an update waiting: that first
    # task changes attributes.)
    continued = continued_runs(load_histories("happy_path"))
    assert continued
    for run in continued:
        assert upserted_in_first_task(run) == []


def projects_in_own_loop(history: WorkflowHistory) -> bool | None:
    """The `projection_loop` of the run's input; None when the input does not carry it."""
    started = history.events[0].workflow_execution_started_event_attributes
    value = json.loads(started.input.payloads[0].data).get("projection_loop")
    return value if isinstance(value, bool) else None


@pytest.mark.parametrize(
    ("name", "carried"),
    [
        ("happy_path_v1", None),
        ("referral_decline_v1", None),
        ("happy_path_v2", None),
        ("referral_decline_v2", None),
        ("happy_path", True),
        ("referral_decline", True),
    ],
)
def test_a_run_projects_in_its_own_loop_only_when_its_input_says_so(
    name: str, carried: bool | None
) -> None:
    """Runs recorded before the projection loop project inline (their inputs lack the field,
    and replaying them takes that way, test_replay.py); every run of a newer case has it."""
    cases = [h for h in load_histories(name) if "-ref-" not in h.workflow_id]
    assert [projects_in_own_loop(run) for run in cases] == [carried] * len(cases)


@pytest.mark.parametrize(
    ("name", "archived"), [("referral_progress_v1", False), ("referral_progress", True)]
)
def test_a_referral_archives_its_notes_only_behind_the_patch(name: str, archived: bool) -> None:
    [history] = load_histories(name)
    scheduled = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert (NOTES_ARCHIVED in patches(history)) is archived
    assert scheduled == (["record_referral_note"] * 2 if archived else [])
