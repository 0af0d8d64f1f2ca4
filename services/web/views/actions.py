"""Agreed actions: who is offered which form, who may own one, and the lists (mine, one case's,
the overdue by service area and team).

The scheduler decides who may change what; the pages only choose which forms to offer, from the
organisation file, and show the scheduler's refusals as error summaries.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.web import figures, listing
from services.web.clients.api import ApiError
from services.web.clients.backends import Backends, Services
from services.web.exports import Table
from services.web.forms.audit_form import CASE_ID
from services.web.listing import PageNumber, choices, page_from_api, working_days_phrase
from services.web.pages import label, render
from services.web.session import Person
from shared.organisation import Organisation, StaffMember

router = APIRouter()

STATUSES = ("open", "overdue", "done", "verified", "not_achieved", "cancelled")
"""The status filter: the API's statuses, and `overdue` (open past its due date)."""
EVERY_PAGE = 100
CaseId = Annotated[str, Path(pattern=CASE_ID.pattern)]


# --- who is offered which form ------------------------------------------------------------


def line_manager_of(organisation: Organisation, owner_id: str, service_area: str) -> str:
    """Whom an action's owner answers to, as the scheduler has it: their team's manager; for a
    team manager (or someone in no team) the area's Head of Service; for the Head of Service,
    the assistant director."""
    member = organisation.staff_by_id.get(owner_id)
    team = organisation.teams_by_id.get(member.team or "") if member is not None else None
    if team is not None and team.team_manager != owner_id:
        return team.team_manager
    leads = organisation.leads_of(service_area)
    return leads.assistant_director if leads.head_of_service == owner_id else leads.head_of_service


def managers_of(organisation: Organisation, action: Mapping[str, Any]) -> frozenset[str]:
    """Who manages an action: its owner's line manager and its area's Head of Service."""
    area = action["service_area"]
    head = organisation.leads_of(area).head_of_service
    return frozenset({line_manager_of(organisation, action["owner_id"], area), head})


@dataclass(frozen=True)
class Offered:
    """The forms an action's page shows the person: the API refuses anything else anyway."""

    mark_done: bool
    add_evidence: bool
    change: bool
    cancel: bool
    reopen: bool


def offered(organisation: Organisation, action: Mapping[str, Any], staff_id: str) -> Offered:
    """Only the owner marks it done; the owner and managers add evidence while it is open or
    done; managers change the owner or due date of an open one, cancel it until it is checked,
    and reopen a cancelled one."""
    owner = staff_id == action["owner_id"]
    manager = staff_id in managers_of(organisation, action)
    status = action["status"]
    return Offered(
        mark_done=owner and status == "open",
        add_evidence=(owner or manager) and status in ("open", "done"),
        change=manager and status == "open",
        cancel=manager and status in ("open", "done"),
        reopen=manager and status == "cancelled",
    )


def owner_choices(
    organisation: Organisation, service_area: str, team_id: str, current: str | None = None
) -> list[StaffMember]:
    """Who may own an action of a case: the area's Head of Service, the team's manager, then the
    team's staff (its practitioners); the current owner first when they are none of these."""
    team = organisation.teams_by_id.get(team_id)
    leads = [organisation.leads_of(service_area).head_of_service]
    leads += [team.team_manager] if team is not None else []
    members = sorted(
        (m for m in organisation.staff if m.team == team_id and m.id not in leads),
        key=lambda m: m.name,
    )
    people = [organisation.staff_by_id[i] for i in leads] + members
    known = {m.id for m in people}
    extra = organisation.staff_by_id.get(current or "")
    return ([extra] if extra is not None and extra.id not in known else []) + people


def owner_items(people: list[StaffMember], selected: str) -> list[dict[str, Any]]:
    """The `govukSelect` items of an owner: name and job."""
    return [
        {"value": m.id, "text": f"{m.name}, {label(m.role)}", "selected": m.id == selected}
        for m in people
    ]


# --- the GOV.UK date input ----------------------------------------------------------------


