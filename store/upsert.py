"""Rows written by their primary key in one statement: what `session.merge` does for each row
(insert it, or overwrite the row with its key), without the ORM's read before every write.

For rows the session does not hold: the projector writes events, referral steps, reviews and
the evaluation's facts this way, rows it never loads as objects before writing them. A row
loaded in the session before its upsert would keep its old values there (the ORM does not see
the statement), so rows the projector reads and changes as objects (referrals, tasks,
summaries) stay with `merge`.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session, SQLModel

from store.db import dialect_insert


def upsert(session: Session, rows: Sequence[SQLModel]) -> None:
    """Insert `rows` (all of one table), overwriting every column of an existing row with the
    same primary key; one statement (executemany) for all."""
    if not rows:
        return
    table: Table = type(rows[0]).__table__  # type: ignore[attr-defined]
    values = [{column.name: getattr(row, column.key) for column in table.columns} for row in rows]
    insert: Any = dialect_insert(session.get_bind())(table)
    keys = [column.name for column in table.primary_key.columns]
    changing = {c.name: insert.excluded[c.name] for c in table.columns if not c.primary_key}
    statement = (
        insert.on_conflict_do_update(index_elements=keys, set_=changing)
        if changing
        else insert.on_conflict_do_nothing(index_elements=keys)
    )
    session.execute(statement, values)
