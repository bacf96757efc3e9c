"""Page-number pagination of read-model lists: `?page=1&page_size=50`.

A page answers `has_more` instead of a total: counting every matching row would cost a second
scan of the index on each request, while a client only needs to know whether to offer "next".
One more row than asked for is fetched to find out.
"""

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Deep enough for 10 million rows at the largest page size, and a bound on OFFSET's cost.
MAX_PAGE = 50_000

PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Seite, ab 1.")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Einträge je Seite.")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    page_size: int
    has_more: bool


def paginate(
    session: Session,
    query: SelectOfScalar[R],
    page: int,
    page_size: int,
    convert: Callable[[R], T],
) -> Page[T]:
    """One page of `query` (which must already be ordered by something unique)."""
    rows: Sequence[Any] = session.exec(
        query.offset((page - 1) * page_size).limit(page_size + 1)
    ).all()
    return Page[T](
        items=[convert(row) for row in rows[:page_size]],
        page=page,
        page_size=page_size,
        has_more=len(rows) > page_size,
    )
