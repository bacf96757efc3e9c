"""`lotse db upgrade|current`: bring the read model's schema to the newest Alembic revision.
Safe to run on every deploy (several processes at once on PostgreSQL take an advisory lock).
`lotse db backfill-evaluation` fills the evaluation's facts for cases from before them,
`lotse db backfill-names` the clients' full names for the case list and the search."""

from typing import Annotated

import typer

from app.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Datenbankschema des Lesemodells verwalten.")


@app.command()
def upgrade() -> None:
    """Migrate LOTSE_DATABASE_URL (or the SQLite file in the data dir) to the newest schema."""
    from store.db import current_revision, make_engine
    from store.db import upgrade as upgrade_schema

    settings = Settings()
    engine = make_engine(settings.database_url, settings.data_dir)
    try:
        upgrade_schema(engine)
        typer.echo(f"Schema auf Stand {current_revision(engine)}.")
    finally:
        engine.dispose()


@app.command()
def current() -> None:
    """Print the schema revision the database is at (empty: not migrated yet)."""
    from store.db import current_revision, head_revision, make_engine

    settings = Settings()
    engine = make_engine(settings.database_url, settings.data_dir)
    try:
        typer.echo(f"Datenbank: {current_revision(engine) or '-'}; neueste: {head_revision()}")
    finally:
        engine.dispose()


@app.command("backfill-evaluation")
def backfill_evaluation(
    workflows: Annotated[
        bool,
        typer.Option(
            "--workflows/--ohne-workflows",
            help="Bedarfe aus dem Zustand der Workflows lesen (Temporal und ein Worker nötig).",
        ),
    ] = True,
) -> None:
    """Fill the evaluation's facts (migration 0010) for existing cases from their archived
    events; idempotent, safe to run again."""
    import asyncio

    from store.db import make_engine
    from worker.evaluation_backfill import backfill

    settings = Settings()
    engine = make_engine(settings.database_url, settings.data_dir)
    try:
        result = asyncio.run(backfill(settings, engine, with_workflows=workflows))
    finally:
        engine.dispose()
    typer.echo(
        f"{result.cases} Fälle nachgetragen ({result.events} Ereignisse); "
        f"ohne Bedarfe aus dem Workflow: {result.without_needs}."
    )


@app.command("backfill-names")
def backfill_names() -> None:
    """Fill the clients' full names, dates of birth and search keys (migration 0012) of cases
    projected before them from their workflows (Temporal and a worker needed); idempotent."""
    import asyncio

    from store.db import make_engine
    from worker.names_backfill import backfill_names as backfill

    settings = Settings()
    engine = make_engine(settings.database_url, settings.data_dir)
    try:
        result = asyncio.run(backfill(settings, engine))
    finally:
        engine.dispose()
    typer.echo(
        f"{result.written} von {result.cases} Fällen ohne Nachnamen nachgetragen; "
        f"ohne Antwort des Workflows: {result.unanswered}."
    )
