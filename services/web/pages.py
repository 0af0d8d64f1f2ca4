"""Rendering pages: one Jinja environment with our templates and GOV.UK Frontend's macros."""

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader

from services.web.session import PERSON_KEY, csrf_token
from shared.auth import AccessRole, access_roles
from shared.calendar import UK
from shared.events.vocabulary import Grade
from shared.organisation import StaffMember

TEMPLATES = Path(__file__).parent / "templates"
GRADES = tuple(grade.value for grade in Grade)
"""Grades best to worst, as the APIs spell them."""

LABELS = {
    "outstanding": "Outstanding",
    "good": "Good",
    "requires_improvement": "Requires improvement",
    "inadequate": "Inadequate",
    "reflective_conversation": "Reflective conversation",
    "reaudit": "Re-audit",
    "early_help": "Early help",
    "assessment_intervention": "Assessment and intervention",
    "family_safeguarding": "Family safeguarding",
    "children_we_care_for": "Children we care for",
    "care_leavers": "Care leavers",
    "assessment": "Assessment",
    "planning": "Planning",
    "visits": "Visits",
    "voice_of_child": "Voice of the child",
    "management_oversight": "Management oversight",
    "recording": "Recording",
    "learning": "Learning",
    "thematic": "Thematic",
    "dip_sample": "Dip sample",
    "non_resident_parent": "Non-resident parent",
    "smart_plans": "SMART plans",
}


def label(value: object) -> str:
    """How an API's code reads to a person: `requires_improvement` is Requires improvement."""
    text = str(value)
    return LABELS.get(text, text.replace("_", " ").capitalize())


def uk_date(value: str | date | datetime | None) -> str:
    """`25 November 2026`, the GOV.UK style; a time is shown in UK time after it."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        local = value.astimezone(UK)
        return f"{local.day} {local:%B %Y} at {local:%H:%M}"
    return f"{value.day} {value:%B %Y}"


def person_choice(member: StaffMember) -> dict[str, Any]:
    """A person as a radio button: name, with their job and team as the hint."""
    job = label(member.role)
    return {
        "value": member.id,
        "text": member.name,
        "hint": {"text": f"{job}, {member.team}" if member.team else job},
    }


def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(TEMPLATES),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["uk_date"] = uk_date
    env.filters["label"] = label
    env.filters["person_choice"] = person_choice
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page, with what every page's layout needs: who is signed in and the CSRF token."""
    env: Environment = request.app.state.pages
    person = request.session.get(PERSON_KEY)
    html = env.get_template(template).render(
        request=request,
        person=person,
        roles=_roles(request, person),
        csrf_token=csrf_token(request),
        cspNonce=getattr(request.state, "csp_nonce", None),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def _roles(request: Request, person: dict[str, Any] | None) -> frozenset[AccessRole]:
    """What the signed-in person does, for the navigation to offer their pages only."""
    organisation = getattr(request.app.state, "organisation", None)
    member = organisation.staff_by_id.get(person["staff_id"]) if organisation and person else None
    return access_roles(member) if member is not None else frozenset()
