"""Audits: record one (form, check your answers, confirmation), the list, and one audit's page.

The form's answers wait in the session as a draft until the auditor confirms them; the draft's
Idempotency-Key is made once, so a double submit or a resubmit after going back makes one audit.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.web import figures
from services.web.clients.api import ApiError
from services.web.clients.backends import Services
from services.web.figures import month_add, month_label
from services.web.forms import audit_form
from services.web.forms.audit_form import Answers, Errors
from services.web.pages import GRADES, label, render
from services.web.session import CsrfChecked, Person, SignedIn
from services.web.views import action_checks, learning
from services.web.views.action_checks import ReauditChecks
from shared.calendar import uk_day
from shared.organisation import Organisation, Role, StaffMember

router = APIRouter()
DRAFT = "audit_draft"
PAGE_SIZE = 25


def now() -> datetime:
    return datetime.now(UTC)


async def posted_form(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    return {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in form}


Posted = Annotated[dict[str, list[str]], Depends(posted_form)]


# --- record an audit ----------------------------------------------------------------------


@router.get("/audits/new")
def new_audit(
    request: Request,
    person: Person,
    services: Services,
    change: str | None = None,
    reaudit_of: str | None = None,
) -> Response:
    draft = request.session.get(DRAFT)
    if draft is not None and (change or not draft["submitted"]):
        answers = draft["answers"]
        checks = _checks(services, answers, draft.get("checks", {}))
        return _form(request, person, audit_form.shown(answers), checks=checks)
    answers = audit_form.blank(uk_day(now()))
    if reaudit_of:
        answers |= _reaudit_answers(services.audit.audit(reaudit_of))
    return _form(request, person, answers, checks=_checks(services, answers))


@router.post("/audits/new", dependencies=[CsrfChecked])
def answer(request: Request, person: Person, services: Services, posted: Posted) -> Response:
    answers = audit_form.read(posted)
    checks = _checks(services, answers)
    checks = replace(checks, chosen=action_checks.checks_chosen(posted, checks.actions or []))
    if posted.get("action") == ["add_point"]:
        return _form(request, person, audit_form.shown(answers, extra_point=True), checks=checks)
    moment = now()
    organisation: Organisation = request.app.state.organisation
    errors = audit_form.problems(
        answers, organisation.teams_by_id, _practitioners(organisation), uk_day(moment)
    ) | action_checks.check_problems(checks.actions or [], checks.chosen)
    day = audit_form.graded_day(answers)
    shown = audit_form.shown(answers)
    if errors or day is None:
        return _form(request, person, shown, errors, 422, checks)
    draft = audit_form.next_draft(
        request.session.get(DRAFT),
        audit_form.kept(answers),
        audit_form.graded_at(day, moment),
        fresh_key=f"web-{uuid.uuid4().hex}",
    ) | {"checks": dict(checks.chosen)}
    if not audit_form.fits_in_cookie(request.session, DRAFT, draft):
        return _form(request, person, shown, audit_form.too_long(answers), 422, checks)
    request.session[DRAFT] = draft
    return RedirectResponse("/audits/new/check", status_code=303)


@router.get("/audits/new/check")
def check_answers(request: Request, _person: Person, services: Services) -> Response:
    draft = request.session.get(DRAFT)
    if draft is None:
        return RedirectResponse("/audits/new", status_code=303)
    checks = _checks(services, draft["answers"], draft.get("checks", {}))
    return _check_page(request, draft["answers"], checks)


@router.post("/audits/new/check", dependencies=[CsrfChecked])
def record(request: Request, person: Person, services: Services, posted: Posted) -> Response:
    draft = request.session.get(DRAFT)
    if draft is None:
        return RedirectResponse("/audits/new", status_code=303)
    confirmed = posted.get("confirmed", [])
    body = audit_form.body(draft["answers"], person.staff_id, draft["graded_at"], confirmed)
    try:
        stored = services.audit.submit(body, draft["key"])
    except ApiError as error:
        if error.status != 422:
            raise
        checks = _checks(services, draft["answers"], draft.get("checks", {}))
        if error.needs_confirmation:  # allowed, once the auditor says it is what they meant
            warnings = error.to_confirm(audit_form.warning_labels(error.codes))
            return _check_page(request, draft["answers"], checks, warnings, confirmed)
        errors = audit_form.api_problems(error.fields or {"form": error.detail})
        if "Idempotency-Key" in error.fields:  # used meanwhile for other answers: a new audit
            request.session[DRAFT] = draft | {"key": f"web-{uuid.uuid4().hex}"}
        return _form(request, person, audit_form.shown(draft["answers"]), errors, 422, checks)
    request.session[DRAFT] = draft | {
        "submitted": stored["id"],
        "checks_failed": _record_checks(services, draft, stored["id"], person.staff_id),
    }
    return RedirectResponse(f"/audits/{stored['id']}/recorded", status_code=303)


def _record_checks(
    services: Services, draft: dict[str, Any], audit_id: str, by: str, only: Any = None
) -> dict[str, str]:
    """Post the re-audit's checks of its actions (those in `only`, else all): what failed, why."""
    chosen = draft.get("checks", {})
    wanted = {a: o for a, o in chosen.items() if only is None or a in only}
    return action_checks.record_checks(services, wanted, audit_id, draft["key"], by)


