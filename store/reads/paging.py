"""One page of an ordered read-model query: the rows and whether more follow, and for the
lists that say how many they hold, the total.

A page answers "more" instead of a total: counting every matching row would cost a second
scan of the index on each request, while a list only needs to know whether to offer "next".
One row more than asked for is fetched to find out. The coordination's daily lists are the
exception (`counted_page_of`): their headings say how many there are and their pagers
„Seite 2 von 7“, so they pay for one COUNT of the same query; each is one municipality's
rows of an index (store/reads/supervision_lists.py). (`api/pagination.py` turns a `Slice`
into the API's `Page`.)
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func
from sqlalchemy import select as sa_select
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

R = TypeVar("R")


@dataclass(frozen=True)
class Slice(Generic[R]):
    rows: list[R]
    has_more: bool


@dataclass(frozen=True)
class Counted(Slice[R]):
    """A page of a counted list: its rows, and how many rows the whole list has."""

    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """How many pages the list has (at least one, an empty page)."""
        return max(1, -(-self.total // self.page_size))


def page_of(session: Session, query: SelectOfScalar[R], page: int, page_size: int) -> Slice[R]:
    """Page `page` (from 1) of `query`, which must already be ordered by something unique."""
    found: Sequence[R] = session.exec(
        query.offset((page - 1) * page_size).limit(page_size + 1)
    ).all()
    return Slice(list(found[:page_size]), len(found) > page_size)


def count_of(session: Session, query: Select[*tuple[Any, ...]] | SelectOfScalar[Any]) -> int:
    """How many rows `query` matches, however it is ordered."""
    counted = sa_select(func.count()).select_from(query.order_by(None).subquery())
    total: int = session.connection().execute(counted).scalar_one()
    return total


def counted_page_of(
    session: Session, query: SelectOfScalar[R], page: int, page_size: int
) -> Counted[R]:
    """Page `page` (from 1) of the ordered `query`, with the total of the whole list."""
    found = session.exec(query.offset((page - 1) * page_size).limit(page_size)).all()
    return counted(list(found), count_of(session, query), page, page_size)


def counted(rows: list[R], total: int, page: int, page_size: int) -> Counted[R]:
    """Page `page` of a list of `total` rows, holding `rows`."""
    return Counted(rows, page * page_size < total, total, page, page_size)


def first(session: Session, query: SelectOfScalar[R], limit: int) -> list[R]:
    """The first `limit` rows of the ordered `query` (the lists of a page without paging)."""
    return list(session.exec(query.limit(limit)).all())
