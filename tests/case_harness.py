"""Driving AgreementWorkflow in tests: a worker with the real case activities (in-memory
directory and event sink), a scripted stand-in for the referral children, and helpers that
walk a case to a stage and wait for asynchronous effects (histories: case_histories.py).

The stand-in `ScriptedReferral` is registered under the real child's type name and answers
for its partner from `SCRIPTS` (fixed, because the workflow sandbox re-imports this module):
`sprachkurs` declines, `sprachkurs-2` acknowledges and completes, `jobcenter` acknowledges.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.case_histories import run_histories, until_runs
from worker.binaries import find_binary

with workflow.unsafe.imports_passed_through():
    from activities.case import CaseActivities
    from activities.case_events import InMemoryCaseEventSink
    from activities.directory import InMemoryDirectory
    from activities.notifications import NotificationActivities
    from domain.actions import Review, Signature
    from domain.case import ActionResult, AgreementInput, CaseState, Party, Stage
    from domain.clocks import Clocks
    from domain.enums import CentreKind
    from domain.notifications import DeliveryStatus, Notice, Recipients
    from domain.profile import IntakeData
    from domain.referral import (
        Outcome,
        OutcomeResult,
        ReferralInput,
        ReferralReport,
        ReportKind,
    )
    from tests.key_harness import session_converter  # cryptography: never reloaded in there
    from tests.samples import CLIENT, MUNICIPALITY, PARTNERS, assessment, draft, intake

from workflows.agreement import AgreementWorkflow
from workflows.notice import NoticeWorkflow
from workflows.search_attributes import indexed_value_types

DAY = timedelta(days=1)

SCRIPTS: dict[str, tuple[ReportKind, ...]] = {
    "sprachkurs": (ReportKind.DECLINED,),
    "sprachkurs-2": (ReportKind.ACKNOWLEDGED, ReportKind.COMPLETED),
    "jobcenter": (ReportKind.ACKNOWLEDGED,),
}


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


SEARCH_ATTRIBUTES = indexed_value_types()


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own, with Lotse's search attributes.

    Not the session's `ts_env`: that server has one clock and one time-skipping lock for all
    tests, and a case a test leaves mid-way (a child start or an external cancel in flight)
    can keep it from ever skipping again, failing every later test. A server costs ~0.1 s.
    Without the search attributes, upserting one fails every workflow task."""
    path = find_binary("temporal-test-server")
    assert path is not None, "temporal-test-server not installed (the dev extra)"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=session_converter()
    )
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace="default", search_attributes=SEARCH_ATTRIBUTES)
        )
        yield env
    finally:
        await env.shutdown()


class NoticeBook:
    """The notification store of a harness: every notice that reached the in-app list, once
    per event key (the activity is the real one; mail is off, as without LOTSE_SMTP_URL)."""

    def __init__(self) -> None:
        self.notices: dict[str, Notice] = {}

    def recipients(self, notice: Notice) -> Recipients:
        return Recipients(usernames=[notice.to.id], addresses=[])

    def record_in_app(self, notice: Notice, usernames: Sequence[str], at: datetime) -> int:
        new = notice.event_key not in self.notices
        self.notices.setdefault(notice.event_key, notice)
        return len(list(usernames)) if new else 0

    def sent_addresses(self, event_key: str) -> set[str]:
        return set()

    def record_delivery(
        self,
        notice: Notice,
        address: str,
        status: DeliveryStatus,
        error_type: str | None,
        at: datetime,
    ) -> None:
        raise AssertionError("the harness sends no mail")


@dataclass
class Harness:
    env: WorkflowEnvironment
    task_queue: str
    sink: InMemoryCaseEventSink
    notices: NoticeBook

    @property
    def client(self) -> Client:
        return self.env.client

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
        return await self.client.start_workflow(
            AgreementWorkflow.run, input, id=case_id, task_queue=self.task_queue
        )


