"""Allocated audits: the lists (allocated to you, of your cases) and one allocation's page, with
its reflections and the forms of the people it concerns: a reflection (the case's practitioner,
its team manager, the auditor), the audit itself saved as a draft then submitted, declining it
(the auditor), exempting the case (the area's assistant director).

The page offers a form only to whom it concerns; the audit service decides, and its refusals
(403, 409, 422) are shown as error summaries, its cautions as warnings to confirm.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from services.web import listing
from services.web.clients.api import ApiError
from services.web.clients.backends import Services
from services.web.figures import month_label
from services.web.forms import allocation_draft, audit_form
from services.web.forms.audit_form import Answers
from services.web.listing import PageNumber, page_from_api
from services.web.pages import render
from services.web.people import roles_of
from services.web.session import CsrfChecked, Person, SignedIn
from services.web.views.action_checks import ReauditChecks, refusal_words
from services.web.views.audits import Posted, _choices
from shared.auth import AccessRole
from shared.calendar import uk_day
from shared.organisation import Organisation

router = APIRouter()

OPEN = ("allocated", "in_progress")
"""An allocation still to be done: the only ones the page offers forms on."""
MAX_REFLECTION, MAX_REASON = 2000, 500
"""The audit service's limits, checked here to say so in words."""
UPDATED = {
    "reflection": "Reflection added",
    "draft": "Draft saved",
    "exempted": "Case exempted from this month's audit",
}
NOTE_FIELDS = {"reflection": "reflection", "decline": "decline_reason", "exempt": "exempt_reason"}
"""Each note form's field id on the page (the API calls them `text` and `reason`)."""
NOTE_WORDS = {"reflection": "Reflection", "decline": "Reason", "exempt": "Reason"}


def now() -> datetime:
    return datetime.now(UTC)


# --- who is offered which form ------------------------------------------------------------


@dataclass(frozen=True)
class Offered:
    reflect: bool
    audit: bool
    decline: bool
    exempt: bool


def offered(organisation: Organisation, allocation: Mapping[str, Any], staff_id: str) -> Offered:
    """While it is open: the case's practitioner, its team manager and the auditor reflect; the
    auditor drafts, submits or declines; the area's assistant director exempts the case."""
    live = allocation["status"] in OPEN
    auditor = staff_id == allocation["auditor_id"]
    concerned = staff_id in (
        allocation["practitioner_id"],
        allocation["team_manager_id"],
        allocation["auditor_id"],
    )
    director = organisation.leads_of(allocation["service_area"]).assistant_director == staff_id
    return Offered(
        reflect=live and concerned,
        audit=live and auditor,
        decline=live and auditor,
        exempt=live and director,
    )


# --- the lists ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AllocationList:
    key: str
    heading: str
    filters: dict[str, str]


def lists_for(request: Request, person: SignedIn) -> list[AllocationList]:
    """The lists a person's roles call for: the audits they hold as an auditor, and those of
    their cases (a team manager's team; a practitioner's own, as the API scopes them)."""
    roles = roles_of(request, person)
    organisation: Organisation = request.app.state.organisation
    member = organisation.staff_by_id.get(person.staff_id)
    found = []
    if AccessRole.AUDITOR in roles:
        found.append(
            AllocationList("allocated", "Audits allocated to you", {"auditor_id": person.staff_id})
        )
    if AccessRole.TEAM_MANAGER in roles and member is not None and member.team:
        found.append(AllocationList("cases", "Audits of your cases", {"team_id": member.team}))
    elif AccessRole.PRACTITIONER in roles:
        found.append(AllocationList("cases", "Audits of your cases", {}))
    return found or [AllocationList("all", "Allocated audits", {})]


ListAsked = Literal["", "allocated", "cases", "all"]


@router.get("/allocations")
def allocations(
    request: Request,
    person: Person,
    services: Services,
    shown: Annotated[ListAsked, Query(alias="list")] = "",
    page: PageNumber = 1,
) -> Response:
    lists = lists_for(request, person)
    chosen = next((found for found in lists if found.key == shown), lists[0])
    rows = page_from_api(
        lambda limit, offset: services.audit.allocations(
            **chosen.filters, limit=limit, offset=offset
        ),
        page,
    )
    organisation: Organisation = request.app.state.organisation

    def team_name(team_id: str) -> str:
        team = organisation.teams_by_id.get(team_id)
        return team.name if team is not None else team_id

    return render(
        request,
        "allocations/list.html",
        title=chosen.heading,
        chosen=chosen,
        lists=lists,
        page=rows,
        pagination=rows.pagination(request.url.path, {"list": chosen.key}),
        team_name=team_name,
        staff=organisation.staff_by_id,
        phrase=listing.working_days_phrase,
    )


# --- one allocation -----------------------------------------------------------------------


