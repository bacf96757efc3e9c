"""Continue-as-new on the time-skipping server: the next run has the whole state and goes on
with the event sequence, and an update id sent again after it takes effect once."""

from collections.abc import AsyncIterator

import pytest

from domain.actions import (
    Review,
)
from domain.case import (
    CaseEventKind,
    Stage,
)
from domain.clocks import Clocks
from tests.case_harness import (
    Harness,
    send,
    time_skipping_harness,
    until,
    walk_to,
)
from tests.case_histories import (
    assert_no_task_failures,
    run_histories,
    until_runs,
)
from tests.samples import intake
from workflows.agreement import AgreementWorkflow


@pytest.fixture
async def harness(task_queue: str) -> AsyncIterator[Harness]:
    async with time_skipping_harness(task_queue) as harness:
        yield harness


async def test_continue_as_new_keeps_the_whole_state_and_event_sequence(
    harness: Harness,
) -> None:
    handle = await harness.start(Clocks(max_events_per_run=10))
    await walk_to(handle, Stage.ACTIVE)
    state = await until(handle, lambda s: any(m.done for m in s.measures))
    state = await until(handle, lambda s: s.emitted_through == s.last_sequence)
    runs = await until_runs(harness.client, handle, 2)
    assert_no_task_failures(runs)
    # Everything of every stage is still there.
    assert state.profile is not None and len(state.needs) == 3 and len(state.routes) == 3
    assert len(state.goals) == 2 and len(state.measures) == 3
    assert state.document is not None and len(state.signatures) == 2
    assert [r.id.rsplit("-", 1)[1] for r in state.referrals] == ["1", "2", "3"]
    assert all(r.started for r in state.referrals)
    assert state.events == []  # the read model has them all, in order, once
    sequences = [e.sequence for e in harness.sink.history(state.id)]
    assert sequences == list(range(1, state.last_sequence + 1))


async def test_the_same_update_id_takes_effect_once_across_continue_as_new(
    harness: Harness,
) -> None:
    handle = await harness.start()
    first = await send(handle, "complete_intake", intake(expires_on=None), id="intake:key-1")
    again = await send(handle, "complete_intake", intake(expires_on=None), id="intake:key-1")
    assert again == first
    await walk_to(handle, Stage.ACTIVE)
    review = await handle.execute_update(
        AgreementWorkflow.record_review, Review(), id="review:key-2"
    )
    await until_runs(harness.client, handle, 2)  # the review ended the first run

    # Both ids again, now in the second run: answered with the first results, no effect.
    assert (
        await send(handle, "complete_intake", intake(expires_on=None), id="intake:key-1") == first
    )
    repeat = await handle.execute_update(
        AgreementWorkflow.record_review, Review(), id="review:key-2"
    )
    assert repeat == review
    after = await until(handle, lambda s: s.emitted_through == s.last_sequence)
    kinds = [event.kind for event in harness.sink.history(after.id)]
    assert kinds.count(CaseEventKind.INTAKE_COMPLETED) == 1
    assert kinds.count(CaseEventKind.REVIEW_RECORDED) == 1
    assert len([key for key in harness.sink.reviews if key[0] == after.id]) == 1
    assert len(await run_histories(harness.client, handle)) == 2