def typed_date(day: str, month: str, year: str) -> date | None:
    """The date typed in a date input, or None when it is not a real one."""
    parts = (day.strip(), month.strip(), year.strip())
    if not all(part.isdigit() for part in parts) or len(parts[2]) != 4:
        return None
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        return None


def due_date_problem(day: str, month: str, year: str, today: date, what: str) -> str | None:
    """What is wrong with a typed due date (`what` names it), or None; all empty is no date."""
    if not (day.strip() or month.strip() or year.strip()):
        return None
    due = typed_date(day, month, year)
    if due is None:
        return f"{what} must be a real date"
    if due < today:
        return f"{what} must be today or in the future"
    if not listing.calendar().is_working_day(due):
        return f"{what} must be a working day, not a weekend or bank holiday"
    return None


# --- lists --------------------------------------------------------------------------------


def _status_filter(status: str) -> dict[str, Any]:
    return {"overdue": True} if status == "overdue" else {"status": status}


def _list_page(
    request: Request, services: Services, heading: str, number: int, **filters: Any
) -> Response:
    status = str(filters.pop("status", ""))
    shown = page_from_api(
        lambda limit, offset: services.scheduler.actions(
            **filters, **_status_filter(status), limit=limit, offset=offset
        ),
        number,
    )
    query = f"?{urlencode({'status': status})}" if status else ""
    return render(
        request,
        "actions/list.html",
        title=heading,
        heading=heading,
        page=shown,
        pagination=shown.pagination(request.url.path, {"status": status}),
        statuses=choices(STATUSES, status, "Any status"),
        staff=request.app.state.organisation.staff_by_id,
        phrase=working_days_phrase,
        downloads={kind: f"{request.url.path}.{kind}{query}" for kind in ("csv", "xlsx")},
    )


ACTION_COLUMNS = (
    "Reference", "Case", "Action", "Service area", "Team", "Owner", "Due", "Status", "Overdue",
    "Agreed",
)  # fmt: skip


def actions_table(
    organisation: Organisation, title: str, actions: list[dict[str, Any]], cut: bool = False
) -> Table:
    """Actions as a table to download: what the list shows, every row."""

    def name(staff_id: str) -> str:
        member = organisation.staff_by_id.get(staff_id)
        return member.name if member is not None else staff_id

    def team(team_id: str) -> str:
        found = organisation.teams_by_id.get(team_id)
        return found.name if found is not None else team_id

    rows = (
        [
            action["id"],
            action["case_id"],
            action["what"],
            label(action["service_area"]),
            team(action["team_id"]),
            name(action["owner_id"]),
            str(action["due_on"]),
            label(action["status"]),
            "Yes" if action.get("overdue") else "No",
            str(action["agreed_at"])[:10],
        ]
        for action in actions
    )
    return figures.list_table(title, ACTION_COLUMNS, rows, cut)


def _download_list(
    request: Request,
    services: Services,
    kind: figures.Kind,
    title: str,
    stem: str,
    **filters: Any,
) -> Response:
    status = str(filters.pop("status", ""))
    found, cut = figures.every_row(
        lambda limit, offset: services.scheduler.actions(
            **filters, **_status_filter(status), limit=limit, offset=offset
        )
    )
    table = actions_table(request.app.state.organisation, title, found, cut)
    return figures.download(kind, table, "-".join(part for part in (stem, status) if part))


StatusAsked = Literal["", "open", "overdue", "done", "verified", "not_achieved", "cancelled"]


@router.get("/actions")
def my_actions(
    request: Request,
    person: Person,
    services: Services,
    status: StatusAsked = "",
    page: PageNumber = 1,
) -> Response:
    return _list_page(request, services, "Your actions", page, owner=person.staff_id, status=status)


@router.get("/actions.{kind}")
def my_actions_download(
    request: Request,
    person: Person,
    services: Services,
    kind: figures.Kind,
    status: StatusAsked = "",
) -> Response:
    return _download_list(
        request, services, kind, "Your actions", "actions", owner=person.staff_id, status=status
    )


