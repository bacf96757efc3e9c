"""Simulation benchmark: `lotse simulate` with both engines, the temporal one beside a floor
measured in the same run.

    python -m bench.simulate [--seed 1] [--temporal-scale 0.05] [--core-scale 1.0]
                             [--skip-temporal] [--skip-core]

**temporal** (`--temporal-scale`, all 18 municipalities): `simulate.run.simulate` with the
real workflows and activities on Temporal's time-skipping test server, as `lotse simulate
--engine temporal` runs it (`worker.simulate_cli.temporal_parts`), timed from the call to its
return: the store made and seeded, the server and the worker started, the model project
played, the evaluation written, the server stopped. Target: <= 1.3 x the floor.

**Its floor**: the same round trips on a bare workflow. The driver's engine is wrapped in a
counting proxy (`Counted`: nothing is added to the driver or the engine), which records every
call the driver makes, in order: a case opened, an update to a case or a referral (refused ones
too: they made the round trip), a settled state, a time advance. A second time-skipping server
of its own, with a worker built as the simulation's is (`build_worker`, its options and
sandbox) running only the floor's workflows, then replays that record one call at a time:
- a case opened: a `BenchSimFloorCase` started (it waits for ever, nothing else);
- an update: `step` on the floor case of that case (a referral's update goes to its case's:
  referral ids are `<case>-ref-<n>`), a handler that returns at once;
- a settled state: one query;
- a time advance: what `TemporalEngine.advance_to` does, the server's time read and, when the
  instant lies ahead, one sleep up to it (`UnlockTimeSkippingWithSleep`). A clock workflow
  (`BenchSimFloorClock`) has a timer just before each instant the real run skipped to, so
  every skip wakes one workflow and waits for its task, as a clock firing does.
`floor_seconds` is the floor's wall time from starting its server to stopping it, so both
sides pay for a server and a worker. `ratio_to_floor = seconds / floor_seconds` is then the cost
of everything that is ours over Temporal's own: the case and referral workflows (their
activities: routing, rendering, the read-model writes; their children, notices, timers,
continue-as-new, search attributes, payloads), the engine's waiting for a case to settle (a
settled state queries until the read model has caught up, and checks the test server's leaked
locks: simulate/temporal_engine.py) and for a review's or closure's run to end, the store,
and the evaluation. The time per kind of call on both sides shows where it goes.

**core** (`--core-scale`, all municipalities): the same run with the core engine (the stage
functions in a discrete-event loop, no Temporal), timed the same way. Target: < 60 s at scale 1.

The runs follow each other (the floor needs the real run's record), so a machine shared with
other work may hit one side more than the other: rerun before believing a change of a few
per cent. `agreements` is the run's concluded agreements. Progress goes to stderr; the
figures, how to rerun it and, last, one JSON line `{"bench": "simulate", "temporal":
{"agreements", "seconds", "floor_seconds", "ratio_to_floor"}, "core": {"agreements",
"seconds", "cpu_seconds"}}` to stdout (a part skipped is null).
"""

from __future__ import annotations

# Outside the guard below: the module's classes are decorated with them in the sandbox too.
import contextlib
from dataclasses import dataclass, field

from temporalio import workflow

if not workflow.unsafe.in_sandbox():
    # The bench's imports. The workflow sandbox runs this module anew for each floor workflow;
    # there it stops at the floor's few imports, so the floor costs what a bare module costs.
    import argparse
    import asyncio
    import json
    import sys
    import tempfile
    import time
    from collections import defaultdict
    from collections.abc import Callable, Iterator, Sequence
    from datetime import datetime, timedelta
    from pathlib import Path
    from typing import Any
    from unittest import mock

    from temporalio.api.testservice.v1 import SleepRequest
    from temporalio.client import Client, WorkflowHandle
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    import simulate.run as run_module
    import worker.worker as worker_module
    from app.settings import Settings
    from domain.actor import Actor
    from domain.case import ActionResult, AgreementInput, CaseState
    from domain.referral import ReferralState
    from simulate.driver import Driver
    from simulate.engine import Command, Engine
    from simulate.parameters import Parameters, load_parameters
    from simulate.progress import MonthlyLines, Progress
    from simulate.run import Outcome, Request
    from simulate.temporal_engine import SKIP_TIMEOUT, TemporalEngine
    from worker.simulate_cli import temporal_parts
    from worker.worker import build_worker

