"""A worker's learning: the audits of the cases they hold, newest first, with each audit's grade,
themes and "could be better if" points, and how often each theme came up.

It is shown as learning, for the worker and those who support them: no rank, no comparison with
anyone else. The page is offered to the worker, their team manager, their service area's Head of
Service and assistant director, the QA lead and admins (from the organisation file); the audit
service decides which audits any of them may see, and writes the access trail.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import Response

from services.web.clients.backends import Services
from services.web.figures import every_row
from services.web.pages import GRADES, render
from services.web.session import Person
from shared.auth import AccessRole, access_roles
from shared.organisation import Organisation, StaffMember

router = APIRouter()

SEE_EVERYONE = frozenset({AccessRole.QA_LEAD, AccessRole.ADMIN})
StaffId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]


def may_see_learning(organisation: Organisation, viewer_id: str, worker: StaffMember) -> bool:
    """The worker themselves, their team's manager, their service area's Head of Service and
    assistant director, the QA lead and admins."""
    if viewer_id == worker.id:
        return True
    viewer = organisation.staff_by_id.get(viewer_id)
    if viewer is None:
        return False
    if not access_roles(viewer).isdisjoint(SEE_EVERYONE):
        return True
    team = organisation.teams_by_id.get(worker.team or "")
    if team is None:
        return False
    leads = organisation.leads_of(team.service_area)
    return viewer_id in (team.team_manager, leads.head_of_service, leads.assistant_director)


@dataclass(frozen=True)
class Learning:
    """A worker's audits, newest first, and what they add up to."""

    audits: list[dict[str, Any]]
    themes: list[tuple[str, int]]
    """Each theme and how many of the audits carried it, most often first, then by name."""
    grades: list[tuple[str, int]]
    """Each grade given and how many audits had it, Outstanding first."""
    cut: bool


def learning_of(audits: list[dict[str, Any]], cut: bool = False) -> Learning:
    newest = sorted(audits, key=lambda audit: str(audit["graded_at"]), reverse=True)
    themes = Counter(theme for audit in audits for theme in set(audit.get("themes") or ()))
    grades = Counter(str(audit["overall_grade"]) for audit in audits)
    return Learning(
        newest,
        sorted(themes.items(), key=lambda item: (-item[1], item[0])),
        [(grade, grades[grade]) for grade in GRADES if grades[grade]],
        cut,
    )


@router.get("/people/{staff_id}/learning")
def learning_page(
    request: Request, person: Person, services: Services, staff_id: StaffId
) -> Response:
    organisation: Organisation = request.app.state.organisation
    worker = organisation.staff_by_id.get(staff_id)
    if worker is None:
        raise HTTPException(404, "There is no such member of staff. Check the address.")
    if not may_see_learning(organisation, person.staff_id, worker):
        raise HTTPException(
            403,
            "A worker's learning is for them, their team manager, their service area's leads "
            "and the quality assurance team.",
        )
    audits, cut = every_row(
        lambda limit, offset: services.audit.audits(
            practitioner_id=staff_id, limit=limit, offset=offset
        )
    )
    mine = [audit for audit in audits if audit.get("practitioner_id") == staff_id]
    team = organisation.teams_by_id.get(worker.team or "")
    own = person.staff_id == staff_id
    return render(
        request,
        "learning/learning.html",
        title="Your learning" if own else f"Learning of {worker.name}",
        worker=worker,
        own=own,
        team=team.name if team is not None else None,
        learning=learning_of(mine, cut),
    )
