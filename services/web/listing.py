"""What the list pages share: pages of a list with GOV.UK pagination, filter choices, and
due dates in working days from today (UK)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query

from services.web.pages import label
from shared.calendar import WorkingDayCalendar, uk_day

PAGE_SIZE = 25
PageNumber = Annotated[int, Query(ge=1, le=10_000)]
"""A list page's `?page=` number."""


@cache
def calendar() -> WorkingDayCalendar:
    return WorkingDayCalendar()


def today() -> date:
    """Today as the council's clocks count it."""
    return uk_day(datetime.now(UTC))


def working_days_phrase(due_on: str | date) -> str:
    """`3 working days left`, `Due today` or `late by 2 working days`, from today."""
    due = date.fromisoformat(due_on) if isinstance(due_on, str) else due_on
    now = today()
    if due < now:
        late = max(1, calendar().working_days_between(due, now))
        return f"late by {late} working day{'' if late == 1 else 's'}"
    left = calendar().working_days_between(now, due)
    if left == 0:
        return "Due today"
    return f"{left} working day{'' if left == 1 else 's'} left"


@dataclass(frozen=True)
class Page:
    """One page of a list and the links to the others (GOV.UK pagination)."""

    items: list[dict[str, Any]]
    number: int
    count: int

    def pagination(self, path: str, query: dict[str, str]) -> dict[str, Any] | None:
        """The `govukPagination` options, or None when everything fits on one page."""
        if self.count == 1:
            return None

        def href(number: int) -> str:
            return f"{path}?{urlencode({**query, 'page': number})}"

        return {
            "previous": {"href": href(self.number - 1)} if self.number > 1 else None,
            "next": {"href": href(self.number + 1)} if self.number < self.count else None,
            "items": [
                {"number": n, "href": href(n), "current": n == self.number}
                for n in range(1, self.count + 1)
            ],
        }


def page_from_api(fetch: Callable[[int, int], list[dict[str, Any]]], number: int) -> Page:
    """Page `number` of a list the API pages (`fetch(limit, offset)`, shared.paging): one row
    asked beyond the page says whether another follows, so the links reach every row."""
    number = max(1, number)
    found = fetch(PAGE_SIZE + 1, (number - 1) * PAGE_SIZE)
    more = len(found) > PAGE_SIZE
    return Page(found[:PAGE_SIZE], number, number + 1 if more else number)


def choices(values: Iterable[str], selected: str, anything: str) -> list[dict[str, Any]]:
    """A filter's `govukSelect` items: "anything" first, then each value in words."""
    items = [{"value": "", "text": anything}]
    return items + [{"value": v, "text": label(v), "selected": v == selected} for v in values]