@router.post("/audits/{audit_id}/checks", dependencies=[CsrfChecked])
def record_checks_again(
    request: Request, person: Person, services: Services, audit_id: str
) -> Response:
    """The checks the scheduler did not take when the re-audit was recorded, sent again."""
    draft = request.session.get(DRAFT)
    if draft is not None and draft.get("submitted") == audit_id:
        failed = _record_checks(services, draft, audit_id, person.staff_id, draft["checks_failed"])
        request.session[DRAFT] = draft | {"checks_failed": failed}
    return RedirectResponse(f"/audits/{audit_id}/recorded", status_code=303)


@router.get("/audits/{audit_id}/recorded")
def recorded(request: Request, services: Services, audit_id: str) -> Response:
    audit = services.audit.audit(audit_id)
    organisation: Organisation = request.app.state.organisation
    head = organisation.leads_of(audit["service_area"]).head_of_service
    draft = request.session.get(DRAFT) or {}
    mine = draft.get("submitted") == audit_id
    return render(
        request,
        "audits/recorded.html",
        title="Audit recorded",
        audit=audit,
        head_of_service=_name(organisation, head),
        checks=draft.get("checks", {}) if mine else {},
        checks_failed=draft.get("checks_failed", {}) if mine else {},
    )


def _check_page(
    request: Request,
    answers: Answers,
    checks: ReauditChecks,
    warnings: list[dict[str, Any]] | None = None,
    confirmed: list[str] | None = None,
) -> Response:
    return render(
        request,
        "audits/check.html",
        422 if warnings else 200,
        title="Check your answers before recording the audit",
        answers=answers,
        themes=audit_form.themes_of(answers),
        graded_on=audit_form.graded_day(answers),
        organisation=request.app.state.organisation,
        domains=audit_form.DOMAINS,
        checks=checks,
        warnings=warnings or [],
        confirmed=confirmed or [],
    )


def _form(
    request: Request,
    person: SignedIn,
    answers: Answers,
    errors: Errors | None = None,
    status: int = 200,
    checks: ReauditChecks | None = None,
) -> Response:
    organisation: Organisation = request.app.state.organisation
    member = organisation.staff_by_id.get(person.staff_id)
    errors = errors or {}
    of_checks = {f: m for f, m in errors.items() if f.startswith(action_checks.CHECK_PREFIX)}
    of_form = {f: m for f, m in errors.items() if f not in of_checks}
    return render(
        request,
        "audits/new.html",
        status,
        title="Record an audit",
        answers=answers,
        errors=errors,
        error_list=audit_form.error_list(of_form)
        + [{"text": message, "href": f"#{f}"} for f, message in of_checks.items()],
        checks=checks or ReauditChecks(),
        staff=organisation.staff_by_id,
        choices=_choices(organisation),
        may_audit=member is not None and member.can_audit,
        domains=audit_form.DOMAINS,
        max_points=audit_form.MAX_POINTS,
    )


