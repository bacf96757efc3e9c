"""The `temporal` engine: the real workflows on Temporal's time-skipping test server.

The simulation's own server (`temporal-test-server`, started for the run and stopped after it)
and a worker with Lotse's workflows and activities on the simulation's store. Counsellors and
partners act through the API's gateway (api/gateway.py: typed updates with the actor in the
header, the same refusals), and time passes by skipping: `advance_to` asks the server to sleep
until the instant, which fires every timer on the way (reviews falling due, reminders,
escalations, expiries) and waits for the work each sets off.

**2011 on a server of today.** The test server starts at the machine's time and only moves
forward, so the workflows run with `Clocks.shift` (workflows/clock.py): their clock is the
server's moved back to the project's start. Every instant they record is the simulated one.

**A leak in the test server, and its compensation.** The Java test server (sdk-java,
`TestWorkflowMutableStateImpl`) takes a time-skipping lock when a child workflow starts or
ends, to be released by its parent once the parent has recorded it ("unlocked by the parent").
When the parent run has closed meanwhile, which for a case means it continued as new after a
review, recording fails with NOT_FOUND and the lock is never released: from then on the
server no longer skips time, it only lets it pass (sdk-java #1540 and #1618 report the
symptoms, still open). A case continues as new after every review while its referrals run on,
so this happens all the time. The engine keeps count: each closed run of a case is watched,
and its history says which of its children it heard start and end; a child it did not hear
of, started or ended, holds one lock, which the engine releases (`UnlockTimeSkipping`, the
test service's own call) before the next skip. `leaks_released` reports how many.
"""

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, IndexedValueType, WorkflowExecutionStatus
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.testservice.v1 import SleepRequest, UnlockTimeSkippingRequest
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.gateway import Gateway
from app.payload_codec import CachedKeyStore
from app.settings import Settings
from app.temporal import data_converter, encrypted
from domain.actor import Actor
from domain.case import ActionResult, AgreementInput, CaseState
from domain.clocks import Clocks
from domain.referral import ReferralState
from domain.stages_referral import referrals_to_reroute, referrals_to_start
from simulate.engine import Command, Refused
from store.db import engine_from_url
from store.keys import SqlKeyStore
from workflows.agreement import AgreementWorkflow
from workflows.search_attributes import REGISTERED

TASK_QUEUE = "lotse-simulation"
SKIP_TIMEOUT = timedelta(minutes=30)
POLL = 0.005
NOTICE_PREFIX = "notice-"
NOTICE_POLLS = 400
QUERY_TIMEOUT = timedelta(seconds=1)
QUERY_ATTEMPTS = 5

CHILD_ENDED = {
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
}

WorkerFactory = Callable[[Client, Settings], Worker]


@dataclass
class _Run:
    """A closed run of a case and what it heard of its children."""

    case_id: str
    run_id: str
    children: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # id: started, ended
    released: int = 0
    done: bool = False


