"""Pages of a list route: every list answers at most `limit` rows from `offset`, newest first.

One rule for every service, so that no list grows with history and a client pages them all the
same way: `?limit=` (1 to 500, 100 when left out) and `?offset=` (from 0).
"""

from typing import Annotated, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlmodel.sql.expression import SelectOfScalar

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
MAX_OFFSET = 1_000_000

T = TypeVar("T")


class PageQuery(BaseModel):
    limit: int = DEFAULT_PAGE_SIZE
    offset: int = 0


def _page_query(
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_PAGE_SIZE,
            description=f"How many rows to answer at most: 1 to {MAX_PAGE_SIZE}, "
            f"{DEFAULT_PAGE_SIZE} when left out. Page on with `offset`.",
            examples=[DEFAULT_PAGE_SIZE],
        ),
    ] = DEFAULT_PAGE_SIZE,
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_OFFSET,
            description=f"How many rows to skip first: 0 to {MAX_OFFSET:,}, 0 when left out.",
            examples=[0],
        ),
    ] = 0,
) -> PageQuery:
    return PageQuery(limit=limit, offset=offset)


Paging = Annotated[PageQuery, Depends(_page_query)]
"""A list route's `limit` and `offset` query parameters."""


def one_page(query: SelectOfScalar[T], paging: PageQuery) -> SelectOfScalar[T]:
    """`query` (already ordered) cut to the page asked for."""
    return query.limit(paging.limit).offset(paging.offset)
