"""Read side of the programme: programmes, allocations and their figures as the caller may see
them (`allocation_rules`: the audits' rule, and the QA lead sees all)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, and_, case, func, literal_column, true
from sqlalchemy import select as select_columns
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from services.audit.allocation_rules import COUNTED, LIVE, sees_every_allocation
from services.audit.models import AllocationRow, ProgrammeRow
from services.audit.programme_stats import AllocationTally, ProgrammeTallies
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


def _statuses(statuses: frozenset[AllocationStatus]) -> ColumnElement[bool]:
    return col(AllocationRow.status).in_(sorted(status.value for status in statuses))


def _tally_columns(today: date) -> tuple[ColumnElement[int], ...]:
    """`programme_stats._tally` in SQL, in `AllocationTally`'s order: cases counted once each,
    declined and late allocations each."""

    def cases(statuses: frozenset[AllocationStatus]) -> ColumnElement[int]:
        return func.count(func.distinct(case((_statuses(statuses), col(AllocationRow.case_id)))))

    def allocations(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.count(case((condition, literal_column("1"))))

    return (
        cases(COUNTED),
        cases(frozenset({AllocationStatus.IN_PROGRESS})),
        cases(frozenset({AllocationStatus.SUBMITTED})),
        cases(frozenset({AllocationStatus.EXEMPTED})),
        allocations(_statuses(frozenset({AllocationStatus.DECLINED}))),
        # allocation_rules.is_late: still live after its due day.
        allocations(and_(_statuses(LIVE), col(AllocationRow.due_on) < today)),
    )


def allocation_tallies(engine: Engine, month: str, caller: Caller, today: date) -> ProgrammeTallies:
    """The month's tallies over the allocations the caller may see, counted by the database:
    the county's, each team's and each auditor's (three aggregates on the month's index)."""
    seen = (col(AllocationRow.month) == month, visible_allocations(caller))
    measures = _tally_columns(today)
    team, auditor = col(AllocationRow.team_id), col(AllocationRow.auditor_id)
    with engine.connect() as connection:
        whole = connection.execute(select_columns(*measures).where(*seen)).one()
        teams = connection.execute(select_columns(team, *measures).where(*seen).group_by(team))
        by_team = {row[0]: _tally_of(row[1:]) for row in teams}
        auditors = select_columns(auditor, *measures).where(*seen).group_by(auditor)
        by_auditor = {row[0]: _tally_of(row[1:]) for row in connection.execute(auditors)}
    return ProgrammeTallies(_tally_of(whole), by_team, by_auditor)


def _tally_of(measured: Sequence[Any]) -> AllocationTally:
    """A row of `_tally_columns`."""
    allocated, in_progress, submitted, exempted, declined, late = measured
    return AllocationTally(allocated, in_progress, submitted, exempted, declined, late)
