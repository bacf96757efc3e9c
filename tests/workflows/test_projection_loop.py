"""The read model is off the clock's path (workflows/agreement_projection.py): with the read
model unreachable, a case's clocks still fire on time and its reviews still end their runs; the
backlog lands, in order and once, when the read model is back. A batch the read model can never
apply is skipped and recorded for the administrators; the case goes on."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from activities.case import CaseActivities
from activities.case_events import (
    CaseEventBatch,
    InMemoryCaseEventSink,
    ProjectionRejected,
)
from activities.directory import InMemoryDirectory
from domain.actions import Closure, Review
from domain.case import CaseEventKind, CaseState, Stage, TaskKind
from domain.clocks import Clocks
from tests.case_harness import (
    Harness,
    review_cycle,
    send,
    skip_to,
    state_of,
    time_skipping_harness,
    until,
    walk_to,
)
from tests.case_histories import assert_no_task_failures, run_histories
from tests.samples import PARTNERS

# A review falls due a day after signing and is overdue a day later: an outage of days, not
# months, so the test's time-skipping server has few retries to play through.
CLOCKS = Clocks(review_interval_override=timedelta(days=1), overdue_after=timedelta(days=1))
OVERDUE = CLOCKS.overdue_after


class RejectingSink(InMemoryCaseEventSink):
    """Refuses, for good, every batch that sets an overdue flag (as a read model refuses data
    it cannot store); everything else lands."""

    def append(self, batch: CaseEventBatch) -> int:
        if any(
            event.kind is CaseEventKind.REVIEW_OVERDUE and event.data.get("overdue")
            for event in batch.events
        ):
            raise ProjectionRejected("DataError")
        return super().append(batch)


def caught_up(state: CaseState) -> bool:
    return state.emitted_through == state.last_sequence


def sequences(sink: InMemoryCaseEventSink, case_id: str) -> list[int]:
    return [event.sequence for event in sink.history(case_id)]


@pytest.fixture
async def harness(task_queue: str) -> AsyncIterator[Harness]:
    async with time_skipping_harness(task_queue) as harness:
        yield harness


async def test_with_the_read_model_down_a_review_becomes_overdue_on_time_and_the_backlog_lands(
    harness: Harness,
) -> None:
    handle = await harness.start(CLOCKS)
    await walk_to(handle, Stage.ACTIVE)
    state = await until(handle, caught_up)
    assert state.next_review_due is not None
    harness.sink.failing = True

    await skip_to(harness, state.next_review_due + OVERDUE)
    late = await until(handle, lambda s: s.review_overdue)
    assert any(t.kind is TaskKind.REVIEW_OVERDUE for t in late.open_tasks())
    assert late.emitted_through < late.last_sequence  # the read model has none of it
    assert CaseEventKind.REVIEW_OVERDUE not in {e.kind for e in harness.sink.history(late.id)}

    # A review during the outage still ends the run; the unprojected events travel along.
    await review_cycle(harness, handle, Review(survey={"agreement_helped": True}))
    reviewed = await state_of(handle)
    assert not reviewed.review_overdue and not caught_up(reviewed)

    harness.sink.failing = False
    await skip_to(harness, (await harness.env.get_current_time()) + timedelta(hours=2))
    landed = await until(handle, caught_up)
    assert sequences(harness.sink, landed.id) == list(range(1, landed.last_sequence + 1))
    kinds = [e.kind for e in harness.sink.history(landed.id)]
    assert CaseEventKind.REVIEW_OVERDUE in kinds and CaseEventKind.REVIEW_RECORDED in kinds
    assert landed.events == []  # compacted once the read model had them
    assert_no_task_failures(await run_histories(harness.client, handle))


async def test_a_batch_the_read_model_refuses_is_skipped_and_the_case_goes_on(
    task_queue: str,
) -> None:
    sink = RejectingSink()
    activities = CaseActivities(InMemoryDirectory(PARTNERS), sink)
    methods = [
        activities.route_needs,
        activities.resolve_partner,
        activities.render_agreement,
        activities.emit_case_events,
        activities.record_referral_note,
    ]
    async with time_skipping_harness(task_queue, activities=methods) as harness:
        handle = await harness.start(CLOCKS)
        await walk_to(handle, Stage.ACTIVE)
        state = await until(handle, caught_up)
        assert state.next_review_due is not None
        await skip_to(harness, state.next_review_due + OVERDUE)
        late = await until(handle, lambda s: s.review_overdue and caught_up(s))
        # Skipped, not waited for: the administrators have it, with ids only.
        [failure] = sink.failures
        assert failure.case_id == late.id and failure.error == "DataError"
        stored = set(sequences(sink, late.id))
        skipped = set(range(failure.first_sequence, failure.last_sequence + 1))
        assert not stored & skipped

        await send(handle, "close", Closure(reason="no_contact"))
        closed = await until(handle, lambda s: s.stage is Stage.CLOSED and caught_up(s))
        assert closed.last_sequence in set(sequences(sink, closed.id))  # later events land
        assert_no_task_failures(await run_histories(harness.client, handle))