def _choices(organisation: Organisation) -> dict[str, list[dict[str, str]]]:
    """The options of the form's radios, selects and checkboxes."""
    teams = sorted(organisation.teams, key=lambda team: team.name)
    practitioners = sorted(_practitioners(organisation).values(), key=lambda m: m.name)
    none = [{"value": "", "text": "Not chosen"}]
    return {
        "grades": [{"value": grade, "text": label(grade)} for grade in GRADES],
        "teams": none
        + [{"value": t.id, "text": f"{t.name} ({label(t.service_area)})"} for t in teams],
        "practitioners": none
        + [{"value": m.id, "text": f"{m.name} ({m.team})"} for m in practitioners],
        "themes": [{"value": theme, "text": label(theme)} for theme in audit_form.THEMES],
    }


def _practitioners(organisation: Organisation) -> dict[str, StaffMember]:
    return {m.id: m for m in organisation.staff if m.role is Role.PRACTITIONER}


def _checks(
    services: Services, answers: Answers, chosen: Mapping[str, str] | None = None
) -> ReauditChecks:
    """The actions a re-audit checks, with what was chosen for each; none for other audits."""
    reaudit_of = answers.get("reaudit_of") or ""
    if answers.get("audit_kind") != "reaudit" or not audit_form.REFERENCE.match(reaudit_of):
        return ReauditChecks()
    return ReauditChecks(action_checks.actions_of_reaudit(services, reaudit_of), chosen or {})


def _reaudit_answers(earlier: dict[str, Any]) -> Answers:
    """A re-audit starts from the audit it re-audits: same case, team and practitioner."""
    return {
        "audit_kind": "reaudit",
        "reaudit_of": earlier["id"],
        "case_id": earlier["case_id"],
        "team_id": earlier["team_id"],
        "practitioner_id": earlier["practitioner_id"],
    }


def _name(organisation: Organisation, staff_id: str | None) -> str:
    member = organisation.staff_by_id.get(staff_id or "")
    return member.name if member is not None else (staff_id or "")


# --- one audit ------------------------------------------------------------------------------


@router.get("/audits/{audit_id}")
def audit_page(request: Request, person: Person, services: Services, audit_id: str) -> Response:
    audit = services.audit.audit(audit_id)  # its 403 or 404 is the page's answer
    organisation: Organisation = request.app.state.organisation
    team = organisation.teams_by_id.get(audit["team_id"])
    return render(
        request,
        "audits/audit.html",
        title=f"Audit of {audit['case_id']}",
        audit=audit,
        team=team.name if team is not None else audit["team_id"],
        name=lambda staff_id: _name(organisation, staff_id),
        domains=audit_form.DOMAINS,
        submitted=request.query_params.get("submitted") == "1",
        moderations=_of_audit(lambda: services.moderation.moderations(audit_id=audit_id), audit_id),
        followups=_of_audit(lambda: services.scheduler.followups(audit_id=audit_id), audit_id),
        learning_link=_learning_link(organisation, person.staff_id, audit["practitioner_id"]),
    )


def _learning_link(
    organisation: Organisation, viewer_id: str, practitioner_id: str
) -> dict[str, str] | None:
    """The link to the practitioner's learning, for those offered it."""
    worker = organisation.staff_by_id.get(practitioner_id)
    if worker is None or not learning.may_see_learning(organisation, viewer_id, worker):
        return None
    href = f"/people/{worker.id}/learning"
    if viewer_id == worker.id:
        return {"href": href, "text": "Your learning: every audit of your cases"}
    return {"href": href, "text": f"The learning of {worker.name}: every audit of their cases"}


def _of_audit(
    ask: Callable[[], list[dict[str, Any]]], audit_id: str
) -> list[dict[str, Any]] | None:
    """The audit's moderations or follow-ups, or None when that service cannot say."""
    try:
        found = ask()
    except ApiError:
        return None
    # The APIs filter by audit already; the page shows nothing of another audit even if one did not.
    return [record for record in found if record.get("audit_id") == audit_id]