@router.get("/cases/{case_id}/actions.{kind}")
def case_actions_download(
    request: Request,
    _person: Person,
    services: Services,
    case_id: CaseId,
    kind: figures.Kind,
    status: StatusAsked = "",
) -> Response:
    return _download_list(
        request,
        services,
        kind,
        f"Actions for case {case_id}",
        f"actions-{case_id}",
        case_id=case_id,
        status=status,
    )


@router.get("/cases/{case_id}/actions")
def case_actions(
    request: Request,
    _person: Person,
    services: Services,
    case_id: CaseId,
    status: StatusAsked = "",
    page: PageNumber = 1,
) -> Response:
    return _list_page(
        request, services, f"Actions for case {case_id}", page, case_id=case_id, status=status
    )


def every_page(fetch: Callable[[int, int], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every row of a list the API pages."""
    found: list[dict[str, Any]] = []
    while True:
        page = fetch(EVERY_PAGE, len(found))
        found += page
        if len(page) < EVERY_PAGE:
            return found


def action_plan(services: Backends, followup_id: str) -> list[dict[str, Any]] | None:
    """The actions agreed on a follow-up, or None when the scheduler cannot say just now."""
    try:
        return every_page(
            lambda limit, offset: services.scheduler.actions(
                origin_id=followup_id, limit=limit, offset=offset
            )
        )
    except ApiError as failure:
        if failure.status == 401:
            raise
        return None


@dataclass(frozen=True)
class TeamActions:
    name: str
    actions: list[dict[str, Any]]


@dataclass(frozen=True)
class AreaActions:
    service_area: str
    teams: list[TeamActions] = field(default_factory=list)


def by_area_and_team(
    organisation: Organisation, actions: list[dict[str, Any]]
) -> list[AreaActions]:
    """Actions grouped by service area then team, both by name; each team's soonest due first."""
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for action in actions:
        teams = grouped.setdefault(action["service_area"], {})
        teams.setdefault(action["team_id"], []).append(action)

    def team_name(team_id: str) -> str:
        team = organisation.teams_by_id.get(team_id)
        return team.name if team is not None else team_id

    return [
        AreaActions(
            area,
            sorted(
                (
                    TeamActions(team_name(t), sorted(found, key=lambda a: str(a["due_on"])))
                    for t, found in teams.items()
                ),
                key=lambda team: team.name,
            ),
        )
        for area, teams in sorted(grouped.items(), key=lambda item: label(item[0]))
    ]


@router.get("/actions/overdue")
def overdue_actions(
    request: Request, _person: Person, services: Services, service_area: str = ""
) -> Response:
    organisation: Organisation = request.app.state.organisation
    areas = [str(leads.service_area) for leads in organisation.service_areas]
    asked = service_area if service_area in areas else ""
    found = every_page(
        lambda limit, offset: services.scheduler.actions(
            overdue=True, service_area=asked, limit=limit, offset=offset
        )
    )
    query = f"?{urlencode({'service_area': asked})}" if asked else ""
    return render(
        request,
        "actions/overdue.html",
        title="Overdue actions",
        areas=by_area_and_team(organisation, found),
        area_choices=choices(areas, asked, "All service areas"),
        staff=organisation.staff_by_id,
        phrase=working_days_phrase,
        downloads={kind: f"/actions/overdue.{kind}{query}" for kind in ("csv", "xlsx")},
    )


@router.get("/actions/overdue.{kind}")
def overdue_actions_download(
    request: Request,
    _person: Person,
    services: Services,
    kind: figures.Kind,
    service_area: str = "",
) -> Response:
    """The overdue actions by service area and team, in the page's order, every row."""
    organisation: Organisation = request.app.state.organisation
    areas = [str(leads.service_area) for leads in organisation.service_areas]
    asked = service_area if service_area in areas else ""
    found, cut = figures.every_row(
        lambda limit, offset: services.scheduler.actions(
            overdue=True, service_area=asked, limit=limit, offset=offset
        )
    )
    ordered = [
        action
        for area in by_area_and_team(organisation, found)
        for team in area.teams
        for action in team.actions
    ]
    table = actions_table(organisation, "Overdue actions", ordered, cut)
    return figures.download(kind, table, "-".join(p for p in ("overdue-actions", asked) if p))
