"""Read side of the programme: programmes, allocations and their figures as the caller may see
them (`allocation_rules`: the audits' rule, and the QA lead sees all)."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from services.audit.allocation_rules import sees_every_allocation
from services.audit.models import AllocationRow, ProgrammeRow
from services.audit.programme_stats import AllocationFigure
from services.audit.programme_store import programme_of, reflections_of
from services.audit.programme_views import AllocationView, ProgrammeSummary, ProgrammeView
from shared.auth import Caller
from shared.db import where_equal
from shared.events.vocabulary import AllocationStatus
from shared.organisation import Organisation
from shared.paging import PageQuery, one_page
from shared.visibility import PeopleColumns, visible_where

PEOPLE = PeopleColumns(
    service_area=col(AllocationRow.service_area),
    named=(
        col(AllocationRow.auditor_id),
        col(AllocationRow.practitioner_id),
        col(AllocationRow.team_manager_id),
    ),
)


@dataclass(frozen=True)
class AllocationFilter:
    month: str | None = None
    auditor_id: str | None = None
    team_id: str | None = None
    status: AllocationStatus | None = None
    case_id: str | None = None


def visible_allocations(caller: Caller) -> ColumnElement[bool]:
    """`allocation_rules.may_see_allocation` as a SQL condition."""
    return true() if sees_every_allocation(caller) else visible_where(caller, PEOPLE)


def _views(session: Session, rows: list[AllocationRow], today: date) -> list[AllocationView]:
    said = reflections_of(session, [row.id for row in rows])
    return [AllocationView.of(row, said[row.id], today) for row in rows]


def allocation(engine: Engine, allocation_id: str) -> AllocationRow | None:
    with Session(engine) as session:
        return session.get(AllocationRow, allocation_id)


def allocation_view(engine: Engine, row: AllocationRow, today: date) -> AllocationView:
    with Session(engine) as session:
        return _views(session, [row], today)[0]


def list_allocations(
    engine: Engine, caller: Caller, where: AllocationFilter, paging: PageQuery, today: date
) -> list[AllocationView]:
    """A page of the allocations asked for, of those the caller may see, newest month first."""
    query = select(AllocationRow).where(visible_allocations(caller))
    query = where_equal(
        query,
        (
            (col(AllocationRow.month), where.month),
            (col(AllocationRow.auditor_id), where.auditor_id),
            (col(AllocationRow.team_id), where.team_id),
            (col(AllocationRow.status), where.status.value if where.status else None),
            (col(AllocationRow.case_id), where.case_id),
        ),
    )
    query = query.order_by(
        col(AllocationRow.month).desc(), col(AllocationRow.due_on), col(AllocationRow.id)
    )
    with Session(engine) as session:
        return _views(session, list(session.exec(one_page(query, paging))), today)


def _of_programme(session: Session, programme_id: str, caller: Caller) -> list[AllocationRow]:
    query = (
        select(AllocationRow)
        .where(AllocationRow.programme_id == programme_id, visible_allocations(caller))
        .order_by(col(AllocationRow.team_id), col(AllocationRow.case_id), col(AllocationRow.id))
    )
    return list(session.exec(query))


def programme_summaries(
    engine: Engine, caller: Caller, paging: PageQuery
) -> list[ProgrammeSummary]:
    query = select(ProgrammeRow).order_by(col(ProgrammeRow.month).desc())
    with Session(engine) as session:
        return [
            ProgrammeSummary.of(row, _of_programme(session, row.id, caller))
            for row in session.exec(one_page(query, paging))
        ]


def programme_view(
    engine: Engine, month: str, caller: Caller, organisation: Organisation, today: date
) -> ProgrammeView | None:
    """The month's programme with the allocations (and unallocated cases) the caller may see."""
    with Session(engine) as session:
        row = programme_of(session, month)
        if row is None:
            return None
        allocations = _views(session, _of_programme(session, row.id, caller), today)
        unallocated = [case for case in row.unallocated if _may_see_case(caller, case)]
        return ProgrammeView.of(row, organisation, unallocated, allocations)


def _may_see_case(caller: Caller, case: dict[str, Any]) -> bool:
    return sees_every_allocation(caller) or caller.sees_area(str(case.get("service_area", "")))


def programme_size(engine: Engine, month: str) -> int | None:
    with Session(engine) as session:
        row = programme_of(session, month)
        return row.size if row else None


def allocation_figures(engine: Engine, month: str, caller: Caller) -> list[AllocationFigure]:
    """The month's allocations the caller may see, as the figures count them."""
    query = select(AllocationRow).where(AllocationRow.month == month, visible_allocations(caller))
    with Session(engine) as session:
        return [
            AllocationFigure(
                row.case_id, row.team_id, row.auditor_id, AllocationStatus(row.status), row.due_on
            )
            for row in session.exec(query)
        ]
