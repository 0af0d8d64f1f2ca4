"""*My work*: what waits for the signed-in person, by what they do.

Roles only choose which sections to show; what each section lists is what the APIs let the
person see. A section whose API fails says so and the rest of the page still shows.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.clients.api import ApiError
from services.web.clients.backends import Backends, Services
from services.web.listing import working_days_phrase
from services.web.pages import render
from services.web.people import RATE_SETTERS, roles_of
from services.web.session import Person
from shared.auth import AccessRole
from shared.organisation import Organisation

router = APIRouter()

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Section:
    """One heading of My work: what kind of rows it lists, the rows, or why it cannot."""

    title: str
    kind: str
    rows: Rows = field(default_factory=list)
    failed: bool = False
    more: str | None = None


def _section(title: str, kind: str, fetch: Callable[[], Rows], more: str | None = None) -> Section:
    try:
        return Section(title, kind, fetch() or [], more=more)
    except ApiError as failure:
        if failure.status == 401:
            raise  # the session's token is no longer accepted: sign in again
        return Section(title, kind, failed=True, more=more)


def _with_time_left(followups: Rows) -> Rows:
    return [{**f, "time_left": working_days_phrase(f["due_on"])} for f in followups or []]


def sections_for(
    roles: frozenset[AccessRole], me: str, services: Backends, team: str | None = None
) -> list[Section]:
    """The sections a person's roles call for, in the order they are most likely to act;
    `team` is the team a team manager manages."""
    audit, wanted = services.audit, []
    if AccessRole.HEAD_OF_SERVICE in roles:
        wanted.append(
            _section(
                "Follow-ups in your service areas",
                "followups",
                lambda: _with_time_left(services.scheduler.followups(status="open")),
                more="/followups?status=open",
            )
        )
    if AccessRole.ASSISTANT_DIRECTOR in roles:
        wanted.append(
            _section(
                "Escalations",
                "followups",
                lambda: _with_time_left(services.scheduler.followups(status="overdue")),
                more="/followups?status=overdue",
            )
        )
    if AccessRole.MODERATOR in roles:
        wanted.append(
            _section(
                "Moderations waiting for you",
                "moderations",
                lambda: services.moderation.moderations(moderator=me, status="open"),
                more="/moderations?status=open",
            )
        )
    if AccessRole.AUDITOR in roles:
        wanted.append(
            _section(
                "Audits allocated to you",
                "allocations",
                lambda: audit.allocations(auditor_id=me, limit=10),
                more="/allocations?list=allocated",
            )
        )
        wanted.append(
            _section("Your audits", "audits", lambda: audit.audits(auditor_id=me, limit=10))
        )
    if AccessRole.TEAM_MANAGER in roles and team:
        wanted.append(
            _section(
                "Your team's cases chosen for audit",
                "allocations",
                lambda: audit.allocations(team_id=team, limit=10),
                more="/allocations?list=cases",
            )
        )
    elif AccessRole.PRACTITIONER in roles:
        wanted.append(
            _section(
                "Your cases chosen for audit",
                "allocations",
                lambda: audit.allocations(limit=10),
                more="/allocations?list=cases",
            )
        )
    if AccessRole.TEAM_MANAGER in roles:
        wanted.append(
            _section("Audits of your cases", "audits", lambda: audit.audits(team_manager_id=me))
        )
    if AccessRole.PRACTITIONER in roles:
        wanted.append(
            _section("Audits of your cases", "audits", lambda: audit.audits(practitioner_id=me))
        )
    return wanted


@router.get("/")
def my_work(request: Request, person: Person, services: Services) -> Response:
    try:
        unread: int | None = services.notifications.inbox(person.staff_id, limit=5)["unread"]
    except ApiError as failure:
        if failure.status == 401:
            raise
        unread = None  # the rest of My work still shows
    roles = roles_of(request, person)
    member = request.app.state.organisation.staff_by_id.get(person.staff_id)
    team = member.team if member is not None else None
    sections = sections_for(roles, person.staff_id, services, team)
    return render(
        request,
        "my_work.html",
        title="My work",
        unread=unread,
        sections=sections,
        sets_rates=not roles.isdisjoint(RATE_SETTERS),
        staff=request.app.state.organisation.staff_by_id,
        team_name=_team_name(request),
        own_learning=f"/people/{person.staff_id}/learning"
        if AccessRole.PRACTITIONER in roles
        else None,
        team_learning=_team_learning(request, person.staff_id)
        if AccessRole.TEAM_MANAGER in roles
        else [],
    )


def _team_learning(request: Request, me: str) -> list[tuple[str, str]]:
    """The staff of the teams a team manager manages, by name, each with their learning page."""
    organisation: Organisation = request.app.state.organisation
    teams = {team.id for team in organisation.teams if team.team_manager == me}
    staff = sorted(
        (m for m in organisation.staff if m.team in teams and m.id != me), key=lambda m: m.name
    )
    return [(member.name, f"/people/{member.id}/learning") for member in staff]


def _team_name(request: Request) -> Callable[[str], str]:
    teams = request.app.state.organisation.teams_by_id

    def name(team_id: str) -> str:
        return teams[team_id].name if team_id in teams else team_id

    return name
