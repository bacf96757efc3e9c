"""Throw-away, migrated stores for tests (the store's own, and the API's and activities' that
need a read model), on either backend. Not used by the application.

On PostgreSQL every store gets a schema of its own, named at random and put first on the
connections' search_path; Alembic's version table and all tables land there and the schema is
dropped afterwards. Tests on the shared database neither see each other nor leave anything.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine, make_url

from store.db import engine_from_url, make_engine, upgrade

Backend = Literal["sqlite", "postgresql"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgresql")


@contextmanager
def sqlite_store(data_dir: Path) -> Iterator[Engine]:
    """A migrated SQLite store in `data_dir` (the default `lotse up` layout)."""
    engine = make_engine(None, data_dir)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A fresh, empty schema on the database at `url`; yields a URL whose connections use it."""
    schema = f"lotse_test_{uuid.uuid4().hex[:12]}"
    admin = engine_from_url(url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        # libpq's `options` sets search_path for every connection of the engine, pooled or new.
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def postgres_store(url: str) -> Iterator[Engine]:
    """A migrated store in a schema of its own on the PostgreSQL database at `url`."""
    with postgres_schema(url) as scoped_url:
        engine = engine_from_url(scoped_url)
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()


@contextmanager
def migrated_store(backend: Backend, data_dir: Path, postgres_url: str | None) -> Iterator[Engine]:
    """`sqlite_store(data_dir)` or `postgres_store(postgres_url)`."""
    if backend == "sqlite":
        with sqlite_store(data_dir) as engine:
            yield engine
    else:
        if not postgres_url:
            raise ValueError("a PostgreSQL store needs postgres_url")
        with postgres_store(postgres_url) as engine:
            yield engine
