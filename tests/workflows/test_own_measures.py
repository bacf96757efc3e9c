"""`complete_own_measure` on the time-skipping server: the client's measure of the sample draft
ticked off with its day, behind the patch `own-measure-completion` (workflows/agreement.py);
a partner's measure, a day in the future and a measure of no case refused in the validator.
A measure of the client's that carries a proposal gets no follow-up reminder once ticked off
(the patch `own-measure-follow-ups`). Records tests/histories/own_measure_completion.json and
own_measure_follow_ups.json for test_replay.py."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.actions import AgreementDraft, OwnMeasureCompletion
from domain.case import CaseEventKind, Responsible, Stage, TaskKind
from domain.events import OwnMeasureCompleted, event_payload
from domain.months import german_day
from domain.stages_measures import ALREADY_DONE, PARTNERS_OWN
from tests.case_harness import (
    Harness,
    send_once,
    skip_to,
    state_of,
    time_skipping_harness,
    until,
    walk_to,
)
from tests.case_histories import (
    REGENERATE,
    assert_no_task_failures,
    patches,
    run_histories,
    save_histories,
)
from workflows.agreement import OWN_MEASURE_COMPLETION, OWN_MEASURE_FOLLOW_UPS, AgreementWorkflow


@pytest.fixture
async def harness(task_queue: str) -> AsyncIterator[Harness]:
    async with time_skipping_harness(task_queue) as harness:
        yield harness


async def _refused(
    handle: WorkflowHandle[Any, Any], completion: OwnMeasureCompletion
) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(AgreementWorkflow.complete_own_measure, completion)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def test_the_clients_measure_is_ticked_off_with_its_day_and_a_partners_is_not(
    harness: Harness,
) -> None:
    handle = await harness.start()
    state = await walk_to(handle, Stage.ACTIVE)
    own = next(m for m in state.measures if m.responsible is Responsible.CLIENT)
    partners = next(m for m in state.measures if m.responsible is Responsible.PARTNER)
    assert state.activated_at is not None
    today = german_day(state.activated_at)

    cause = await _refused(handle, OwnMeasureCompletion(measure_id=partners.id, done_on=today))
    assert (cause.type, cause.message) == ("Invalid", PARTNERS_OWN)
    tomorrow = today + timedelta(days=1)
    cause = await _refused(handle, OwnMeasureCompletion(measure_id=own.id, done_on=tomorrow))
    assert cause.type == "Invalid" and "Zukunft" in cause.message
    cause = await _refused(handle, OwnMeasureCompletion(measure_id="m999", done_on=today))
    assert cause.type == "NotFound"

    result = await handle.execute_update(
        AgreementWorkflow.complete_own_measure,
        OwnMeasureCompletion(measure_id=own.id, done_on=today),
    )
    assert result.stage is Stage.ACTIVE
    state = await state_of(handle)
    done = next(m for m in state.measures if m.id == own.id)
    assert done.done and done.done_at is not None and german_day(done.done_at) == today
    # The case keeps an event until the read model has it (domain/compaction.py): look in both.
    events = [*state.events, *harness.sink.events.get(state.id, {}).values()]
    event = next(e for e in events if e.kind is CaseEventKind.OWN_MEASURE_COMPLETED)
    assert event_payload(event) == OwnMeasureCompleted(
        measure_id=own.id, responsible=Responsible.CLIENT, done_on=today
    )
    # Once done, a second tick is refused (a repeated request with its key is answered instead).
    cause = await _refused(handle, OwnMeasureCompletion(measure_id=own.id, done_on=today))
    assert cause.message == ALREADY_DONE

    (history,) = await run_histories(harness.client, handle)
    assert OWN_MEASURE_COMPLETION in patches(history)
    assert_no_task_failures([history])
    if REGENERATE:
        save_histories("own_measure_completion", [history])


async def test_a_ticked_off_measure_gets_no_follow_up_reminder(harness: Harness) -> None:
    """The client enrols herself in the course the rules proposed (r1, follow-up after 42
    days): ticked off, its follow-up is dropped and no „Nachhalten“ task comes; the Jobcenter's
    referral keeps its own. Records tests/histories/own_measure_follow_ups.json."""
    handle = await harness.start()
    await walk_to(handle, Stage.DRAFTING)
    own_course = AgreementDraft.model_validate(
        {
            "goals": [{"text": "Deutsch auf B1"}],
            "measures": [
                {
                    "text": "Selbst zum Integrationskurs anmelden",
                    "responsible": "client",
                    "route_id": "r1",
                },
                {"text": "Vermittlung", "responsible": "partner", "route_id": "r2"},
            ],
        }
    )
    await send_once(handle, "draft_agreement", own_course)
    state = await walk_to(handle, Stage.ACTIVE)
    own = next(m for m in state.measures if m.responsible is Responsible.CLIENT)
    assert {f.route_id for f in state.follow_ups} == {"r1", "r2"}
    assert state.activated_at is not None
    await handle.execute_update(
        AgreementWorkflow.complete_own_measure,
        OwnMeasureCompletion(measure_id=own.id, done_on=german_day(state.activated_at)),
    )
    state = await state_of(handle)
    assert [f.route_id for f in state.follow_ups] == ["r2"]  # the referral's stays

    await skip_to(harness, state.activated_at + timedelta(days=57))
    state = await until(
        handle, lambda s: any(t.kind is TaskKind.FOLLOW_UP for t in s.tasks), timeout=20
    )
    reminders = [t.title for t in state.tasks if t.kind is TaskKind.FOLLOW_UP]
    # The Jobcenter's referral's follow-up came (so time did pass it), the course's did not.
    assert len(reminders) == 1 and "Jobcenter" in reminders[0], reminders

    runs = await run_histories(harness.client, handle)
    assert OWN_MEASURE_FOLLOW_UPS in [p for run in runs for p in patches(run)]
    assert_no_task_failures(runs)
    if REGENERATE:
        save_histories("own_measure_follow_ups", runs)
