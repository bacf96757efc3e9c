"""One page of an ordered read-model query: the rows and whether more follow.

A page answers "more" instead of a total: counting every matching row would cost a second
scan of the index on each request, while a list only needs to know whether to offer "next".
One row more than asked for is fetched to find out. (`api/pagination.py` turns a `Slice` into
the API's `Page`.)
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

R = TypeVar("R")


@dataclass(frozen=True)
class Slice(Generic[R]):
    rows: list[R]
    has_more: bool


def page_of(session: Session, query: SelectOfScalar[R], page: int, page_size: int) -> Slice[R]:
    """Page `page` (from 1) of `query`, which must already be ordered by something unique."""
    found: Sequence[R] = session.exec(
        query.offset((page - 1) * page_size).limit(page_size + 1)
    ).all()
    return Slice(list(found[:page_size]), len(found) > page_size)


def first(session: Session, query: SelectOfScalar[R], limit: int) -> list[R]:
    """The first `limit` rows of the ordered `query` (the lists of a page without paging)."""
    return list(session.exec(query.limit(limit)).all())