@asynccontextmanager
async def running_worker(
    env: WorkflowEnvironment,
    task_queue: str,
    *,
    activities: Sequence[Callable[..., Any]] | None = None,
    workflows: Sequence[type] = (AgreementWorkflow, ScriptedReferral),
) -> AsyncIterator[Harness]:
    sink = InMemoryCaseEventSink()
    book = NoticeBook()
    # Every harness delivers notices: a case's notice children run on its task queue.
    notify = NotificationActivities(book, None, "http://lotse.test").notify
    case_activities = CaseActivities(InMemoryDirectory(PARTNERS), sink)
    defaults: list[Callable[..., Any]] = [
        case_activities.route_needs,
        case_activities.resolve_partner,
        case_activities.render_agreement,
        case_activities.emit_case_events,
    ]
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[*workflows, NoticeWorkflow],
        activities=[*(activities if activities is not None else defaults), notify],
    ):
        yield Harness(env, task_queue, sink, book)


@asynccontextmanager
async def time_skipping_harness(
    task_queue: str, activities: Sequence[Callable[..., Any]] | None = None
) -> AsyncIterator[Harness]:
    """A worker on a time-skipping server of its own (see `time_skipping_server`)."""
    async with (
        time_skipping_server() as env,
        running_worker(env, task_queue, activities=activities) as harness,
    ):
        yield harness


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
    handle: WorkflowHandle[Any, Any],
    stage: Stage,
    profile: IntakeData | None = None,
    patience: float = 10.0,
) -> CaseState:
    """Take a case along the happy path from wherever it is until it is in `stage` (the
    permit of the sample profile does not expire: server time is today, not the samples' day).
    `patience`: how long each state query may keep failing (longer where a worker was killed:
    a case cached on it answers only once its sticky queue has timed out).
    """
    state = await until(handle, lambda _: True, patience)
    while state.stage is not stage:
        name, arg = _next_step(state, profile)
        await send_once(handle, name, arg)
        state = await until(handle, lambda _: True, patience)
    return state


async def send_once(handle: WorkflowHandle[Any, Any], name: str, arg: Any) -> ActionResult:
    """An update, retried with the same update id when the call itself fails (as the API
    does): the case answers a repeated id with its first result."""
    update_id = f"{name}:{uuid.uuid4()}"
    for attempt in range(3):
        try:
            return await send(handle, name, arg, id=update_id, rpc_timeout=timedelta(seconds=5))
        except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _next_step(state: CaseState, profile: IntakeData | None) -> tuple[str, Any]:
    if state.stage is Stage.INTAKE:
        return "complete_intake", profile or intake(expires_on=None)
    if state.stage is Stage.ASSESSMENT:
        return "complete_assessment", assessment()
    if state.stage is Stage.DRAFTING:
        return ("request_signature", None) if state.goals else ("draft_agreement", draft())
    if state.stage is Stage.AWAITING_SIGNATURE:
        assert state.document is not None
        signed = {s.party for s in state.signatures if s.version == state.document.version}
        party = next(p for p in Party if p not in signed)
        return "sign", Signature(party=party, document_hash=state.document.hash)
    assert state.stage is Stage.ACTIVE
    return "close", {"reason": "withdrawn"}


async def skip_to(harness: Harness, instant: datetime) -> None:
    """Let server time pass until `instant` (and a little beyond)."""
    now = await harness.env.get_current_time()
    if instant > now:
        await harness.env.sleep(instant - now + timedelta(seconds=1))


async def review_cycle(
    harness: Harness, handle: WorkflowHandle[Any, Any], review: Review
) -> ActionResult:
    """Record a review and wait for the run it ends to continue as new. Waiting reads the
    history, not the state: a query that meets the time-skipping server while a run continues
    as new can leave time skipping locked for good."""
    runs = len(await run_histories(harness.client, handle))
    result = await handle.execute_update(AgreementWorkflow.record_review, review)
    await until_runs(harness.client, handle, runs + 1)
    return result


def search_attributes(description: Any) -> dict[str, Any]:
    return {pair.key.name: pair.value for pair in description.typed_search_attributes}


async def send(
    handle: WorkflowHandle[Any, Any], name: str, arg: Any, **kwargs: Any
) -> ActionResult:
    """An update by name (`arg` None for one without a payload)."""
    args = [] if arg is None else [arg]
    result: ActionResult = await handle.execute_update(
        name, args=args, result_type=ActionResult, **kwargs
    )
    return result
