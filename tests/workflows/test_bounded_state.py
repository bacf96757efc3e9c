"""Case and referral state stays bounded however long they live (domain/compaction.py, the
referral's archived notes): a case with 200 reviews and a referral with 2,000 progress notes
still continue as new, the read model keeps everything, and no payload in any of their
histories (inputs, updates, activity inputs and results, continue-as-new) reaches 256 KB.
Temporal refuses a payload over 2 MB, and a refused continue-as-new would end the case."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.case import CaseActivities
from activities.case_events import InMemoryCaseEventSink
from activities.directory import InMemoryDirectory
from domain.actions import AgreementDraft, DraftGoal, Review
from domain.case import GoalProgress, GoalStatus, Stage
from domain.clocks import Clocks
from domain.referral import ProgressNote, ReferralStatus
from tests.case_harness import Harness, send, time_skipping_harness, until, walk_to
from tests.case_histories import assert_no_task_failures, run_histories
from tests.key_harness import session_converter
from tests.referral_harness import referral_input
from worker.binaries import find_binary
from workflows.agreement import AgreementWorkflow
from workflows.referral import MAX_PROGRESS_NOTES, ReferralWorkflow

LIMIT = 256 * 1024
GOALS = 10


def payload_sizes(message: Message) -> Iterator[int]:
    """The size of every Temporal payload anywhere in `message` (a history event)."""
    if isinstance(message, Payload):
        yield message.ByteSize()
        return
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if not field.is_repeated:
            yield from payload_sizes(value)
        elif field.message_type.GetOptions().map_entry:
            for item in value.values():
                if isinstance(item, Message):
                    yield from payload_sizes(item)
        else:
            for item in value:
                yield from payload_sizes(item)


def largest_payload(histories: list[WorkflowHistory]) -> int:
    return max(size for history in histories for e in history.events for size in payload_sizes(e))


def test_the_payload_walk_finds_payloads_in_nested_and_map_fields() -> None:
    from temporalio.api.history.v1 import HistoryEvent

    event = HistoryEvent()
    started = event.workflow_execution_started_event_attributes
    started.input.payloads.add().data = b"x" * 1000
    started.memo.fields["m"].data = b"y" * 3000
    assert sorted(payload_sizes(event)) == [1003, 3003]


async def next_run(handle: WorkflowHandle[Any, Any], run_id: str) -> str:
    """Wait for the run after `run_id` (continue-as-new follows the update a moment later)."""
    for _ in range(400):
        current = (await handle.describe()).run_id
        if current != run_id:
            return current
        await asyncio.sleep(0.02)
    raise AssertionError("the run did not continue as new")


@pytest.fixture
async def harness(task_queue: str) -> AsyncIterator[Harness]:
    async with time_skipping_harness(task_queue) as harness:
        yield harness


async def test_a_case_with_200_reviews_stays_small(harness: Harness) -> None:
    handle = await harness.start()
    await walk_to(handle, Stage.DRAFTING)
    goals = [DraftGoal(text=f"Ziel {n}: " + "w" * 1000) for n in range(GOALS)]
    await send(handle, "draft_agreement", AgreementDraft(goals=goals))
    state = await walk_to(handle, Stage.ACTIVE)
    run_id = (await handle.describe()).run_id
    for cycle in range(200):
        review = Review(
            goal_progress=[
                GoalProgress(
                    goal_id=goal.id, status=GoalStatus.IN_PROGRESS, note=f"{cycle:>4} " + "n" * 1990
                )
                for goal in state.goals
            ],
            survey={"agreement_helped": cycle % 2 == 0},
        )
        await handle.execute_update(AgreementWorkflow.record_review, review)
        run_id = await next_run(handle, run_id)  # every review ends its run

    state = await until(handle, lambda s: s.emitted_through == s.last_sequence)
    assert state.stage is Stage.ACTIVE and state.reviews == [] and state.events == []
    reviews = [key for key in harness.sink.reviews if key[0] == state.id]
    assert len(reviews) == 200  # the read model has every one, notes and all
    assert len(harness.sink.reviews[reviews[-1]].goal_progress) == GOALS
    assert len(state.model_dump_json()) < 64 * 1024
    runs = await run_histories(harness.client, handle)
    assert len(runs) == 201
    assert_no_task_failures(runs)
    assert largest_payload(runs) < LIMIT


@pytest.fixture
async def referral_env() -> AsyncIterator[WorkflowEnvironment]:
    path = find_binary("temporal-test-server")
    assert path is not None
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=session_converter()
    )
    yield env
    await env.shutdown()


async def progress(handle: WorkflowHandle[Any, Any], numbers: range) -> None:
    await asyncio.gather(
        *(
            handle.execute_update(
                ReferralWorkflow.report_progress, ProgressNote(note=f"{n} " + "z" * 1990)
            )
            for n in numbers
        )
    )


async def test_a_referral_with_2000_notes_stays_small_and_takes_no_more(
    referral_env: WorkflowEnvironment, task_queue: str
) -> None:
    client: Client = referral_env.client
    sink = InMemoryCaseEventSink()
    activities = CaseActivities(InMemoryDirectory(), sink)
    # The case is not there: the referral's reports are lost, as for a closed case.
    case_id = f"case-{uuid.uuid4()}"
    referral = referral_input(case_id, 1, await referral_env.get_current_time())
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[ReferralWorkflow],
        activities=[activities.record_referral_note],
    ):
        handle = await client.start_workflow(
            ReferralWorkflow.run, referral, id=referral.referral_id, task_queue=task_queue
        )
        await handle.execute_update(ReferralWorkflow.acknowledge)
        # At most ten updates are in flight per workflow; eight at a time.
        for start in range(1, MAX_PROGRESS_NOTES + 1, 8):
            await progress(handle, range(start, min(start + 8, MAX_PROGRESS_NOTES + 1)))

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await progress(handle, range(MAX_PROGRESS_NOTES + 1, MAX_PROGRESS_NOTES + 2))
        assert isinstance(refused.value.cause, ApplicationError)
        assert "2.000 Zwischenstände" in refused.value.cause.message

        latest = client.get_workflow_handle_for(ReferralWorkflow.run, referral.referral_id)
        state = await latest.query(ReferralWorkflow.state)
        assert state.status is ReferralStatus.ACKNOWLEDGED
        assert state.progress_count == MAX_PROGRESS_NOTES and len(state.progress) == 5
        numbers = sorted(number for rid, number in sink.notes if rid == referral.referral_id)
        assert numbers == list(range(1, MAX_PROGRESS_NOTES + 1))

        runs = await run_histories(client, latest)
        assert len(runs) >= MAX_PROGRESS_NOTES // Clocks().max_events_per_run
        assert_no_task_failures(runs)
        assert largest_payload(runs) < LIMIT
        await latest.execute_update(ReferralWorkflow.complete, {"result": "achieved"})
        done = await latest.result()
        assert done.status is ReferralStatus.COMPLETED
        assert done.progress_count == MAX_PROGRESS_NOTES