class NoteAnswers(BaseModel):
    """A reflection, or the reason to decline or exempt, as sent."""

    text: str = ""
    reason: str = ""
    confirmed: list[str] = []


@dataclass(frozen=True)
class SentBack:
    """One form of the page shown again: which, what was typed, what is wrong, what to confirm."""

    form: str
    notes: NoteAnswers = field(default_factory=NoteAnswers)
    answers: Answers | None = None
    took_part: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)


def _fresh_key() -> str:
    return f"web-{uuid.uuid4().hex}"


def _allocation_page(
    request: Request,
    person: SignedIn,
    allocation: dict[str, Any],
    sent: SentBack | None = None,
    status_code: int = 200,
    request_id: str | None = None,
) -> Response:
    organisation: Organisation = request.app.state.organisation
    team = organisation.teams_by_id.get(allocation["team_id"])
    answers = (
        sent.answers
        if sent is not None and sent.answers is not None
        else allocation_draft.answers_of(allocation.get("draft"), allocation, uk_day(now()))
    )
    errors = sent.errors if sent is not None else {}
    audit_fields = set(audit_form.ON_THE_PAGE) | {
        f"could_be_better_if-{n}" for n in range(1, audit_form.MAX_POINTS + 1)
    }
    links = audit_fields | set(NOTE_FIELDS.values()) | {"took_part"}
    error_list = [
        {"text": message, "href": f"#{audit_form.LINK.get(name, name)}"}
        if name in links
        else {"text": message}
        for name, message in errors.items()
    ]
    declined_to = request.query_params.get("declined")
    return render(
        request,
        "allocations/allocation.html",
        status_code,
        title=f"Audit of case {allocation['case_id']}",
        allocation=allocation,
        team=team.name if team is not None else allocation["team_id"],
        staff=organisation.staff_by_id,
        offered=offered(organisation, allocation, person.staff_id),
        sent=sent,
        answers=answers,
        errors=errors,
        error_list=error_list,
        warnings=sent.warnings if sent is not None else [],
        request_id=request_id or _fresh_key(),
        choices=_choices(organisation),
        domains=audit_form.DOMAINS,
        max_points=audit_form.MAX_POINTS,
        checks=ReauditChecks(),
        updated=UPDATED.get(request.query_params.get("updated", "")),
        declined_to=declined_to,
        month_label=month_label,
        phrase=listing.working_days_phrase,
    )


@router.get("/allocations/{allocation_id}")
def allocation_page(
    request: Request, allocation_id: str, person: Person, services: Services
) -> Response:
    return _allocation_page(request, person, services.audit.allocation(allocation_id))


def _note_problems(form: str, notes: NoteAnswers) -> dict[str, str]:
    typed = (notes.text if form == "reflection" else notes.reason).strip()
    limit = MAX_REFLECTION if form == "reflection" else MAX_REASON
    if not typed:
        return {
            NOTE_FIELDS[form]: {
                "reflection": "Enter your reflection",
                "decline": "Enter why you decline this audit",
                "exempt": "Enter why the case is exempted",
            }[form]
        }
    if len(typed) > limit:
        return {NOTE_FIELDS[form]: f"{NOTE_WORDS[form]} must be {limit} characters or fewer"}
    return {}


def _refusal(refused: ApiError, field_ids: Mapping[str, str], form: str) -> dict[str, str]:
    """A refusal in words at the fields it names, or above the forms."""
    if refused.status == 422 and refused.fields:
        return {field_ids.get(name, name): message for name, message in refused.fields.items()}
    words = refusal_words(refused)
    if refused.status == 403:
        return {form: f"You cannot do this: {words[:1].lower()}{words[1:]}"}
    return {form: words}


def _note_form(
    request: Request,
    person: SignedIn,
    services: Services,
    allocation_id: str,
    form: Literal["reflection", "decline", "exempt"],
    notes: NoteAnswers,
) -> Response:
    allocation = services.audit.allocation(allocation_id)
    errors = _note_problems(form, notes)
    if errors:
        return _allocation_page(
            request, person, allocation, SentBack(form, notes, errors=errors), 422
        )
    typed = (notes.text if form == "reflection" else notes.reason).strip()
    body: dict[str, Any] = {"text" if form == "reflection" else "reason": typed}
    if notes.confirmed:
        body["confirmed"] = list(dict.fromkeys(notes.confirmed))
    try:
        if form == "reflection":
            services.audit.add_reflection(allocation_id, body)
            location = f"/allocations/{allocation_id}?updated=reflection"
        elif form == "exempt":
            services.audit.exempt_allocation(allocation_id, body)
            location = f"/allocations/{allocation_id}?updated=exempted"
        else:
            answer = services.audit.decline_allocation(allocation_id, body)
            moved = answer.get("reallocated") or {}
            location = (
                f"/allocations/{allocation_id}?declined={moved.get('auditor_id') or 'nobody'}"
            )
    except ApiError as refused:
        if refused.status not in (403, 409, 422):
            raise
        if refused.needs_confirmation:
            warnings = refused.to_confirm({"text": "Reflection", "reason": "Reason"})
            sent = SentBack(form, notes, warnings=warnings, confirmed=notes.confirmed)
        else:
            ids = {"text": NOTE_FIELDS[form], "reason": NOTE_FIELDS[form]}
            sent = SentBack(form, notes, errors=_refusal(refused, ids, form))
        return _allocation_page(request, person, allocation, sent, refused.status)
    return RedirectResponse(location, status_code=303)


