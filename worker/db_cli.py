"""`lotse db upgrade|current`: bring the read model's schema to the newest Alembic revision.
Safe to run on every deploy (several processes at once on PostgreSQL take an advisory lock)."""

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