class TemporalEngine:
    def __init__(self, env: WorkflowEnvironment, gateway: Gateway, shift: timedelta) -> None:
        self._env = env
        self._client = env.client
        self._gateway = gateway
        self._clocks = Clocks(shift=shift)
        self._shift = shift
        self._current_run: dict[str, str] = {}
        self._closed_runs: dict[str, list[_Run]] = {}
        self.leaks_released = 0

    @classmethod
    @contextlib.asynccontextmanager
    async def started(
        cls,
        *,
        binary: str,
        database_url: str,
        data_dir: Path,
        start: datetime,
        make_worker: WorkerFactory,
    ) -> AsyncIterator["TemporalEngine"]:
        # Encrypted as Lotse runs: the data keys in the simulation's store, wrapped by a master
        # key of this run only (none is left in the output directory).
        keys = CachedKeyStore(SqlKeyStore(engine_from_url(database_url), secrets.token_bytes(32)))
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=binary, data_converter=data_converter(keys)
        )
        try:
            await _register_search_attributes(env.client)
            settings = Settings(
                data_dir=data_dir,
                database_url=database_url,
                task_queue=TASK_QUEUE,
                temporal_address=env.client.service_client.config.target_host,
                worker_concurrency=100,
            )
            shift = await env.get_current_time() - start
            # The worker's client as the gateway's: headers (the actor) sealed and opened alike.
            client = encrypted(env.client, keys)
            async with make_worker(client, settings):
                yield cls(env, Gateway(settings, keys, client), shift)
        finally:
            await env.shutdown()

    # -- time --------------------------------------------------------------------------------

    async def now(self) -> datetime:
        return await self._env.get_current_time() - self._shift

    async def advance_to(self, instant: datetime) -> None:
        wait = instant - await self.now()
        if wait <= timedelta(0):
            return
        request = SleepRequest()
        request.duration.FromTimedelta(wait)
        await self._client.service_client.test_service.unlock_time_skipping_with_sleep(
            request, timeout=SKIP_TIMEOUT
        )

    async def finish(self) -> None:
        """Nothing to do: `advance_to` returns once the work its timers set off is done, and
        each case's projection loop has sent its events by then."""

    # -- commands ----------------------------------------------------------------------------

    async def open_case(self, input: AgreementInput) -> None:
        await self._gateway.start_case(
            input.case_id, input.model_copy(update={"clocks": self._clocks})
        )

    async def update_case(
        self, case_id: str, command: Command, arg: object, actor: Actor
    ) -> ActionResult:
        ends_run = command in (AgreementWorkflow.record_review, AgreementWorkflow.close)
        before = (await self._describe(case_id)).execution.run_id if ends_run else ""
        try:
            result: ActionResult = await self._gateway.update_case(  # type: ignore[call-overload]
                case_id, command, arg, key=None, actor=actor
            )
        except HTTPException as error:
            raise Refused(error.status_code, str(error.detail)) from None
        if ends_run:
            await self._run_ended(case_id, before)
        return result

    async def _run_ended(self, case_id: str, run_id: str) -> None:
        """Wait until the run a review or closure ends has ended (continued as new, or
        completed). A query sent while it ends reaches the closing run: the test server then
        waits for an answer nobody gives, and keeps a time-skipping lock for it."""
        while True:
            info = await self._describe(case_id)
            running = info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
            if info.execution.run_id != run_id or not running:
                return
            await asyncio.sleep(POLL)

    async def update_referral(
        self, referral_id: str, command: Command, arg: object, actor: Actor
    ) -> ReferralState:
        try:
            return await self._gateway.update_referral(  # type: ignore[call-overload, no-any-return]
                referral_id, command, arg, key=None, actor=actor
            )
        except HTTPException as error:
            raise Refused(error.status_code, str(error.detail)) from None

    async def settled_state(self, case_id: str) -> CaseState:
        """The case once its last step's work is done (children started, a decline handed on,
        the read model caught up), with the time-skipping locks its closed runs leaked
        released."""
        while True:
            state = await self._state(case_id)
            if (
                not referrals_to_reroute(state)
                and not referrals_to_start(state)
                and state.emitted_through >= state.last_sequence
            ):
                break
            await asyncio.sleep(POLL)
        await self._release_leaks(case_id)
        return state

    async def _state(self, case_id: str) -> CaseState:
        """`AgreementWorkflow.state`, asked again when the answer does not come at once: a query
        that reaches a run in the moment it continues as new is answered by nobody (the worker's
        answer finds the run completed) and would wait for the gateway's full timeout."""
        handle = self._client.get_workflow_handle_for(AgreementWorkflow.run, case_id)
        for _ in range(QUERY_ATTEMPTS - 1):
            with contextlib.suppress(RPCError):
                return await handle.query(AgreementWorkflow.state, rpc_timeout=QUERY_TIMEOUT)
        return await self._gateway.case_state(case_id)

    # -- the test server's leaked locks ------------------------------------------------------

    async def _release_leaks(self, case_id: str) -> None:
        info = await self._describe(case_id)
        run_id = info.execution.run_id
        known = self._current_run.get(case_id)
        runs = self._closed_runs.setdefault(case_id, [])
        if known is not None and known != run_id:
            runs.append(_Run(case_id, known))
        self._current_run[case_id] = run_id
        ended = info.status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
        if ended and not any(run.run_id == run_id for run in runs):
            runs.append(_Run(case_id, run_id))
        for run in runs:
            if not run.done:
                await self._check(run)

    async def _check(self, run: _Run) -> None:
        handle = self._client.get_workflow_handle(run.case_id, run_id=run.run_id)
        heard: dict[str, list[bool]] = {}
        initiated: dict[int, str] = {}
        async for event in handle.fetch_history_events():
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                child = event.start_child_workflow_execution_initiated_event_attributes
                initiated[event.event_id] = child.workflow_id
                heard[child.workflow_id] = [False, False]
            elif kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
                failed = event.start_child_workflow_execution_failed_event_attributes
                heard.pop(initiated.get(failed.initiated_event_id, ""), None)
            elif kind == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                child_started = event.child_workflow_execution_started_event_attributes
                child_id = child_started.workflow_execution.workflow_id
                heard.setdefault(child_id, [False, False])[0] = True
            elif kind in CHILD_ENDED:
                attributes = _ended_attributes(event)
                heard.setdefault(attributes.workflow_execution.workflow_id, [False, False])[1] = (
                    True
                )
        leaked = 0
        open_children = 0
        for child_id, (started, ended) in heard.items():
            if started and ended:
                continue
            status, parent_run = await self._child(child_id)
            if parent_run != run.run_id:
                continue  # not this run's child (an id taken before)
            if not started:
                leaked += 1  # its start reached a closed parent
            if status is None:
                open_children += 1
            elif not ended:
                leaked += 1  # its end reached a closed parent
        new = leaked - run.released
        for _ in range(new):
            await self._client.service_client.test_service.unlock_time_skipping(
                UnlockTimeSkippingRequest()
            )
        run.released = leaked
        self.leaks_released += max(new, 0)
        run.done = open_children == 0

    async def _child(
        self, workflow_id: str
    ) -> tuple[WorkflowExecutionStatus.ValueType | None, str]:
        """The child's status when it has ended (None while it runs) and its parent's run."""
        for _ in range(NOTICE_POLLS):
            try:
                raw = await self._describe(workflow_id)
            except RPCError:
                return None, ""
            running = raw.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
            # A notice ends within milliseconds of its start: wait for it, so its leaked lock
            # is released before the next skip, which it would otherwise hold up.
            if not (running and workflow_id.startswith(NOTICE_PREFIX)):
                break
            await asyncio.sleep(POLL)
        parent = raw.parent_execution.run_id if raw.HasField("parent_execution") else ""
        running = raw.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
        return (None if running else raw.status), parent

    async def _describe(self, workflow_id: str) -> WorkflowExecutionInfo:
        """The execution's raw description (the SDK's `describe` also decodes the search
        attributes, which it cannot for the time-skipping server's datetimes)."""
        answer = await self._client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=self._client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id),
            )
        )
        return answer.workflow_execution_info


def _ended_attributes(event: Any) -> Any:
    for name in (
        "child_workflow_execution_completed_event_attributes",
        "child_workflow_execution_failed_event_attributes",
        "child_workflow_execution_canceled_event_attributes",
        "child_workflow_execution_timed_out_event_attributes",
        "child_workflow_execution_terminated_event_attributes",
    ):
        if event.HasField(name):
            return getattr(event, name)
    raise ValueError("not a child's end")


async def _register_search_attributes(client: Client) -> None:
    """The case's search attributes (the time-skipping server starts without them)."""
    for attribute in REGISTERED:
        name, kind = attribute.split("=")
        value_type = IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")
        with contextlib.suppress(RPCError):
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=client.namespace, search_attributes={name: value_type}
                )
            )