TEMPORAL_TARGET = 1.3  # ratio to the floor
CORE_TARGET = 60.0  # s at scale 1
FLOOR_QUEUE = "bench-simulate-floor"
CLOCK_ID = "bench-simulate-clock"
CLOCK_LEAD = 1.0  # s: the floor's timer fires this long before the instant skipped to
KINDS = ("open_case", "update_case", "update_referral", "settled_state", "advance_to")


# -- the floor's workflows ---------------------------------------------------------------------


@workflow.defn(name="BenchSimFloorCase")
class FloorCase:
    """A case without business: updates that return at once, a query, no end."""

    @workflow.init
    def __init__(self) -> None:
        self._steps = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: False)
        return self._steps

    @workflow.update
    def step(self) -> int:
        self._steps += 1
        return self._steps

    @workflow.query
    def state(self) -> int:
        return self._steps


@workflow.defn(name="BenchSimFloorClock")
class FloorClock:
    """One timer at each of the given instants (POSIX seconds), one after the other."""

    @workflow.run
    async def run(self, instants: list[float]) -> int:
        fired = 0
        for instant in instants:
            wait = instant - workflow.now().timestamp()
            if wait > 0:
                await workflow.sleep(wait)
                fired += 1
        return fired


# -- counting the real run ---------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    kind: str  # one of KINDS
    target: str  # the case's id; empty for a time advance
    instant: datetime | None = None  # a time advance's
    command: str = ""  # an update's (the workflow method's name)

    def counted_as(self) -> tuple[str, ...]:
        """What it counts towards: its kind, and its kind and command."""
        return (self.kind, f"{self.kind}.{self.command}") if self.command else (self.kind,)


@dataclass
class Tally:
    """The calls of one run, in order, with the seconds spent in each kind."""

    calls: list[Call] = field(default_factory=list)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    counts: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped_to: list[datetime] = field(default_factory=list)  # where the real run slept to
    skips_seen: bool = False  # the engine's clock was read (the skips are known)
    start: datetime | None = None  # the project's first instant
    first: float | None = None  # perf_counter of the first call and the end of the last
    last: float | None = None

    @contextlib.contextmanager
    def timed(self, call: Call) -> Iterator[None]:
        began = time.perf_counter()
        if self.first is None:
            self.first = began
        try:
            yield
        finally:
            self.last = time.perf_counter()
            for key in call.counted_as():
                self.seconds[key] += self.last - began
                self.counts[key] += 1
            self.calls.append(call)


def case_of(workflow_id: str) -> str:
    """The case a referral belongs to (its id is `<case>-ref-<n>`); a case's own id."""
    return workflow_id.rsplit("-ref-", 1)[0]


class Counted:
    """The driver's engine, each call recorded in `tally` (the `Engine` protocol)."""

    def __init__(self, engine: Engine, tally: Tally) -> None:
        self._engine = engine
        self._tally = tally
        self._clock: datetime | None = None
        if isinstance(engine, TemporalEngine):
            # Its `advance_to` reads the server's time first and sleeps only when the instant
            # lies ahead: the reading tells whether it skipped, without another round trip.
            read = engine.now

            async def now() -> datetime:
                self._clock = await read()
                tally.skips_seen = True
                return self._clock

            engine.now = now  # type: ignore[method-assign]

    async def now(self) -> datetime:
        return await self._engine.now()

    async def advance_to(self, instant: datetime) -> None:
        self._clock = None
        with self._tally.timed(Call("advance_to", "", instant)):
            await self._engine.advance_to(instant)
        if self._clock is not None and instant > self._clock:
            self._tally.skipped_to.append(instant)

    async def open_case(self, input: AgreementInput) -> None:
        with self._tally.timed(Call("open_case", input.case_id)):
            await self._engine.open_case(input)

    async def update_case(
        self, case_id: str, command: Command, arg: object, actor: Actor
    ) -> ActionResult:
        with self._tally.timed(Call("update_case", case_id, command=_name(command))):
            return await self._engine.update_case(case_id, command, arg, actor)

    async def update_referral(
        self, referral_id: str, command: Command, arg: object, actor: Actor
    ) -> ReferralState:
        call = Call("update_referral", case_of(referral_id), command=_name(command))
        with self._tally.timed(call):
            return await self._engine.update_referral(referral_id, command, arg, actor)

    async def settled_state(self, case_id: str) -> CaseState:
        with self._tally.timed(Call("settled_state", case_id)):
            return await self._engine.settled_state(case_id)

    async def finish(self) -> None:
        await self._engine.finish()