# --- the list ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    month: str | None = None
    grade: str | None = None
    kind: str | None = None
    service_area: str | None = None
    team_id: str | None = None
    page: Annotated[int, Query(ge=1, le=10_000)] = 1

    def filters(self, known: dict[str, list[str]]) -> dict[str, str]:
        """Only the values the page offers: anything else would be the API's 422."""
        asked = {name: getattr(self, name) for name in known}
        return {name: value for name, value in asked.items() if value in known[name]}


@router.get("/audits")
def audits(
    request: Request, services: Services, query: Annotated[ListQuery, Depends()]
) -> Response:
    organisation: Organisation = request.app.state.organisation
    options = _list_options(
        organisation, [month_add(f"{uk_day(now()):%Y-%m}", -back) for back in range(12)]
    )
    filters = query.filters({name: [o["value"] for o in found] for name, found in options.items()})
    found = services.audit.audits(
        **filters, limit=PAGE_SIZE + 1, offset=(query.page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "audits/list.html",
        title="Audits",
        audits=found[:PAGE_SIZE],
        filters=filters,
        page=query.page,
        previous=_page_link(filters, query.page - 1) if query.page > 1 else None,
        next=_page_link(filters, query.page + 1) if len(found) > PAGE_SIZE else None,
        options=options,
        team_names={team.id: team.name for team in organisation.teams},
        downloads=_downloads("/audits", filters),
    )


def _downloads(path: str, filters: dict[str, str]) -> dict[str, str]:
    query = f"?{urlencode(filters)}" if filters else ""
    return {"csv": f"{path}.csv{query}", "xlsx": f"{path}.xlsx{query}"}


@router.get("/audits.{kind}")
def audits_download(
    request: Request,
    services: Services,
    query: Annotated[ListQuery, Depends()],
    kind: figures.Kind,
) -> Response:
    """The list as filtered, every page of it (up to `figures.MOST_ROWS`), as CSV or Excel."""
    organisation: Organisation = request.app.state.organisation
    options = _list_options(
        organisation, [month_add(f"{uk_day(now()):%Y-%m}", -back) for back in range(12)]
    )
    filters = query.filters({name: [o["value"] for o in found] for name, found in options.items()})
    found, cut = figures.every_row(
        lambda limit, offset: services.audit.audits(**filters, limit=limit, offset=offset)
    )
    teams = {team.id: team.name for team in organisation.teams}
    table = figures.list_table(
        "Audits",
        AUDIT_COLUMNS,
        (
            [
                audit["id"],
                audit["case_id"],
                label(audit["audit_kind"]),
                label(audit["service_area"]),
                teams.get(audit["team_id"], audit["team_id"]),
                _name(organisation, audit["practitioner_id"]),
                _name(organisation, audit["auditor_id"]),
                str(audit["graded_at"])[:10],
                label(audit["overall_grade"]),
                ", ".join(label(theme) for theme in audit.get("themes") or ()),
            ]
            for audit in found
        ),
        cut,
    )
    return figures.download(kind, table, "-".join(["audits", *filters.values()]))


AUDIT_COLUMNS = (
    "Reference", "Case", "Kind", "Service area", "Team", "Practitioner", "Auditor",
    "Date graded", "Overall grade", "Themes",
)  # fmt: skip


def _list_options(organisation: Organisation, months: list[str]) -> dict[str, list[dict[str, str]]]:
    """The filters' choices; a value not among them is not sent to the API."""
    areas = [leads.service_area.value for leads in organisation.service_areas]
    teams = sorted(organisation.teams, key=lambda team: team.name)
    return {
        "month": [{"value": m, "text": month_label(m)} for m in months],
        "grade": [{"value": g, "text": label(g)} for g in GRADES],
        "kind": [{"value": k, "text": label(k)} for k in audit_form.KINDS],
        "service_area": [{"value": a, "text": label(a)} for a in areas],
        "team_id": [{"value": t.id, "text": t.name} for t in teams],
    }


def _page_link(filters: dict[str, str], page: int) -> str:
    return "/audits?" + urlencode(filters | {"page": str(page)})
