"""Engines, sessions and schema migrations of the store.

One URL decides the backend: none means a SQLite file in the data directory (`lotse up` on one
machine), `postgresql+psycopg://...` is production. The schema is Alembic's alone: nothing here
calls `create_all`, so a database is always at a known revision. The migration scripts ship
inside this package and are found relative to this file, never to the working directory, so a
non-editable install migrates from anywhere.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

SQLITE_FILE = "lotse.sqlite"
MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
# How long a SQLite writer waits for another process's write lock (worker and API share the
# file) before it fails with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000
# PostgreSQL advisory lock key serialising concurrent `upgrade` calls ("lotse" in ASCII).
_MIGRATION_LOCK_KEY = 0x6C6F747365
# Alembic keeps the running migration in module globals (alembic.context, alembic.op): two
# threads migrating at once clobber each other, whatever the database.
_ALEMBIC_IN_PROCESS = threading.Lock()


def make_engine(url: str | None, data_dir: Path) -> Engine:
    """The engine for `url` (e.g. `LOTSE_DATABASE_URL`), or for `<data_dir>/lotse.sqlite` when
    `url` is None or empty."""
    if not url:
        data_dir.mkdir(parents=True, exist_ok=True)
        return engine_from_url(URL.create("sqlite+pysqlite", database=str(data_dir / SQLITE_FILE)))
    return engine_from_url(url)


def engine_from_url(url: str | URL) -> Engine:
    """An engine for an explicit URL, with the SQLite connection settings when it is SQLite."""
    sqlite = make_url(url).get_backend_name() == "sqlite"
    # pre_ping: a PostgreSQL restart or failover must not hand out dead pooled connections. A
    # SQLite file has no server to lose; a ping there is a wasted statement per checkout.
    # hide_parameters: a failed statement's error names no values (names, notes), in a log
    # line or in the failure an activity hands to Temporal.
    engine = create_engine(url, pool_pre_ping=not sqlite, hide_parameters=True)
    if sqlite:
        event.listen(engine, "connect", _sqlite_on_connect)
    else:
        event.listen(engine, "handle_error", _without_server_detail, retval=True)
    return engine


def _without_server_detail(context: ExceptionContext) -> BaseException | None:
    """The error of a failed statement with PostgreSQL's primary message only. Its DETAIL
    quotes the values of the row or key at fault ("Failing row contains (Amina, ...)"), which
    `hide_parameters` cannot reach: it is part of the driver's error text."""
    original = context.original_exception
    diag = getattr(original, "diag", None)
    if diag is None or not (diag.message_detail or diag.message_hint or diag.context):
        return None
    # The driver's exception stays chained to the one raised: its text must go as well.
    original.args = (diag.message_primary or "database error",)
    dialect = context.dialect
    return DBAPIError.instance(
        context.statement,
        context.parameters,
        original,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=context.is_disconnect,
        dialect=dialect,
    )


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # SQLite ignores foreign keys unless told so on every connection; WAL lets the API read
    # while the worker writes.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (an API answer is built after it)."""
    return sessionmaker(engine, class_=Session, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the packaged migrations; with `connection`, env.py migrates
    on that connection (and inside its transaction) instead of opening its own."""
    config = Config()
    # Config values go through ConfigParser interpolation: a "%" in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Migrate the database to `revision` (default: the newest). Safe to run on every start: at
    the target already, it does nothing. All steps run in one transaction on both backends, so
    a failed migration leaves the database as it was."""
    with migration_connection(engine_or_url) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine_or_url: Engine | str, revision: str) -> None:
    """Migrate the database down to `revision` (`base` removes every table of the store)."""
    with migration_connection(engine_or_url) as connection:
        command.downgrade(alembic_config(connection), revision)


@contextmanager
def migration_connection(engine_or_url: Engine | str) -> Iterator[Connection]:
    """A connection inside one transaction that only one migration at a time can hold."""
    engine = engine_or_url if isinstance(engine_or_url, Engine) else engine_from_url(engine_or_url)
    sqlite = engine.dialect.name == "sqlite"
    try:
        with _ALEMBIC_IN_PROCESS, engine.connect() as connection:
            if sqlite:
                # SQLite's recipe for schema changes: foreign keys off (possible only outside a
                # transaction), or batch mode's copy-and-swap of a referenced table fails;
                # checked before commit instead.
                connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
                connection.commit()
            try:
                with connection.begin():
                    if sqlite:
                        # Python's sqlite3 runs DDL outside any transaction unless one is begun
                        # explicitly; IMMEDIATE also makes a second migrating process wait.
                        connection.exec_driver_sql("BEGIN IMMEDIATE")
                    else:
                        # API and workers may all migrate on start: one at a time, the others
                        # then find the database at head. Released with the transaction.
                        connection.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                        )
                    yield connection
                    if sqlite:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
            finally:
                if sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys = ON")
                    connection.commit()
    finally:
        if engine is not engine_or_url:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision the installed package ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def dialect_insert(bind: Engine | Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL alike)."""
    return insert_of(bind.dialect.name)


def insert_of(dialect: str) -> Any:
    """`dialect_insert` by the dialect's name."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
