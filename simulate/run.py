"""One simulation run, end to end: a store of its own under `--out`, the directory of the
model project, an engine, the driver, and the evaluation written as JSON, CSV and HTML.

The store is `<out>/simulation.sqlite`, made anew for every run: never the user's Lotse. The
summary (`Summary.as_json`) is what `lotse simulate` prints last; the evaluation itself does
not depend on the run (no times, no paths), so one seed gives byte-identical JSON.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine as StoreEngine
from sqlalchemy import event
from sqlmodel import Session

from api.evaluation import EvaluationReport, ReportRequest, report
from api.evaluation_names import ReportNames, report_names
from simulate.core_engine import CoreEngine
from simulate.driver import Counts, Driver
from simulate.engine import Engine
from simulate.outputs import Written, write_outputs
from simulate.parameters import Parameters
from simulate.progress import Progress
from simulate.sites import SimDirectory, build_directory, seed_directory
from simulate.temporal_engine import TemporalEngine, WorkerFactory
from simulate.timing import at_german, german_date
from store.db import engine_from_url, upgrade

STORE_FILE = "simulation.sqlite"
MIN_GROUP = 5

EngineName = Literal["temporal", "core"]


@dataclass(frozen=True)
class TemporalParts:
    """What the temporal engine needs from the process that runs it (worker/): the test
    server's binary and how to build a worker on a store."""

    binary: str
    make_worker: WorkerFactory


@dataclass(frozen=True)
class Request:
    seed: int
    scale: float
    engine: EngineName
    out: Path
    params: Parameters
    municipalities: int | None = None  # the first n sites only (tests)


@dataclass
class Outcome:
    counts: Counts
    report: EvaluationReport
    written: Written
    seconds: float
    interrupted: bool
    leaks_released: int

    def summary(self, request: Request) -> dict[str, Any]:
        return summary_of(request, self.counts, self.report, self.seconds, self.interrupted) | {
            "leaks_released": self.leaks_released
        }


def summary_of(
    request: Request,
    counts: Counts,
    evaluation: EvaluationReport,
    seconds: float,
    interrupted: bool,
) -> dict[str, Any]:
    project = request.params.project
    survey = evaluation.survey
    return {
        "simulate": "model-project",
        "engine": request.engine,
        "seed": request.seed,
        "scale": request.scale,
        "simulated_from": project.start.isoformat(),
        "simulated_months": project.months,
        "interrupted": interrupted,
        "seconds": round(seconds, 1),
        "agreements_opened": counts.opened,
        "agreements_concluded": counts.concluded,
        "ended_before_signing": counts.ended_before_signing,
        "closed": counts.closed,
        "inbound_referrals": counts.inbound,
        "referrals": counts.referrals,
        "reviews": counts.reviews,
        "reviews_missed": counts.reviews_missed,
        "refusals": dict(sorted(counts.refusals.items())),
        "survey_agreement_helped": survey.agreement_helped.share_yes,
        "survey_easier_to_keep_at_it": survey.easier_to_keep_at_it.share_yes,
        "out": str(request.out),
    }


def store_for(out: Path) -> StoreEngine:
    """A fresh, migrated SQLite store under `out` (an earlier run's is replaced)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / STORE_FILE
    for stale in (path, path.with_name(STORE_FILE + "-wal"), path.with_name(STORE_FILE + "-shm")):
        stale.unlink(missing_ok=True)
    engine = engine_from_url(f"sqlite+pysqlite:///{path}")
    # A store made for one run and made anew for the next: a crash loses nothing worth an
    # fsync per commit (measured: little of the time; the ORM's work is most of it). Only
    # here: the live store keeps SQLite's defaults (store/db.py). The journal stays (WAL):
    # without it the temporal engine's worker and driver lock each other out.
    event.listen(engine, "connect", _unsynchronised)
    upgrade(engine)
    return engine


def _unsynchronised(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous = OFF")
    cursor.close()


@contextlib.asynccontextmanager
async def _engine(
    request: Request, store: StoreEngine, start: datetime, parts: TemporalParts | None
) -> AsyncIterator[Engine]:
    if request.engine == "core":
        yield CoreEngine(store, start)
        return
    if parts is None:
        raise ValueError("the temporal engine needs TemporalParts")
    async with TemporalEngine.started(
        binary=parts.binary,
        database_url=str(store.url),
        data_dir=request.out,
        start=start,
        make_worker=parts.make_worker,
    ) as engine:
        yield engine


def evaluation_of(
    store: StoreEngine, directory: SimDirectory, driver: Driver
) -> tuple[EvaluationReport, ReportRequest, ReportNames]:
    """The evaluation of the whole project for every municipality, as of its last day."""
    start = german_date(driver.start)
    end = german_date(driver.end) - timedelta(days=1)
    request = ReportRequest(
        municipalities=None, municipality_id=None, centre_id=None, start=start, end=end
    )
    with Session(store) as session:
        found = report(session, request, MIN_GROUP, now=driver.end)
        names = report_names(session, found, [site.id for site in directory.sites])
    return found, request, names


async def simulate(
    request: Request,
    *,
    parts: TemporalParts | None = None,
    progress: Callable[[int, int], Progress] | None = None,
) -> Outcome:
    """Play the model project; on Ctrl-C (a cancelled task) stop where it is, still write
    the evaluation of what was played, and report the run as interrupted."""
    began = time.monotonic()
    store = store_for(request.out)
    directory = build_directory(request.municipalities)
    seed_directory(store, directory)
    interrupted = False
    leaks = 0
    driver: Driver | None = None
    bar: Progress | None = None
    try:
        async with _engine(request, store, _start(request), parts) as engine:
            driver = Driver(
                engine, store, directory, request.params, seed=request.seed, scale=request.scale
            )
            if progress is not None:
                days = (driver.end - driver.start).days
                bar = progress(days, driver.target)
                shown = bar

                def on_step(at: datetime, counts: Counts) -> None:
                    shown.update(german_date(at), counts.concluded, counts.opened)

                driver.on_step = on_step
            try:
                await driver.run()
            except (KeyboardInterrupt, asyncio.CancelledError):
                interrupted = True
            if isinstance(engine, TemporalEngine):
                leaks = engine.leaks_released
    except asyncio.CancelledError:
        # A terminal's Ctrl-C reaches the Temporal test server too (one process group). The
        # server goes down at once; the worker, failing without it, cancels this task again
        # while the engine shuts it down (a 55-minute run at scale 1 ended so). What was
        # played is in the store: its evaluation is still written.
        if driver is None:
            raise
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
    assert driver is not None
    found, report_request, names = evaluation_of(store, directory, driver)
    seconds = time.monotonic() - began
    summary = summary_of(request, driver.counts, found, seconds, interrupted)
    written = write_outputs(request.out, found, report_request, names, summary)
    store.dispose()
    return Outcome(driver.counts, found, written, seconds, interrupted, leaks)


def _start(request: Request) -> datetime:
    return at_german(request.params.project.start, datetime.min.time())
