"""Driving AgreementWorkflow in tests: a worker with the real case activities (in-memory
directory and event sink), a scripted stand-in for the referral children, and helpers that
walk a case to a stage, wait for asynchronous effects and save or load histories.

The stand-in `ScriptedReferral` is registered under the real child's type name and answers
for its partner from `SCRIPTS` (fixed, because the workflow sandbox re-imports this module):
`sprachkurs` declines, `sprachkurs-2` acknowledges and completes, `jobcenter` acknowledges.
"""

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory, WorkflowQueryFailedError
from temporalio.service import RPCError
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from activities.case import CaseActivities
    from activities.case_events import InMemoryCaseEventSink
    from activities.directory import InMemoryDirectory
    from domain.actions import Signature
    from domain.case import ActionResult, AgreementInput, CaseState, Party, Stage
    from domain.clocks import Clocks
    from domain.enums import CentreKind
    from domain.profile import IntakeData
    from domain.referral import (
        Outcome,
        OutcomeResult,
        ReferralInput,
        ReferralReport,
        ReferralStatus,
        ReportKind,
    )
    from tests.case_samples import CLIENT, MUNICIPALITY, PARTNERS, assessment, draft, intake

from workflows.agreement import AgreementWorkflow

HISTORIES = Path(__file__).parent / "histories"

SCRIPTS: dict[str, tuple[ReportKind, ...]] = {
    "sprachkurs": (ReportKind.DECLINED,),
    "sprachkurs-2": (ReportKind.ACKNOWLEDGED, ReportKind.COMPLETED),
    "jobcenter": (ReportKind.ACKNOWLEDGED,),
}


def settled(state: CaseState) -> bool:
    """Every scripted child has reported everything and every re-route has been started."""
    if state.stage is Stage.CLOSED:
        return True
    final = {kind: ReferralStatus(kind.value) for kind in SCRIPTS["sprachkurs-2"]}
    final[ReportKind.DECLINED] = ReferralStatus.DECLINED
    for referral in state.referrals:
        script = SCRIPTS.get(referral.partner_id, ())
        expected = final[script[-1]] if script else ReferralStatus.DISPATCHED
        if not referral.started or referral.awaiting_reroute or referral.status is not expected:
            return False
    return True


@workflow.defn(name="ReferralWorkflow")
class ScriptedReferral:
    """Reports what its partner's script says; ends when the script ends the referral, else
    waits like an open referral does (until the case withdraws it by cancelling)."""

    @workflow.run
    async def run(self, input: ReferralInput) -> None:
        case = workflow.get_external_workflow_handle(input.case_id)
        script = SCRIPTS.get(input.partner_id, ())
        for kind in script:
            outcome = (
                Outcome(result=OutcomeResult.ACHIEVED) if kind is ReportKind.COMPLETED else None
            )
            report = ReferralReport(
                referral_id=input.referral_id,
                route_id=input.route_id,
                partner_id=input.partner_id,
                kind=kind,
                at=workflow.now(),
                outcome=outcome,
            )
            await case.signal("referral_report", report)
        if not script or script[-1] not in (ReportKind.COMPLETED, ReportKind.DECLINED):
            await workflow.wait_condition(lambda: False)


SEARCH_ATTRIBUTES = {
    "CaseStage": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "MunicipalityId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "CentreId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "CounsellorId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "NextReviewDue": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "ReviewOverdue": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
}


async def register_search_attributes(client: Client) -> None:
    """The time-skipping server starts without Lotse's search attributes (upserting an
    unknown one fails every workflow task); registering twice is harmless."""
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace="default", search_attributes=SEARCH_ATTRIBUTES)
        )
    except RPCError as err:
        if "already" not in str(err).lower():
            raise


@dataclass
class Harness:
    client: Client
    task_queue: str
    sink: InMemoryCaseEventSink
    started: list[WorkflowHandle[Any, Any]] = field(default_factory=list)

    async def start(self, clocks: Clocks | None = None, **extra: Any) -> WorkflowHandle[Any, Any]:
        case_id = f"case-{uuid.uuid4()}"
        input = AgreementInput(
            case_id=case_id,
            municipality_id=MUNICIPALITY,
            centre_id="mbe-mitte",
            centre_kind=CentreKind.MBE,
            counsellor_id="berater1",
            client=CLIENT,
            clocks=clocks or Clocks(),
            **extra,
        )
        handle = await self.client.start_workflow(
            AgreementWorkflow.run, input, id=case_id, task_queue=self.task_queue
        )
        self.started.append(handle)
        return handle

    async def terminate_all(self) -> None:
        """End the cases a test left running, and their referral children. On the shared
        time-skipping server a workflow task left for a task queue nobody polls any more
        (a child's last report, a cancellation) stops time skipping for every later test."""
        for handle in self.started:
            # By id alone: the handle's own run may have continued as new long ago.
            current = self.client.get_workflow_handle(handle.id)
            ids = [handle.id]
            with contextlib.suppress(RPCError, WorkflowQueryFailedError, AssertionError):
                # A child start still in flight when its parent is terminated never finishes
                # on the time-skipping server (and blocks it): let every report and re-route
                # land first.
                state = await until(current, settled, 5)
                ids += [r.id for r in state.referrals]
            for workflow_id in ids:
                with contextlib.suppress(RPCError):
                    await self.client.get_workflow_handle(workflow_id).terminate("test over")


