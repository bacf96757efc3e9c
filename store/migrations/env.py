"""Alembic environment of the store.

`store.db.upgrade` hands in a connection (`config.attributes["connection"]`) and the migration
runs on it, inside the caller's transaction. Run from the alembic command line (see
alembic.ini beside this file) it opens the same kind of connection to `LOTSE_DATABASE_URL`.

SQLite cannot alter most of a table in place, so there every operation is rendered in batch
mode (copy, alter, swap); on PostgreSQL batch mode is a plain ALTER.
"""

import os
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

# Importing the table modules registers their tables on SQLModel.metadata.
import store.case_numbers
import store.erasure
import store.evaluation_cells
import store.facts
import store.keys
import store.models
import store.notifications
import store.oidc
import store.projections  # noqa: F401
from store.db import migration_connection
from store.types import StrEnumType, UTCDateTime

config = context.config
target_metadata = SQLModel.metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate writes our column types as the plain SQLAlchemy types they are stored as,
    so a revision never imports application code (it must keep working when that changes)."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, StrEnumType):
        return f"sa.String(length={obj.length})"
    if isinstance(obj, AutoString):
        length = obj.impl_instance.length  # type: ignore[attr-defined]
        return f"sa.String(length={length})" if length else "sa.String()"
    return False


def _configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        **options,
    )


def _run_on(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = os.environ.get("LOTSE_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set LOTSE_DATABASE_URL to the database to migrate")
    return url


def run_migrations_offline() -> None:
    url = _url()
    _configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    shared: Connection | None = config.attributes.get("connection")
    if shared is not None:
        _run_on(shared)
        return
    # The command line gets the same single transaction and lock as `store.db.upgrade`.
    with migration_connection(_url()) as connection:
        _run_on(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
