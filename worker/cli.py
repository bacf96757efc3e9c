"""The `lotse` command line: one typer app, one sub-app per area. Commands are thin: they
parse arguments and call one function of the package that owns the work."""

import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from app.settings import Settings
from worker import db_cli, directory_cli, keys_cli, rules_cli, simulate_cli, users_cli
from worker.devserver import DevServer, DevServerError, serve_until_stopped
from worker.worker import default_activities, mail_line, run_worker

if TYPE_CHECKING:
    from worker.demo import DemoPlayed

app = typer.Typer(no_args_is_help=True, help="Lotse: Integrationsvereinbarungen als Prozesse.")
app.add_typer(rules_cli.app, name="rules")
app.add_typer(db_cli.app, name="db")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(directory_cli.app, name="directory")
app.add_typer(users_cli.app, name="users")
app.command("simulate")(simulate_cli.command)


def _settings() -> Settings:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic narrates every start at INFO; only its warnings matter to an operator.
    logging.getLogger("alembic").setLevel(
        max(logging.WARNING, logging.getLevelName(settings.log_level))
    )
    return settings


def _run_process(main: Coroutine[Any, Any, None]) -> NoReturn:
    """Run a long-lived command and leave the process without interpreter teardown.

    The Temporal client's Rust threads can outlive the event loop and abort a finalizing
    interpreter ("PyGILState_Release: thread state ... must be current", sdk-python issue
    #300): a worker that shut down cleanly would then exit with SIGABRT. Everything is stopped
    and flushed at this point, so skipping the teardown loses nothing.
    """
    code = 0
    try:
        asyncio.run(main)
    except DevServerError as err:
        typer.echo(str(err), err=True)
        code = 1
    except Exception:
        traceback.print_exc()
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, help="Gleichzeitige Workflow-Tasks und Aktivitäten (LOTSE_WORKER_CONCURRENCY)."
        ),
    ] = None,
) -> None:
    """Run a worker against LOTSE_TEMPORAL_ADDRESS until SIGTERM/Ctrl-C."""
    settings = _settings()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    _run_process(run_worker(settings, default_activities))


@app.command("dev-server")
def dev_server() -> None:
    """Run the Temporal dev server (state in <data_dir>/temporal.sqlite) until Ctrl-C."""
    settings = _settings()

    def announce(server: DevServer) -> None:
        typer.echo(f"Temporal:    {server.target} (Namespace {settings.temporal_namespace})")
        if server.ui_url:
            typer.echo(f"Temporal-UI: {server.ui_url}")
        typer.echo("Strg+C beendet den Server.")

    _run_process(serve_until_stopped(settings, announce))


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Adresse (LOTSE_API_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (LOTSE_API_PORT).")
    ] = None,
) -> None:
    """Serve the HTTP API against LOTSE_TEMPORAL_ADDRESS and LOTSE_DATABASE_URL until SIGTERM."""
    from api.main import serve

    settings = _with_api_address(_settings(), host, port)
    _run_process(serve(settings))


def _with_api_address(settings: Settings, host: str | None, port: int | None) -> Settings:
    update: dict[str, object] = {}
    if host is not None:
        update["api_host"] = host
    if port is not None:
        update["api_port"] = port
    return settings.model_copy(update=update) if update else settings


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Adresse der API (Standard 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port der API (8000).")] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Alle Daten hier (Standard ./.lotse).")
    ] = None,
) -> None:
    """Run dev server, store (demo data on first start), worker and API here until Ctrl-C."""
    from worker import up as up_module

    settings = _with_api_address(_settings(), host, port)
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    if settings.is_production:
        typer.echo(
            "`lotse up` ist für einen Rechner zum Ausprobieren (Dev-Server, Demodaten); in "
            "Produktion `lotse worker` und `lotse api` gegen den Temporal-Cluster starten.",
            err=True,
        )
        raise typer.Exit(2)

    def announce(server: DevServer, seeded: bool) -> None:
        typer.echo(f"Temporal:    {server.target}")
        if server.ui_url:
            typer.echo(f"Temporal-UI: {server.ui_url}")
        typer.echo(f"Daten:       {settings.data_dir.resolve()}")
        base = f"http://{settings.api_host}:{settings.api_port}"
        typer.echo(f"Lotse:       {base}/  (API-Doku {base}/docs)")
        typer.echo(mail_line(settings))
        typer.echo(
            "Anmeldung:   berater1, berater2 (Beratung), koordination (Koordination), "
            "sprachkurs, jobcenter, … (Partner), admin; Passwort jeweils: demo"
        )
        if seeded and settings.demo_cases:
            typer.echo("Demodaten angelegt; Demofälle werden im Hintergrund durchgespielt.")
        elif seeded:
            typer.echo("Demodaten angelegt.")
        typer.echo("Lotse läuft. Strg+C beendet alles.")

    def announce_demo(played: "DemoPlayed") -> None:
        typer.echo(f"Demofälle angelegt: {played.cases} Fälle in {played.seconds:.0f} s.")

    _run_process(up_module.up(settings, default_activities, announce, announce_demo))


if __name__ == "__main__":
    app()
