"""Page-number pagination of read-model lists: `?page=1&page_size=50`.

A page answers `has_more` instead of a total (store/reads/paging.py says why); the read
functions fetch the page, this module turns it into the API's `Page` of response items.
"""

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from store.reads.paging import Slice

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


def paginate(found: Slice[R], page: int, page_size: int, convert: Callable[[R], T]) -> Page[T]:
    """The API's page of `found` (one page of a read, `store.reads.paging.page_of`)."""
    return Page[T](
        items=[convert(row) for row in found.rows],
        page=page,
        page_size=page_size,
        has_more=found.has_more,
    )
