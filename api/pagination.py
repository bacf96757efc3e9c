"""Page-number pagination of read-model lists: `?page=1&page_size=50`.

A page answers `has_more` instead of a total (store/reads/paging.py says why); the
coordination's daily lists answer a `CountedPage`, with `total` besides. The read functions
fetch the page, this module turns it into the API's `Page` of response items.
"""

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from store.reads.paging import Counted, Slice

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


class CountedPage(Page[T], Generic[T]):
    total: int  # items of the whole list, over all its pages

    @property
    def pages(self) -> int:
        """How many pages the list has (at least one: an empty list is one empty page)."""
        return max(1, -(-self.total // self.page_size))


def paginate_counted(found: Counted[R], convert: Callable[[R], T]) -> CountedPage[T]:
    """The API's page of `found` with its total (`store.reads.paging.counted_page_of`)."""
    return CountedPage[T](
        items=[convert(row) for row in found.rows],
        page=found.page,
        page_size=found.page_size,
        has_more=found.has_more,
        total=found.total,
    )
