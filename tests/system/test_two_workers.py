"""Two `lotse worker` processes on one task queue share a batch of cases; the first is killed
(SIGKILL, no goodbye) mid-batch and the second finishes every case alone, each exactly once.

Both workers are real processes configured only through `LOTSE_*` (as deploy/ runs N of
them), on the session's dev server and one shared SQLite read model. Cases are started through
the client, half of them while the first worker polls alone (so it holds them when it dies),
and walked from intake to active by the counsellor's updates, one after another (staggered):
at the kill some cases are done, some are in flight and some not yet started.
Afterwards every case is active with each of its referrals started once (one child execution
per referral id, one read-model row), its event log has no gaps and no repeats, and the read
model holds the case at its last event. The worker identities in the workflow histories show
that the survivor took over cases the killed worker had begun.

Slow parts (see test_worker_kill.py): the killed worker's cached cases wait for the
sticky-queue timeout (2 s here) and an activity it was running is retried after its
start-to-close timeout.
"""

import asyncio
import socket
import uuid
from collections import Counter
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from app.settings import Settings
from app.temporal import encrypted
from domain.actions import Signature
from domain.case import (
    ActionResult,
    AgreementInput,
    CaseEvent,
    CaseEventKind,
    CaseState,
    Party,
    Stage,
)
from domain.enums import CentreKind
from domain.referral import ReferralStatus
from store.archive import case_history
from store.db import make_engine
from store.projections import CaseSummary, ReferralSummary, TaskRecord
from tests.referral_harness import eventually
from tests.samples import CLIENT, assessment, draft, intake
from tests.worker_harness import (
    CASE_RECOVERY,
    WorkerProcess,
    child_executions,
    projected_referrals,
)
from worker.keys_cli import store_keys
from worker.up import prepare_store
from workflows.agreement import AgreementWorkflow

CASES = 8
STAGGER = 0.4  # seconds between one case's first update and the next one's
KILL_AFTER = 3  # cases active when the first worker is killed
# Each once per case on the way to active (signatures: one per party).
ONCE = (
    CaseEventKind.CASE_OPENED,
    CaseEventKind.INTAKE_COMPLETED,
    CaseEventKind.ROUTES_PROPOSED,
    CaseEventKind.ASSESSMENT_COMPLETED,
    CaseEventKind.AGREEMENT_DRAFTED,
    CaseEventKind.SIGNATURE_REQUESTED,
    CaseEventKind.AGREEMENT_ACTIVATED,
)


def identity(worker: WorkerProcess) -> str:
    """The worker's Temporal identity (the SDK's default: pid@host), as histories record it."""
    return f"{worker.process.pid}@{socket.gethostname()}"


async def wait_for_pollers(client: Client, task_queue: str, expected: set[str]) -> None:
    """Until every worker in `expected` is seen polling the queue. The server describes one
    partition of a task queue, and a worker's few pollers may all sit on others for a while:
    its workflow or its activity pollers seen is enough."""

    async def seen() -> set[str]:
        identities: set[str] = set()
        for kind in (
            TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        ):
            request = DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=kind,
            )
            response = await client.workflow_service.describe_task_queue(request)
            identities.update(poller.identity for poller in response.pollers)
        return identities

    polling = await eventually(seen, lambda identities: expected <= identities, timeout=30)
    assert expected <= polling, f"not polling {task_queue}: {expected - polling}"


async def start_case(client: Client, task_queue: str) -> WorkflowHandle[Any, Any]:
    case_id = f"case-{uuid.uuid4()}"
    return await client.start_workflow(
        AgreementWorkflow.run,
        AgreementInput(
            case_id=case_id,
            municipality_id="musterstadt",
            centre_id="mbe-mitte",
            centre_kind=CentreKind.MBE,
            counsellor_id="berater1",
            client=CLIENT,
        ),
        id=case_id,
        task_queue=task_queue,
        # A workflow task lost with the killed worker is retried after this, not after 10 s.
        task_timeout=timedelta(seconds=2),
    )


async def walk_to_active(handle: WorkflowHandle[Any, Any], delay: float) -> ActionResult:
    """After `delay`, the counsellor's updates from intake to both signatures. Only updates,
    no queries: a query to a case cached on the killed worker can time out, an update waits
    for the next worker."""
    await asyncio.sleep(delay)
    await handle.execute_update(AgreementWorkflow.complete_intake, intake(expires_on=None))
    await handle.execute_update(AgreementWorkflow.complete_assessment, assessment())
    await handle.execute_update(AgreementWorkflow.draft_agreement, draft())
    requested = await handle.execute_update(AgreementWorkflow.request_signature)
    assert requested.document is not None
    result = requested
    for party in Party:
        signature = Signature(party=party, document_hash=requested.document.hash)
        result = await handle.execute_update(AgreementWorkflow.sign, signature)
    return result


async def state_of(handle: WorkflowHandle[Any, Any]) -> CaseState:
    """The case's state, asked again while its worker is being replaced."""
    async with asyncio.timeout(CASE_RECOVERY):
        while True:
            try:
                state: CaseState = await handle.query(AgreementWorkflow.state)
                return state
            except RPCError:
                await asyncio.sleep(0.5)


