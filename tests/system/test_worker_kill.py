"""A worker process killed mid-batch loses nothing and duplicates nothing.

A real worker (`python -m worker worker`, configured through `LOTSE_*` like in production) runs
a batch of referrals on the dev server; the test SIGKILLs it while reminders are out and
updates are in flight, starts a second worker, and checks that every referral reaches its
final state once, with each report delivered exactly once to the case. The "case" is the
test's `ReportRecorder`, run by an in-process worker on another task queue. The second worker
is stopped with SIGTERM and must exit cleanly.

Slow parts: the killed worker's cached workflows wait for the sticky-queue timeout (10 s by
default, 2 s here) before the new worker takes them over, and an activity it was running is
retried only after its start-to-close timeout (30 s for the case's background activities).
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.settings import Settings
from app.temporal import encrypted
from domain.case import AgreementInput, Stage
from domain.clocks import Clocks
from domain.enums import CentreKind
from domain.referral import Outcome, OutcomeResult, ReferralState, ReferralStatus, ReportKind
from store.db import make_engine
from tests.case_harness import walk_to
from tests.referral_harness import (
    RecordedReport,
    ReportRecorder,
    eventually,
    kinds,
    referral_input,
    reports_of,
    start_recorder,
)
from tests.samples import CLIENT
from tests.worker_harness import WorkerProcess, child_executions, projected_referrals
from worker.keys_cli import store_keys
from worker.up import prepare_store
from workflows.agreement import AgreementWorkflow
from workflows.referral import ReferralWorkflow

BATCH = 16
# Remind after 3 s, escalate after 6 s, expire after 9 s: the acknowledgements come first.
WORKING_DAY = timedelta(seconds=0.6)


async def wait_for_poller(client: Client, task_queue: str, timeout: float = 30) -> None:
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    response = await eventually(
        lambda: client.workflow_service.describe_task_queue(request),
        lambda r: len(r.pollers) > 0,
        timeout=timeout,
    )
    assert response.pollers, f"no worker polls {task_queue}"


async def test_killed_worker_loses_and_duplicates_nothing(
    dev_env: WorkflowEnvironment, task_queue: str, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    # The worker processes' data keys are those of their data dir: the test's client shares them.
    client = encrypted(dev_env.client, store_keys(Settings(data_dir=tmp_path)))
    target = client.service_client.config.target_host
    referral_queue = f"{task_queue}-referrals"
    outcome = Outcome(result=OutcomeResult.ACHIEVED)

    async with Worker(client, task_queue=task_queue, workflows=[ReportRecorder]):
        case = await start_recorder(client, task_queue, continue_after_reports=BATCH)
        workers.append(WorkerProcess(target, referral_queue, tmp_path))
        await wait_for_poller(client, referral_queue)

        # Even referrals are answered (acknowledged now, completed around the kill), odd ones
        # stay unanswered and run through reminder, escalation and expiry.
        now = datetime.now(UTC)
        clocks = Clocks(working_day_override=WORKING_DAY)
        handles = [
            await client.start_workflow(
                ReferralWorkflow.run,
                referral_input(case.id, n, now, clocks=clocks),
                id=f"{case.id}-ref-{n}",
                task_queue=referral_queue,
                # A task lost with the killed worker is retried after this, not after 10 s.
                task_timeout=timedelta(seconds=2),
            )
            for n in range(BATCH)
        ]
        answered, unanswered = handles[0::2], handles[1::2]
        await asyncio.gather(*(h.execute_update(ReferralWorkflow.acknowledge) for h in answered))
        await eventually(
            lambda: reports_of(client, case.id),
            lambda r: kinds(r).count(ReportKind.REMINDER) == len(unanswered),
        )

        workers[0].kill()
        # Half the completions are sent while no worker runs: they wait for the next one.
        first_half = [
            asyncio.create_task(h.execute_update(ReferralWorkflow.complete, outcome))
            for h in answered[::2]
        ]
        await asyncio.sleep(1)
        workers.append(WorkerProcess(target, referral_queue, tmp_path))
        await asyncio.gather(
            *first_half,
            *(h.execute_update(ReferralWorkflow.complete, outcome) for h in answered[1::2]),
        )
        finals: list[ReferralState] = await asyncio.wait_for(
            asyncio.gather(*(h.result() for h in handles)), timeout=60
        )
        recorded: list[RecordedReport] = await eventually(
            lambda: reports_of(client, case.id),
            lambda r: len(r) >= 2 * len(answered) + 3 * len(unanswered),
        )
        await asyncio.sleep(0.5)  # would a duplicate still arrive?
        recorded = await reports_of(client, case.id)

    assert [f.status for f in finals[0::2]] == [ReferralStatus.COMPLETED] * len(answered)
    assert [f.status for f in finals[1::2]] == [ReferralStatus.EXPIRED] * len(unanswered)
    for handle in answered:
        assert kinds(recorded, handle.id) == [ReportKind.ACKNOWLEDGED, ReportKind.COMPLETED]
    for handle in unanswered:
        assert kinds(recorded, handle.id) == [
            ReportKind.REMINDER,
            ReportKind.ESCALATED,
            ReportKind.EXPIRED,
        ]
    # One execution per referral, all closed: nothing was started or run twice.
    query = f"WorkflowId STARTS_WITH '{case.id}-ref-' AND ExecutionStatus != 'Running'"
    closed = await eventually(lambda: client.count_workflows(query), lambda c: c.count >= BATCH)
    await asyncio.sleep(0.5)  # visibility is eventually consistent: let a duplicate show up
    assert (
        (await client.count_workflows(f"WorkflowId STARTS_WITH '{case.id}-ref-'")).count
        == (closed.count)
        == BATCH
    )

    assert workers[1].terminate() == 0, workers[1].output()
    await client.get_workflow_handle(case.id).signal(ReportRecorder.stop)


CASES = 6


async def test_killed_worker_mid_batch_of_cases_starts_every_referral_once(
    dev_env: WorkflowEnvironment, task_queue: str, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    """The same with whole cases on the real activities and store: the worker dies while
    counsellors' updates are in flight and the first cases dispatch their referrals."""
    # The worker processes' data keys are those of their data dir: the test's client shares them.
    client = encrypted(dev_env.client, store_keys(Settings(data_dir=tmp_path)))
    target = client.service_client.config.target_host
    prepare_store(Settings(data_dir=tmp_path))  # the demo directory routing picks partners from
    workers.append(WorkerProcess(target, task_queue, tmp_path))
    await wait_for_poller(client, task_queue)

    cases = [
        await client.start_workflow(
            AgreementWorkflow.run,
            AgreementInput(
                case_id=(case_id := f"case-{uuid.uuid4()}"),
                municipality_id="musterstadt",
                centre_id="mbe-mitte",
                centre_kind=CentreKind.MBE,
                counsellor_id="berater1",
                client=CLIENT,
            ),
            id=case_id,
            task_queue=task_queue,
            task_timeout=timedelta(seconds=2),
        )
        for _ in range(CASES)
    ]
    walking = [asyncio.create_task(walk_to(case, Stage.ACTIVE, patience=60)) for case in cases]
    await asyncio.wait(walking, return_when=asyncio.FIRST_COMPLETED)
    workers[0].kill()
    await asyncio.sleep(1)
    workers.append(WorkerProcess(target, task_queue, tmp_path))
    states = await asyncio.wait_for(asyncio.gather(*walking), timeout=90)

    # Each case is active and each of its referrals is one child workflow and one row of the
    # read model. Checked through visibility and the store, not queries: a query to a case
    # that was cached on the killed worker waits for the sticky queue to time out.
    engine = make_engine(None, tmp_path)
    try:
        for case, state in zip(cases, states, strict=True):
            assert state.stage is Stage.ACTIVE
            expected = sorted(referral.id for referral in state.referrals)
            assert expected and len(expected) == len(set(expected))
            assert await child_executions(client, case.id, expected) == expected
            assert await projected_referrals(engine, case.id, expected) == expected
    finally:
        engine.dispose()
    assert workers[1].terminate() == 0, workers[1].output()
