"""The case clocks on the time-skipping server: review due and overdue, permit expiry, and a
case living five simulated years (a review cycle, and a run, every six months)."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from domain.actions import (
    Review,
)
from domain.case import (
    Stage,
    TaskKind,
    TaskRole,
)
from domain.months import german_day, start_of_german_day
from domain.notifications import Notice, NoticeKind
from tests.api_harness import eventually
from tests.case_harness import (
    DAY,
    Harness,
    review_cycle,
    search_attributes,
    skip_to,
    state_of,
    time_skipping_harness,
    until,
    walk_to,
)
from tests.case_histories import (
    assert_no_task_failures,
    run_histories,
)
from tests.samples import intake

REVIEW_TASKS = {TaskKind.REVIEW_DUE, TaskKind.REVIEW_OVERDUE}


@pytest.fixture
async def harness(task_queue: str) -> AsyncIterator[Harness]:
    async with time_skipping_harness(task_queue) as harness:
        yield harness


async def test_review_overdue_after_14_days_clears_on_record(harness: Harness) -> None:
    handle = await harness.start()
    state = await walk_to(handle, Stage.ACTIVE)
    due = state.next_review_due
    assert due is not None
    await skip_to(harness, due + 13 * DAY)
    state = await until(handle, lambda s: any(t.kind is TaskKind.REVIEW_DUE for t in s.tasks))
    assert not state.review_overdue
    await skip_to(harness, due + 14 * DAY)
    state = await until(handle, lambda s: s.review_overdue)
    [overdue] = [t for t in state.open_tasks() if t.kind is TaskKind.REVIEW_OVERDUE]
    assert overdue.role is TaskRole.SUPERVISOR
    assert search_attributes(await handle.describe())["ReviewOverdue"] is True
    await until(handle, lambda s: s.emitted_through == s.last_sequence)
    assert harness.sink.cases[state.id].review_overdue  # the read model follows

    await review_cycle(harness, handle, Review(survey={"easier_to_keep_at_it": True}))
    state = await until(handle, lambda s: s.emitted_through == s.last_sequence)
    assert not state.review_overdue
    assert [key[0] for key in harness.sink.reviews] == [state.id]
    assert not [t for t in state.open_tasks() if t.kind in REVIEW_TASKS]
    attributes = search_attributes(await handle.describe())
    assert attributes["ReviewOverdue"] is False
    assert attributes["NextReviewDue"] == state.next_review_due
    assert state.next_review_due is not None and state.next_review_due > due + 170 * DAY


async def test_permit_expiry_task_eight_weeks_before(harness: Harness) -> None:
    today = (await harness.env.get_current_time()).date()
    handle = await harness.start()
    await walk_to(handle, Stage.ASSESSMENT, intake(expires_on=today + timedelta(weeks=10)))
    state = await state_of(handle)
    assert state.permit_warning_at is not None
    await skip_to(harness, state.permit_warning_at - DAY)
    assert not (await state_of(handle)).tasks
    await skip_to(harness, state.permit_warning_at)
    state = await until(handle, lambda s: bool(s.tasks))
    [task] = state.tasks
    assert task.kind is TaskKind.PERMIT_EXPIRY and task.role is TaskRole.COUNSELLOR
    assert task.due_at == start_of_german_day(today + timedelta(weeks=10))


async def test_a_case_lives_five_simulated_years(harness: Harness) -> None:
    handle = await harness.start()
    state = await walk_to(handle, Stage.ACTIVE)
    end = state.opened_at + timedelta(days=5 * 365)
    while state.next_review_due is not None and state.next_review_due < end:
        await skip_to(harness, state.next_review_due)
        await until(handle, lambda s: any(t.kind is TaskKind.REVIEW_DUE for t in s.open_tasks()))
        await review_cycle(harness, handle, Review(survey={"agreement_helped": True}))
        state = await state_of(handle)
    # 3 months, then every 6 months: the read model has all ten, the case those it has not.
    assert len([key for key in harness.sink.reviews if key[0] == state.id]) == 10
    assert all(r.id in {e.data.get("review_id") for e in state.events} for r in state.reviews)
    assert not state.review_overdue and state.stage is Stage.ACTIVE
    assert (await harness.env.get_current_time()) > state.opened_at + timedelta(days=4 * 365)
    runs = await run_histories(harness.client, handle)
    assert len(runs) == 11  # one per review cycle
    assert_no_task_failures(runs)
    sequences = [event.sequence for event in harness.sink.history(state.id)]
    assert sequences == list(range(1, state.emitted_through + 1))
    assert all(event.sequence > state.emitted_through for event in state.events)


async def test_the_counsellor_is_told_a_week_before_the_review_and_partners_of_new_referrals(
    harness: Harness,
) -> None:
    handle = await harness.start()
    state = await walk_to(handle, Stage.ACTIVE)
    due = state.next_review_due
    assert due is not None
    await skip_to(harness, due - 8 * DAY)
    state = await until(handle, lambda s: s.emitted_through == s.last_sequence)
    assert not state.review_reminded
    await skip_to(harness, due - 7 * DAY)
    state = await until(handle, lambda s: s.review_reminded)

    def told(kind: NoticeKind) -> list[Notice]:
        return [n for n in harness.notices.notices.values() if n.kind is kind]

    async def reminded() -> list[Notice] | None:
        return told(NoticeKind.REVIEW_DUE_SOON) or None

    [notice] = await eventually(reminded)
    assert (notice.to.id, notice.case_id) == ("berater1", state.id)
    assert notice.deadline == german_day(due) and notice.event_key.endswith(":review_due_soon")
    # Every referral was announced to its partner, once.
    announced = {n.referral_id: n.to.id for n in told(NoticeKind.REFERRAL_NEW)}
    assert announced == {r.id: r.partner_id for r in state.referrals}