def _name(command: Command) -> str:
    return getattr(command, "__name__", "?")


def progress(request: Request) -> Callable[[int, int], Progress]:
    def lines(days: int, target: int) -> Progress:
        return MonthlyLines(days, target, start=request.params.project.start)

    return lines


async def play(request: Request, tally: Tally | None = None) -> tuple[Outcome, float, float]:
    """One `lotse simulate` run, its engine counted into `tally` if given; the outcome, when it
    began (`time.perf_counter`) and its wall time."""
    parts = temporal_parts() if request.engine == "temporal" else None
    patch: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if tally is not None:
        counted = tally

        def counting_driver(engine: Engine, *args: Any, **kwargs: Any) -> Driver:
            driver = Driver(Counted(engine, counted), *args, **kwargs)
            counted.start = driver.start
            return driver

        patch = mock.patch.object(run_module, "Driver", counting_driver)
    with patch:
        began = time.perf_counter()
        outcome = await run_module.simulate(request, parts=parts, progress=progress(request))
        seconds = time.perf_counter() - began
    if outcome.interrupted:
        raise RuntimeError("the simulation was interrupted")
    return outcome, began, seconds


# -- the floor -----------------------------------------------------------------------------------


@dataclass
class Floor:
    seconds: float  # server start to server stop
    started: float  # of which: server, worker and clock started
    replay: float  # ... the calls replayed
    tally: Tally
    skips: int
    timers: int


async def floor(binary: str, real: Tally, data_dir: Path) -> Floor:
    """`real`'s calls replayed on bare workflows, on a time-skipping server of their own."""
    assert real.start is not None
    tally = Tally()
    skips = 0
    began = time.perf_counter()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary, data_converter=pydantic_data_converter
    )
    try:
        client = env.client
        settings = Settings(
            data_dir=data_dir,
            task_queue=FLOOR_QUEUE,
            temporal_address=client.service_client.config.target_host,
            worker_concurrency=100,  # as simulate/temporal_engine.py sets it
            log_level="WARNING",
        )
        with mock.patch.object(worker_module, "workflow_classes", lambda: [FloorCase, FloorClock]):
            worker = build_worker(client, settings)
        async with worker:
            shift = await env.get_current_time() - real.start
            clock = await client.start_workflow(
                FloorClock.run,
                clock_instants(real.skipped_to, shift),
                id=CLOCK_ID,
                task_queue=FLOOR_QUEUE,
            )
            replay_began = time.perf_counter()
            started = replay_began - began
            for call in real.calls:
                with tally.timed(call):
                    skips += await replay(env, client, call, shift)
            replayed = time.perf_counter() - replay_began
            timers = await timers_fired(client, clock.id)
    finally:
        await env.shutdown()
    return Floor(time.perf_counter() - began, started, replayed, tally, skips, timers)


def clock_instants(skipped_to: Sequence[datetime], shift: timedelta) -> list[float]:
    """The floor clock's timers: shortly before each instant the real run skipped to (on the
    floor server's clock), never before the previous one."""
    instants: list[float] = []
    previous: float | None = None
    for instant in skipped_to:
        at = (instant + shift).timestamp()
        lead = CLOCK_LEAD if previous is None else min(CLOCK_LEAD, (at - previous) / 2)
        instants.append(at - lead)
        previous = at
    return instants


