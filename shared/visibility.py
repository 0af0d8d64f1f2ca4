"""Who may see an audit, and with it the records that belong to it (moderations, follow-ups).

The product's one rule: its auditor, the case's practitioner and team manager, the moderator
assigned, the Head of Service and Assistant Director of its service area, and admins (machine
callers too). The QA lead, who writes the monthly board pack, reads every audit and its records
as an admin does: for reading only, since what anyone may change is checked where it is changed
(`Caller.require_area`, `Caller.require_self`, each service's rules), never here.

`may_see` decides it for one record; `visible_where` says the same as a SQL condition, so that
a list holds exactly the records `may_see` would let the caller open.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from shared.auth import AccessRole, Caller, Forbidden
from shared.events.vocabulary import ServiceArea


@dataclass(frozen=True)
class AuditPeople:
    """An audit's service area and the people it names, as far as a service knows them."""

    service_area: str
    auditor_id: str | None = None
    practitioner_id: str | None = None
    team_manager_id: str | None = None
    moderator_ids: frozenset[str] = frozenset()

    @property
    def named(self) -> frozenset[str]:
        """Everyone the audit names: its auditor, the case's people, its moderators."""
        people = (self.auditor_id, self.practitioner_id, self.team_manager_id)
        return frozenset(person for person in people if person) | self.moderator_ids


def sees_every_audit(caller: Caller) -> bool:
    """Admins, machine callers and the QA lead read every audit."""
    return caller.sees_every_area or caller.has(AccessRole.QA_LEAD)


def areas_in_view(caller: Caller) -> list[str]:
    """The service areas whose figures a caller's statistics show even when nothing happened
    (zero-filled): every area for those who see every audit, else the areas they lead."""
    if sees_every_audit(caller):
        return sorted(area.value for area in ServiceArea)
    return sorted(caller.service_areas)


def may_see(caller: Caller, people: AuditPeople) -> bool:
    """Admins, machine callers and the QA lead see every audit; area leads their areas'; others
    their own."""
    return (
        sees_every_audit(caller)
        or caller.sees_area(people.service_area)
        or caller.id in people.named
    )


def require_visible(caller: Caller, people: AuditPeople, what: str) -> None:
    """Refuse (403) a caller the rule does not let see the audit `what` belongs to."""
    if not may_see(caller, people):
        raise Forbidden(
            f"{what} is not yours to see: its audit does not name you and "
            f"{people.service_area} is not one of your service areas"
        )


@dataclass(frozen=True)
class PeopleColumns:
    """Where a service's tables keep an audit's people, for lists filtered in SQL."""

    service_area: Any
    """The column of the audit's service area."""
    named: Sequence[Any]
    """Columns that each hold one person the audit names (auditor, practitioner, ...)."""
    audit_id: Any = None
    """The listed row's audit id, when its moderators are kept in a table of their own."""
    moderators: tuple[Any, Any] | None = None
    """That table's (audit id, moderator id) columns."""


def visible_where(caller: Caller, columns: PeopleColumns) -> ColumnElement[bool]:
    """`may_see` as a SQL condition on the rows `columns` describe."""
    if sees_every_audit(caller):
        return true()
    conditions: list[ColumnElement[bool]] = [column == caller.id for column in columns.named]
    if caller.service_areas:
        conditions.append(columns.service_area.in_(sorted(caller.service_areas)))
    if columns.moderators is not None:
        audit_id, moderator_id = columns.moderators
        moderated = select(audit_id).where(moderator_id == caller.id)
        conditions.append(columns.audit_id.in_(moderated))
    return or_(false(), *conditions)