async def worker_identities(client: Client, workflow_id: str) -> list[str]:
    """Who completed each workflow task of the case's current run, in order."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [
        event.workflow_task_completed_event_attributes.identity
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]


def assert_events_once(state: CaseState, events: list[CaseEvent]) -> None:
    """No gap and no repeat in the case's event log on its way to active (`events`: the
    whole history, the read model's and those the case still carries)."""
    sequences = [event.sequence for event in events]
    assert sequences == list(range(1, state.last_sequence + 1)), sequences
    kinds = Counter(event.kind for event in events)
    for kind in ONCE:
        assert kinds[kind] == 1, (kind, kinds)
    signers = sorted(str(e.data["party"]) for e in events if e.kind is CaseEventKind.SIGNED)
    assert signers == ["client", "counsellor"]
    dispatched = [
        str(event.data["referral_id"])
        for event in events
        if event.kind is CaseEventKind.REFERRAL_DISPATCHED
    ]
    assert sorted(dispatched) == sorted(referral.id for referral in state.referrals)
    tasks = [str(e.data["task_id"]) for e in events if e.kind is CaseEventKind.TASK_CREATED]
    assert sorted(tasks) == sorted(task.id for task in state.tasks)


async def projected_case(engine: Engine, state: CaseState) -> CaseSummary:
    """The case's read-model row once it holds the case's last event."""
    last = state.last_sequence

    def read() -> CaseSummary | None:
        with Session(engine) as session:
            return session.get(CaseSummary, state.id)

    row = await eventually(
        lambda: asyncio.to_thread(read),
        lambda r: r is not None and r.last_applied_seq >= last,
        timeout=CASE_RECOVERY,
    )
    assert row is not None, f"{state.id} not in the read model"
    return row


def read_model_rows(engine: Engine, case_id: str) -> tuple[list[ReferralStatus], list[str]]:
    """The statuses of the case's referral rows and the ids of its task rows."""
    with Session(engine) as session:
        referrals = session.exec(
            select(ReferralSummary).where(ReferralSummary.case_id == case_id)
        ).all()
        tasks = session.exec(select(TaskRecord).where(TaskRecord.case_id == case_id)).all()
        return [row.status for row in referrals], sorted(row.id for row in tasks)


async def test_second_worker_finishes_a_batch_alone_after_the_first_is_killed_mid_batch(
    dev_env: WorkflowEnvironment, task_queue: str, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    # The worker processes' data keys are those of their data dir: the test's client shares them.
    client = encrypted(dev_env.client, store_keys(Settings(data_dir=tmp_path)))
    target = client.service_client.config.target_host
    prepare_store(Settings(data_dir=tmp_path))  # the demo directory routing picks partners from
    first = WorkerProcess(target, task_queue, tmp_path)
    workers.append(first)
    await wait_for_pollers(client, task_queue, {identity(first)})
    # Half the cases open while the first worker polls alone: it keeps them cached (sticky),
    # so at least one of them is still on it when it dies.
    early = [await start_case(client, task_queue) for _ in range(CASES // 2)]
    for case in early:
        begun = await eventually(partial(worker_identities, client, case.id), bool)
        assert set(begun) == {identity(first)}, begun
    second = WorkerProcess(target, task_queue, tmp_path)
    workers.append(second)
    await wait_for_pollers(client, task_queue, {identity(first), identity(second)})
    late = [await start_case(client, task_queue) for _ in range(CASES - len(early))]

    cases = [case for pair in zip(early, late, strict=True) for case in pair]
    walking = [
        asyncio.create_task(walk_to_active(case, n * STAGGER)) for n, case in enumerate(cases)
    ]
    while sum(walk.done() for walk in walking) < KILL_AFTER:
        pending = [walk for walk in walking if not walk.done()]
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    first.kill()
    unfinished = {case.id for case, walk in zip(cases, walking, strict=True) if not walk.done()}
    assert unfinished, "the batch was over before the kill"

    results = await asyncio.wait_for(asyncio.gather(*walking), timeout=2 * CASE_RECOVERY)
    assert [result.stage for result in results] == [Stage.ACTIVE] * CASES

    # The early cases began on the first worker, and the survivor took over those it left
    # unfinished; no other worker ever touched the batch.
    taken_over = 0
    for case in cases:
        completed_by = await worker_identities(client, case.id)
        assert set(completed_by) <= {identity(first), identity(second)}, completed_by
        if case in early:
            assert completed_by[0] == identity(first), completed_by
            taken_over += completed_by[-1] == identity(second)
    assert taken_over > 0, "no case moved from the killed worker to the survivor"

    engine = make_engine(None, tmp_path)
    try:
        for case in cases:
            state = await state_of(case)
            assert state.stage is Stage.ACTIVE
            await projected_case(engine, state)
            assert_events_once(state, case_history(engine, state.id, state.events))
            # The sample draft takes the language and the employment proposal into measures.
            partners = sorted(referral.partner_id for referral in state.referrals)
            assert partners == ["jobcenter-musterstadt", "sprachschule-musterstadt"], partners
            expected = sorted(referral.id for referral in state.referrals)
            assert len(set(expected)) == 2
            # One execution per referral id (a repeated start would list one twice) and one
            # read-model row each.
            assert await child_executions(client, case.id, expected) == expected
            assert await projected_referrals(engine, case.id, expected) == expected
            row = await projected_case(engine, state)
            assert row.stage == Stage.ACTIVE
            statuses, task_ids = read_model_rows(engine, case.id)
            assert statuses == [ReferralStatus.DISPATCHED] * len(expected)
            assert len(task_ids) == len(state.tasks)
    finally:
        engine.dispose()
    assert second.terminate() == 0, second.output()