async def replay(env: WorkflowEnvironment, client: Client, call: Call, shift: timedelta) -> int:
    """One call on the floor; 1 if it skipped time."""
    if call.kind == "open_case":
        await client.start_workflow(FloorCase.run, id=call.target, task_queue=FLOOR_QUEUE)
        return 0
    case: WorkflowHandle[FloorCase, int] = client.get_workflow_handle(call.target)
    if call.kind in ("update_case", "update_referral"):
        await case.execute_update(FloorCase.step)
    elif call.kind == "settled_state":
        await case.query(FloorCase.state)
    else:
        assert call.instant is not None
        # As TemporalEngine.advance_to: the server's time, then a sleep when the instant is ahead.
        wait = call.instant - (await env.get_current_time() - shift)
        if wait <= timedelta(0):
            return 0
        request = SleepRequest()
        request.duration.FromTimedelta(wait)
        await client.service_client.test_service.unlock_time_skipping_with_sleep(
            request, timeout=SKIP_TIMEOUT
        )
        return 1
    return 0


async def timers_fired(client: Client, workflow_id: str) -> int:
    fired = 0
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        fired += event.HasField("timer_fired_event_attributes")
    return fired


# -- the run -------------------------------------------------------------------------------------


@dataclass
class Temporal:
    outcome: Outcome
    began: float  # time.perf_counter() when the run began
    seconds: float
    tally: Tally
    floor: Floor


async def bench_temporal(seed: int, scale: float, params: Parameters) -> Temporal:
    binary = temporal_parts().binary
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="lotse-bench-simulate-") as directory:
        root = Path(directory)
        print(f"temporal engine, scale {scale} ...", flush=True)
        request = Request(
            seed=seed, scale=scale, engine="temporal", out=root / "temporal", params=params
        )
        outcome, began, seconds = await play(request, tally)
        print(f"  {seconds:.1f} s; its floor, {len(tally.calls)} calls ...", flush=True)
        floor_run = await floor(binary, tally, root / "floor")
        print(f"  {floor_run.seconds:.1f} s", flush=True)
    return Temporal(outcome, began, seconds, tally, floor_run)


async def bench_core(seed: int, scale: float, params: Parameters) -> tuple[Outcome, float, float]:
    """The core run, its wall seconds and this process's CPU seconds (the core engine runs in
    this process alone: on a shared machine the CPU time is what an idle one would take)."""
    with tempfile.TemporaryDirectory(prefix="lotse-bench-simulate-") as directory:
        print(f"core engine, scale {scale} ...", flush=True)
        request = Request(seed=seed, scale=scale, engine="core", out=Path(directory), params=params)
        cpu = time.process_time()
        outcome, _, seconds = await play(request)
        cpu = time.process_time() - cpu
        print(f"  {seconds:.1f} s ({cpu:.1f} s CPU)", flush=True)
    return outcome, seconds, cpu


