"""The way back on the time-skipping server: `correct_intake` (routing recomputed by the real
rules before signature, an amendment due after it) and `withdraw_signature_request`, both
behind their patches (workflows/agreement.py), refused in the validator where the stage
machine says so. The whole-case tests record tests/histories/intake_correction.json and
signature_withdrawal.json for test_replay.py."""

from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.actions import Signature
from domain.case import CaseEventKind, Party, Stage, TaskKind
from domain.enums import ActorKind
from domain.events import IntakeCorrected, RoutesRecomputed, event_payload
from domain.stages_correction import UNCHANGED, WITHDRAW_FIRST
from tests.case_harness import (
    Harness,
    send_once,
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
from tests.samples import draft, intake
from workflows.agreement import (
    INTAKE_CORRECTIONS,
    SIGNATURE_REQUEST_WITHDRAWAL,
    AgreementWorkflow,
)

# The profile walk_to completes the intake with, and the same without Bürgergeld: the rules
# then send the employment need to the employment agency instead of the Jobcenter.
PROFILE = intake(expires_on=None)
WITHOUT_BENEFIT = PROFILE.model_copy(update={"receives_citizens_benefit": False})

ROUTING_CALLS = "route_needs"


@pytest.fixture
async def harness(task_queue: str) -> AsyncIterator[Harness]:
    async with time_skipping_harness(task_queue) as harness:
        yield harness


def activities(history: WorkflowHistory) -> list[str]:
    scheduled = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == scheduled
    ]


async def test_a_correction_before_signature_reroutes_and_drops_the_measure_without_route(
    harness: Harness,
) -> None:
    handle = await harness.start()
    await walk_to(handle, Stage.DRAFTING)
    await send_once(handle, "draft_agreement", draft())
    state = await state_of(handle)
    jobcenter = next(r for r in state.routes if r.actor is ActorKind.JOBCENTER)
    assert jobcenter.id in {m.route_id for m in state.measures}

    result = await handle.execute_update(AgreementWorkflow.correct_intake, WITHOUT_BENEFIT)
    assert result.stage is Stage.DRAFTING
    state = await state_of(handle)
    assert state.profile == WITHOUT_BENEFIT
    assert jobcenter.id not in {r.id for r in state.routes}
    assert jobcenter.id not in {m.route_id for m in state.measures}
    agency = next(r for r in state.routes if r.actor is ActorKind.EMPLOYMENT_AGENCY)
    # The read model may already have these events and the state compacted them away: read both.
    by_sequence = {e.sequence: e for e in harness.sink.events.get(state.id, {}).values()}
    by_sequence.update({e.sequence: e for e in state.events})
    events = [by_sequence[n] for n in sorted(by_sequence)]
    corrected = [event_payload(e) for e in events if e.kind is CaseEventKind.INTAKE_CORRECTED]
    assert corrected == [
        IntakeCorrected(field="receives_citizens_benefit", old="true", new="false")
    ]
    (recomputed,) = [event_payload(e) for e in events if e.kind is CaseEventKind.ROUTES_RECOMPUTED]
    assert isinstance(recomputed, RoutesRecomputed)
    assert recomputed.added == agency.id and recomputed.removed == jobcenter.id
    assert recomputed.dropped_measures and not recomputed.amendment_due

    # The same correction again changes nothing: refused in the validator.
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(AgreementWorkflow.correct_intake, WITHOUT_BENEFIT)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "Invalid"
    assert cause.message == UNCHANGED

    (history,) = await run_histories(harness.client, handle)
    assert INTAKE_CORRECTIONS in patches(history)
    assert activities(history).count(ROUTING_CALLS) == 2  # the assessment's, the correction's
    assert_no_task_failures([history])
    if REGENERATE:
        save_histories("intake_correction", [history])


async def test_after_signature_a_correction_keeps_the_agreement_and_makes_an_amendment_due(
    harness: Harness,
) -> None:
    handle = await harness.start()
    signed = await walk_to(handle, Stage.ACTIVE)
    await handle.execute_update(AgreementWorkflow.correct_intake, WITHOUT_BENEFIT)
    state = await until(handle, lambda s: s.profile == WITHOUT_BENEFIT)
    assert state.stage is Stage.ACTIVE
    assert [m.id for m in state.measures] == [m.id for m in signed.measures]
    assert state.document == signed.document
    assert any(r.actor is ActorKind.EMPLOYMENT_AGENCY for r in state.routes)
    assert any(t.kind is TaskKind.AMENDMENT_DUE for t in state.open_tasks())


async def test_a_presented_document_is_withdrawn_and_a_new_version_signed(
    harness: Harness,
) -> None:
    handle = await harness.start()
    state = await walk_to(handle, Stage.AWAITING_SIGNATURE)
    first = state.document
    assert first is not None

    # While it waits for signatures the intake cannot be corrected.
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(AgreementWorkflow.correct_intake, WITHOUT_BENEFIT)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "WrongStage"
    assert cause.message == WITHDRAW_FIRST

    result = await handle.execute_update(AgreementWorkflow.withdraw_signature_request)
    assert result.stage is Stage.DRAFTING
    await handle.execute_update(AgreementWorkflow.correct_intake, WITHOUT_BENEFIT)
    await handle.execute_update(AgreementWorkflow.request_signature)
    state = await state_of(handle)
    assert state.document is not None and state.document.version == first.version + 1
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(
            AgreementWorkflow.sign, Signature(party=Party.CLIENT, document_hash=first.hash)
        )
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and "zurückgezogen" in cause.message

    # Once one party signed the new version it cannot be withdrawn.
    current = Signature(party=Party.CLIENT, document_hash=state.document.hash)
    await handle.execute_update(AgreementWorkflow.sign, current)
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(AgreementWorkflow.withdraw_signature_request)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and "bereits unterschrieben" in cause.message
    state = await walk_to(handle, Stage.ACTIVE)
    assert [d.version for d in state.documents] == [first.version, first.version + 1]
    assert state.documents[0].withdrawn_at is not None

    (history,) = await run_histories(harness.client, handle)
    assert {INTAKE_CORRECTIONS, SIGNATURE_REQUEST_WITHDRAWAL} <= set(patches(history))
    assert_no_task_failures([history])
    if REGENERATE:
        save_histories("signature_withdrawal", [history])