@router.post("/allocations/{allocation_id}/reflections", dependencies=[CsrfChecked])
def add_reflection(
    request: Request,
    allocation_id: str,
    notes: Annotated[NoteAnswers, Form()],
    person: Person,
    services: Services,
) -> Response:
    return _note_form(request, person, services, allocation_id, "reflection", notes)


@router.post("/allocations/{allocation_id}/decline", dependencies=[CsrfChecked])
def decline(
    request: Request,
    allocation_id: str,
    notes: Annotated[NoteAnswers, Form()],
    person: Person,
    services: Services,
) -> Response:
    return _note_form(request, person, services, allocation_id, "decline", notes)


@router.post("/allocations/{allocation_id}/exempt", dependencies=[CsrfChecked])
def exempt(
    request: Request,
    allocation_id: str,
    notes: Annotated[NoteAnswers, Form()],
    person: Person,
    services: Services,
) -> Response:
    return _note_form(request, person, services, allocation_id, "exempt", notes)


# --- the audit: a draft, then submitted -----------------------------------------------------


@router.post("/allocations/{allocation_id}/audit", dependencies=[CsrfChecked])
def audit(
    request: Request, allocation_id: str, person: Person, services: Services, posted: Posted
) -> Response:
    allocation = services.audit.allocation(allocation_id)
    answers = allocation_draft.for_allocation(audit_form.read(posted), allocation)
    allowed = {allocation["practitioner_id"], allocation["team_manager_id"]}
    took_part = [who for who in posted.get("took_part", []) if who in allowed]
    confirmed = posted.get("confirmed", [])
    request_id = (posted.get("request_id") or [""])[0] or _fresh_key()
    action = (posted.get("action") or ["save_draft"])[0]

    def again(
        errors: dict[str, str],
        status: int,
        *,
        extra_point: bool = False,
        warnings: list[dict[str, Any]] | None = None,
        key: str | None = None,
    ) -> Response:
        sent = SentBack(
            "audit",
            answers=audit_form.shown(answers, extra_point),
            took_part=took_part,
            errors=errors,
            warnings=warnings or [],
            confirmed=confirmed,
        )
        return _allocation_page(request, person, allocation, sent, status, key or request_id)

    if action == "add_point":
        return again({}, 200, extra_point=True)
    moment = now()
    today = uk_day(moment)
    if action == "submit":
        organisation: Organisation = request.app.state.organisation
        errors = audit_form.problems(answers, organisation.teams_by_id, (), today)
        day = audit_form.graded_day(answers)
        if errors or day is None:
            return again(errors, 422)
        body = allocation_draft.submit_body(
            audit_form.kept(answers),
            person.staff_id,
            audit_form.graded_at(day, moment),
            took_part,
            confirmed,
        )
        try:
            stored = services.audit.submit_allocation(allocation_id, body, request_id)
        except ApiError as refused:
            return _audit_refused(refused, again, request_id)
        return RedirectResponse(f"/audits/{stored['audit']['id']}?submitted=1", status_code=303)
    errors = allocation_draft.draft_problems(answers, today)
    if errors:
        return again(errors, 422)
    day = audit_form.graded_day(answers)
    graded = audit_form.graded_at(day, moment) if day is not None and day <= today else None
    body = allocation_draft.draft_body(answers, graded, confirmed)
    try:
        services.audit.save_draft(allocation_id, body)
    except ApiError as refused:
        return _audit_refused(refused, again, request_id)
    return RedirectResponse(f"/allocations/{allocation_id}?updated=draft", status_code=303)


def _audit_refused(refused: ApiError, again: Callable[..., Response], request_id: str) -> Response:
    """The audit service's refusal of a draft or a submission, on the audit form."""
    if refused.status not in (403, 409, 422):
        raise refused
    if refused.needs_confirmation:
        labels = audit_form.warning_labels(refused.codes)
        return again({}, 422, warnings=refused.to_confirm(labels))
    if refused.status == 422:
        errors = audit_form.api_problems(refused.fields or {"audit": refused.detail})
        # The key was used meanwhile for other answers: this is another submission.
        key = _fresh_key() if "Idempotency-Key" in refused.fields else request_id
        return again(errors, 422, key=key)
    return again(_refusal(refused, {}, "audit"), refused.status)
