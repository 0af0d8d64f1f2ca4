"""The monthly audit programme: the months drawn and the form to draw one (the QA lead's), and one
month's page: its parameters and seed, progress against target, the teams' quotas, the cases
left unallocated, and every allocation with why that case and why that auditor.

Heads of service and assistant directors read these pages; only the QA lead is offered the draw.
The audit service decides who may do what; its refusals are shown as error summaries.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.web import figures, listing
from services.web.clients.api import ApiError
from services.web.clients.backends import Services
from services.web.figures import month_add, month_label
from services.web.pages import label, render
from services.web.people import roles_of
from services.web.session import CsrfChecked, Person
from services.web.views.action_checks import refusal_words
from shared.auth import AccessRole
from shared.organisation import Organisation

router = APIRouter()

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
Month = Annotated[str, Path(pattern=MONTH.pattern)]
DEFAULT_SIZE, DEFAULT_MINIMUM = 50, 1
MAX_SIZE = 1000
"""The largest programme the form takes: more cases than any council audits in a month."""
FIELD_IDS = {
    "month": "month-month",
    "size": "size",
    "minimum_per_team": "minimum_per_team",
    "seed": "seed",
}
"""The draw form's fields by the API's names, and the id on the page each error links to."""
FIELD_WORDS = {
    "month": "Month",
    "size": "Number of cases",
    "minimum_per_team": "Minimum per team",
    "seed": "Seed",
}
STATUS_COLOURS = {
    "allocated": "blue",
    "in_progress": "light-blue",
    "submitted": "green",
    "declined": "grey",
    "exempted": "purple",
}


class DrawAnswers(BaseModel):
    """The draw form as typed: strings, so that the page can show them again."""

    model_config = ConfigDict(populate_by_name=True)

    month: str = Field("", alias="month-month")
    year: str = Field("", alias="month-year")
    size: str = str(DEFAULT_SIZE)
    minimum_per_team: str = str(DEFAULT_MINIMUM)
    seed: str = ""


def _whole_number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def typed_month(answers: DrawAnswers) -> str | None:
    """`2026-12` from the month and year typed, or None when they are not a real month."""
    month, year = answers.month.strip(), answers.year.strip()
    if not (month.isdigit() and year.isdigit() and len(year) == 4 and 1 <= int(month) <= 12):
        return None
    return f"{int(year):04d}-{int(month):02d}"


def draw_problems(answers: DrawAnswers) -> dict[str, str]:
    """What the page checks itself, by the API's field names; the audit service checks the rest
    (a month already drawn, minimums that exceed the number of cases)."""
    errors: dict[str, str] = {}
    if not (answers.month.strip() or answers.year.strip()):
        errors["month"] = "Enter the month to draw"
    elif typed_month(answers) is None:
        errors["month"] = "The month must be a real month, like 12 2026"
    size = _whole_number(answers.size)
    if size is None or not 1 <= size <= MAX_SIZE:
        errors["size"] = f"Enter the number of cases as a whole number from 1 to {MAX_SIZE}"
    minimum = _whole_number(answers.minimum_per_team)
    if minimum is None:
        errors["minimum_per_team"] = "Enter the minimum per team as a whole number, like 1"
    elif size is not None and minimum > size:
        errors["minimum_per_team"] = (
            "The minimum per team must not be more than the number of cases"
        )
    if answers.seed.strip() and _whole_number(answers.seed) is None:
        errors["seed"] = "Enter the seed as a whole number, like 8123, or leave it empty"
    return errors


def draw_body(answers: DrawAnswers) -> dict[str, Any]:
    """The JSON of `POST /programmes` for checked answers; the due date is the service's default
    (the month's last working day)."""
    return {
        "month": typed_month(answers),
        "size": _whole_number(answers.size),
        "minimum_per_team": _whole_number(answers.minimum_per_team),
        "seed": _whole_number(answers.seed),
        "due_on": None,
    }


def may_draw(roles: frozenset[AccessRole]) -> bool:
    return AccessRole.QA_LEAD in roles


@dataclass(frozen=True)
class SentBack:
    answers: DrawAnswers
    errors: dict[str, str] = field(default_factory=dict)
    drawn_already: str | None = None


def _next_month(today: date) -> str:
    return month_add(f"{today:%Y-%m}", 1)


def _programmes_page(
    request: Request,
    person: Person,
    services: Services,
    sent: SentBack | None = None,
    status_code: int = 200,
) -> Response:
    programmes = services.audit.programmes()
    if sent is None:
        year, month = _next_month(listing.today()).split("-")
        sent = SentBack(DrawAnswers(**{"month-month": str(int(month)), "month-year": year}))
    errors = sent.errors
    return render(
        request,
        "programme/programmes.html",
        status_code,
        title="Audit programme",
        programmes=programmes or [],
        may_draw=may_draw(roles_of(request, person)),
        answers=sent.answers,
        errors={FIELD_IDS.get(name, name): message for name, message in errors.items()},
        error_links=set(FIELD_IDS.values()),
        drawn_already=sent.drawn_already,
        month_label=month_label,
        staff=request.app.state.organisation.staff_by_id,
    )


@router.get("/programme")
def programmes(request: Request, person: Person, services: Services) -> Response:
    return _programmes_page(request, person, services)


@router.post("/programme", dependencies=[CsrfChecked])
def draw(
    request: Request,
    answers: Annotated[DrawAnswers, Form()],
    person: Person,
    services: Services,
) -> Response:
    errors = draw_problems(answers)
    if errors:
        return _programmes_page(request, person, services, SentBack(answers, errors), 422)
    body = draw_body(answers)
    try:
        services.audit.draw_programme(body)
    except ApiError as refused:
        if refused.status not in (403, 409, 422):
            raise
        return _programmes_page(
            request, person, services, _draw_refused(answers, body, refused), refused.status
        )
    return RedirectResponse(f"/programme/{body['month']}?drawn=1", status_code=303)


def _draw_refused(answers: DrawAnswers, body: dict[str, Any], refused: ApiError) -> SentBack:
    """The audit service's refusal: a month drawn already links to it; a broken rule is shown
    at its field when it names one."""
    if refused.status == 409:
        month = str(body["month"])
        words = f"The programme for {month_label(month)} is drawn already"
        return SentBack(answers, {"month": words}, drawn_already=month)
    if refused.status == 403:
        return SentBack(answers, {"draw": "Only the QA lead can draw a month's programme"})
    if refused.fields:
        return SentBack(
            answers,
            {
                name: f"{FIELD_WORDS[name]}: {message}" if name in FIELD_WORDS else message
                for name, message in refused.fields.items()
            },
        )
    return SentBack(answers, {"draw": refusal_words(refused)})


# --- one month ----------------------------------------------------------------------------


def _stats(services: Services, month: str) -> dict[str, Any] | None:
    """The month's progress against target, or None when the audit service cannot say now."""
    try:
        return services.audit.programme_stats(month)
    except ApiError as failure:
        if failure.status == 401:
            raise
        return None


@router.get("/programme/{month}")
def programme(request: Request, person: Person, services: Services, month: Month) -> Response:
    found = services.audit.programme(month)
    organisation: Organisation = request.app.state.organisation

    def team_name(team_id: str) -> str:
        team = organisation.teams_by_id.get(team_id)
        return team.name if team is not None else team_id

    return render(
        request,
        "programme/month.html",
        title=f"Audit programme for {month_label(month)}",
        month_words=month_label(month),
        programme=found,
        stats=_stats(services, month),
        team_name=team_name,
        staff=organisation.staff_by_id,
        colours=STATUS_COLOURS,
        drawn=request.query_params.get("drawn") == "1",
        may_draw=may_draw(roles_of(request, person)),
        downloads={k: f"/programme/{month}/allocations.{k}" for k in ("csv", "xlsx")},
    )


ALLOCATION_COLUMNS = (
    "Reference", "Case", "Service area", "Team", "Auditor", "Due", "Status", "Late", "Audit",
    "Why this case", "Why this auditor",
)  # fmt: skip


@router.get("/programme/{month}/allocations.{kind}")
def allocations_download(
    request: Request, _person: Person, services: Services, month: Month, kind: figures.Kind
) -> Response:
    """The month's allocations the person may see (those its page lists), as CSV or Excel."""
    found = services.audit.programme(month)
    organisation: Organisation = request.app.state.organisation

    def team(team_id: str) -> str:
        known = organisation.teams_by_id.get(team_id)
        return known.name if known is not None else team_id

    def name(staff_id: str) -> str:
        member = organisation.staff_by_id.get(staff_id)
        return member.name if member is not None else staff_id

    rows = (
        [
            a["id"],
            a["case_id"],
            label(a["service_area"]),
            team(a["team_id"]),
            name(a["auditor_id"]),
            str(a["due_on"]),
            label(a["status"]),
            "Yes" if a.get("late") else "No",
            a.get("audit_id"),
            a.get("why_case"),
            a.get("why_auditor"),
        ]
        for a in found.get("allocations", [])
    )
    table = figures.list_table(
        f"Allocations, {month_label(month)}", ALLOCATION_COLUMNS, rows, cut=False
    )
    return figures.download(kind, table, f"allocations-{month}")