@asynccontextmanager
async def running_worker(
    client: Client,
    task_queue: str,
    *,
    activities: Sequence[Callable[..., Any]] | None = None,
    workflows: Sequence[type] = (AgreementWorkflow, ScriptedReferral),
) -> AsyncIterator[Harness]:
    sink = InMemoryCaseEventSink()
    case_activities = CaseActivities(InMemoryDirectory(PARTNERS), sink)
    defaults = [
        case_activities.route_needs,
        case_activities.resolve_partner,
        case_activities.render_agreement,
        case_activities.emit_case_events,
    ]
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=list(activities) if activities is not None else defaults,
    ):
        harness = Harness(client, task_queue, sink)
        try:
            yield harness
        finally:
            await harness.terminate_all()


async def state_of(handle: WorkflowHandle[Any, Any]) -> CaseState:
    # A query that reaches the time-skipping server while a run continues as new can hang
    # until its deadline: keep the deadline short, `until` asks again.
    return await handle.query(AgreementWorkflow.state, rpc_timeout=timedelta(seconds=2))


async def until(
    handle: WorkflowHandle[Any, Any],
    condition: Callable[[CaseState], bool],
    timeout: float = 10.0,
) -> CaseState:
    """Poll the case until `condition` holds (signals and the read model arrive later than the
    update that caused them)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    while True:
        try:
            state = await state_of(handle)
        except RPCError:
            if loop.time() > give_up:
                raise
            continue
        if condition(state):
            return state
        if loop.time() > give_up:
            raise AssertionError(
                f"condition not met; stage {state.stage}, events {state.events[-5:]}"
            )
        await asyncio.sleep(0.05)


async def walk_to(
    handle: WorkflowHandle[Any, Any], stage: Stage, profile: IntakeData | None = None
) -> CaseState:
    """Take a fresh case along the happy path until it is in `stage` (the permit of the sample
    profile does not expire: server time is today, not the samples' day)."""
    steps: list[tuple[str, Any]] = [
        ("complete_intake", profile or intake(expires_on=None)),
        ("complete_assessment", assessment()),
        ("draft_agreement", draft()),
        ("request_signature", None),
    ]
    for name, arg in steps:
        state = await state_of(handle)
        if state.stage is stage:
            return state
        if name == "draft_agreement" and stage is Stage.DRAFTING:
            return state
        await handle.execute_update(name, arg, result_type=ActionResult)
    state = await state_of(handle)
    if stage is Stage.AWAITING_SIGNATURE:
        return state
    assert state.document is not None
    for party in Party:
        await handle.execute_update(
            AgreementWorkflow.sign, Signature(party=party, document_hash=state.document.hash)
        )
    if stage is Stage.CLOSED:
        await handle.execute_update("close", {"reason": "withdrawn"}, result_type=ActionResult)
    return await state_of(handle)


async def run_histories(client: Client, handle: WorkflowHandle[Any, Any]) -> list[WorkflowHistory]:
    """The history of every run of a case, first to current, following continue-as-new."""
    first = client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    histories = []
    current: WorkflowHandle[Any, Any] | None = first
    while current is not None:
        history = await current.fetch_history()
        histories.append(history)
        last = history.events[-1]
        nxt = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        current = client.get_workflow_handle(handle.id, run_id=nxt) if nxt else None
    return histories


def save_histories(name: str, histories: list[WorkflowHistory]) -> None:
    HISTORIES.mkdir(exist_ok=True)
    runs = [history.to_json_dict() for history in histories]
    document = {"workflow_id": histories[0].workflow_id, "runs": runs}
    (HISTORIES / f"{name}.json").write_text(json.dumps(document, indent=1) + "\n")


def load_histories(name: str) -> list[WorkflowHistory]:
    document = json.loads((HISTORIES / f"{name}.json").read_text())
    return [WorkflowHistory.from_json(document["workflow_id"], run) for run in document["runs"]]


DAY = timedelta(days=1)