def report_temporal(run: Temporal) -> dict[str, Any]:
    """Prints the temporal run beside its floor; returns its part of the summary."""
    real, floor_run, counts = run.tally, run.floor, run.outcome.counts
    print()
    print(
        f"temporal: {counts.opened} cases opened, {counts.concluded} agreements concluded, "
        f"{counts.referrals} referrals, {counts.reviews} reviews, {counts.refused} refused, "
        f"{run.outcome.leaks_released} leaked time-skipping locks released"
    )
    print(f"{'call':<22}{'calls':>8}{'real s':>10}{'floor s':>10}{'real ms':>10}{'floor ms':>10}")
    for kind in KINDS:
        commands = sorted(key for key in real.counts if key.startswith(f"{kind}."))
        for key in (kind, *commands):
            n = real.counts[key]
            r, f = real.seconds[key], floor_run.tally.seconds[key]
            per = (r / n * 1000, f / n * 1000) if n else (0.0, 0.0)
            label = key if key == kind else f"  {key.split('.', 1)[1]}"
            print(f"{label:<22}{n:>8}{r:>10.1f}{f:>10.1f}{per[0]:>10.2f}{per[1]:>10.2f}")
    skips = str(len(real.skipped_to)) if real.skips_seen else "unknown"
    print(
        f"time skips: {skips} real, {floor_run.skips} floor; "
        f"timers fired on the floor's clock: {floor_run.timers}"
    )
    assert real.first is not None and real.last is not None
    before, driving = real.first - run.began, real.last - real.first
    print(
        f"real:  {run.seconds:.1f} s = {before:.1f} s before the first call (store, server, "
        f"worker) + {driving:.1f} s of calls + {run.seconds - before - driving:.1f} s after "
        "(evaluation, stop)"
    )
    print(
        f"floor: {floor_run.seconds:.1f} s = {floor_run.started:.1f} s server and worker + "
        f"{floor_run.replay:.1f} s of calls + "
        f"{floor_run.seconds - floor_run.started - floor_run.replay:.1f} s stop"
    )
    ratio = run.seconds / floor_run.seconds
    verdict = "met" if ratio <= TEMPORAL_TARGET else "MISSED"
    print(f"ratio to floor: {ratio:.2f} (target <= {TEMPORAL_TARGET}: {verdict})")
    return {
        "agreements": counts.concluded,
        "seconds": round(run.seconds, 1),
        "floor_seconds": round(floor_run.seconds, 1),
        "ratio_to_floor": round(ratio, 2),
    }


def report_core(outcome: Outcome, seconds: float, cpu: float, scale: float) -> dict[str, Any]:
    counts = outcome.counts
    print()
    print(
        f"core: {counts.opened} cases opened, {counts.concluded} agreements concluded, "
        f"{counts.referrals} referrals, {counts.reviews} reviews in {seconds:.1f} s "
        f"({cpu:.1f} s CPU)"
    )
    if scale == 1.0:
        verdict = "met" if seconds < CORE_TARGET else "MISSED"
        print(f"target < {CORE_TARGET:.0f} s at scale 1: {verdict}")
    return {
        "agreements": counts.concluded,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Each part reported as soon as it is done (a later failure keeps its figures)."""
    summary: dict[str, Any] = {"bench": "simulate", "temporal": None, "core": None}
    # Read once: both runs play the same parameters even if the file is edited meanwhile.
    params = load_parameters()
    if not args.skip_temporal:
        temporal = await bench_temporal(args.seed, args.temporal_scale, params)
        summary["temporal"] = report_temporal(temporal)
    if not args.skip_core:
        outcome, seconds, cpu = await bench_core(args.seed, args.core_scale, params)
        summary["core"] = report_core(outcome, seconds, cpu, args.core_scale)
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.simulate",
        description="lotse simulate with both engines, the temporal one beside a bare floor.",
    )
    parser.add_argument("--seed", type=int, default=1, help="the run's seed (1)")
    parser.add_argument(
        "--temporal-scale", type=float, default=0.05, help="the temporal engine's scale (0.05)"
    )
    parser.add_argument("--core-scale", type=float, default=1.0, help="the core's scale (1.0)")
    parser.add_argument("--skip-temporal", action="store_true", help="no temporal run")
    parser.add_argument("--skip-core", action="store_true", help="no core run")
    args = parser.parse_args(argv)
    for scale in (args.temporal_scale, args.core_scale):
        if not 0 < scale <= 1:
            parser.error("the scales lie in (0, 1]")
    started = time.perf_counter()
    summary = asyncio.run(bench(args))
    print(f"run time {time.perf_counter() - started:.0f} s")
    options = [f"--seed {args.seed}"]
    if not args.skip_temporal:
        options.append(f"--temporal-scale {args.temporal_scale}")
    if not args.skip_core:
        options.append(f"--core-scale {args.core_scale}")
    options += [
        f"--{name}" for name in ("skip-temporal", "skip-core") if vars(args)[name.replace("-", "_")]
    ]
    print(f"rerun: python -m bench.simulate {' '.join(options)}")
    print(json.dumps(summary))


if __name__ == "__main__":
    # Through the package module, not `__main__`: the sandbox imports the floor's workflows by
    # their module's name.
    from bench.simulate import main as package_main

    package_main(sys.argv[1:])
