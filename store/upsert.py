"""Rows written by their primary key in one statement: what `session.merge` does for each row
(insert it, or overwrite the row with its key), without the ORM's read before every write.

For rows the session does not hold: the projector writes events, referral steps, reviews and
the evaluation's facts this way, rows it never loads as objects before writing them. A row
loaded in the session before its upsert would keep its old values there (the ORM does not see
the statement), so rows the projector reads and changes as objects (referrals, tasks,
summaries) stay with `merge`.
"""

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session, SQLModel

from store.db import insert_of


def upsert(
    session: Session, model: type[SQLModel], rows: Sequence[SQLModel | Mapping[str, Any]]
) -> None:
    """Insert `rows` of `model`'s table, overwriting an existing row with the same primary key;
    one statement (executemany) for all. A row is an object of `model` or a value for every
    column by its name (the frequent rows: building an object cost more than writing it)."""
    if not rows:
        return
    table: Table = model.__table__  # type: ignore[attr-defined]
    values = [
        {column.name: getattr(row, column.key) for column in table.columns}
        if isinstance(row, SQLModel)
        else row
        for row in rows
    ]
    session.execute(_statement(table, session.get_bind().dialect.name), values)


@functools.cache
def _statement(table: Table, dialect: str) -> Any:
    """The table's upsert on the dialect: built once (building one, its `excluded` columns
    above all, cost more than executing it)."""
    insert: Any = insert_of(dialect)(table)
    keys = [column.name for column in table.primary_key.columns]
    changing = {c.name: insert.excluded[c.name] for c in table.columns if not c.primary_key}
    return (
        insert.on_conflict_do_update(index_elements=keys, set_=changing)
        if changing
        else insert.on_conflict_do_nothing(index_elements=keys)
    )
