"""Follow-ups: the list, one follow-up with its timeline, and recording the conversation."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.web import listing
from services.web.clients.api import ApiError
from services.web.clients.backends import Services
from services.web.listing import (
    Page,
    PageNumber,
    choices,
    page_from_api,
    working_days_phrase,
)
from services.web.pages import label, render
from services.web.session import CsrfChecked, Person
from shared.organisation import Organisation, StaffMember

router = APIRouter()

STATUSES = ("open", "overdue", "completed", "cancelled")
# The scheduler's limits on a conversation's agreed actions, checked here to say so in words.
MAX_ACTIONS, MAX_ACTION_LENGTH = 20, 500
# Each field of the conversation form: its name in sentences and the id its errors link to.
CONVERSATION_FIELDS = {
    "held_on": ("Date held", "held_on-day"),
    "attendees": ("Attendees", "attendees"),
    "agreed_actions": ("Agreed actions", "agreed_actions"),
}
TIMELINE_WORDS = {
    "opened": "Follow-up opened",
    "two_working_days_before": "Reminder sent: due in two working days",
    "due_today": "Reminder sent: due today",
    "overdue": "Escalated as overdue",
    "reflective conversation held": "Reflective conversation held",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "reaudit refused": "Re-audit not accepted",
    "reaudit reassigned": "Re-audit reassigned",
}
REFUSAL_WORDS = {
    "followup_closed": "the follow-up was already closed",
    "not_at_reaudit_step": "the reflective conversation had not been recorded",
    "case_team_manager": "it was by the case's own team manager",
    "not_assigned_auditor": "it was not by the auditor the re-audit is assigned to",
}


def timeline_words(entry: dict[str, Any]) -> str:
    """What happened, in plain words: `reaudit scheduled` is `Re-audit scheduled`."""
    what, detail = str(entry["what"]), entry.get("detail") or {}
    if what in TIMELINE_WORDS:
        words = TIMELINE_WORDS[what]
    elif what.endswith(" scheduled"):
        words = f"{label(what.removesuffix(' scheduled'))} scheduled"
    else:
        words = label(what)
    if what == "reflective conversation held" and detail.get("late"):
        words += " (late)"
    if what == "completed" and detail.get("outcome"):
        words += f": {label(detail['outcome'])}"
    if what == "cancelled" and detail.get("reason"):
        words += f": {detail['reason']}"
    if what == "reaudit refused" and detail.get("reason"):
        words += f": {REFUSAL_WORDS.get(detail['reason'], label(detail['reason']))}"
    return words


def area_people(organisation: Organisation, service_area: str) -> list[StaffMember]:
    """Who may attend an area's conversation: its leads, then the staff of its teams."""
    leads = organisation.leads_of(service_area)
    teams = {t.id for t in organisation.teams if t.service_area == service_area}
    lead_ids = (leads.head_of_service, leads.assistant_director)
    staff = organisation.staff_by_id
    members = sorted(
        (m for m in organisation.staff if m.team in teams and m.id not in lead_ids),
        key=lambda m: (m.team or "", m.role != "team_manager", m.name),
    )
    return [staff[i] for i in lead_ids] + members


@router.get("/followups")
def followups_list(
    request: Request,
    person: Person,
    services: Services,
    status: Literal["", "open", "overdue", "completed", "cancelled"] = "",
    service_area: str = "",
    page: PageNumber = 1,
) -> Response:
    shown = _page_of_followups(services, page, status=status, service_area=service_area)
    organisation: Organisation = request.app.state.organisation
    led = [
        leads.service_area.value
        for leads in organisation.service_areas
        if person.staff_id in (leads.head_of_service, leads.assistant_director)
    ]
    areas = led or [leads.service_area.value for leads in organisation.service_areas]
    return render(
        request,
        "followups/list.html",
        title="Follow-ups",
        page=shown,
        pagination=shown.pagination("/followups", {"status": status, "service_area": service_area}),
        statuses=choices(STATUSES, status, "Any status"),
        areas=choices(areas, service_area, "All your service areas"),
        staff=organisation.staff_by_id,
    )


def _page_of_followups(services: Services, number: int, **filters: str) -> Page:
    return page_from_api(
        lambda limit, offset: services.scheduler.followups(**filters, limit=limit, offset=offset),
        number,
    )


class ConversationAnswers(BaseModel):
    """The conversation form as typed: checked before anything is sent."""

    model_config = ConfigDict(populate_by_name=True)

    day: str = Field("", alias="held_on-day")
    month: str = Field("", alias="held_on-month")
    year: str = Field("", alias="held_on-year")
    attendees: list[str] = []
    agreed_actions: str = ""
    confirmed: list[str] = []
    """The warnings the Head of Service ticked to keep (shared.confirmations)."""

    @property
    def actions(self) -> list[str]:
        return [line.strip() for line in self.agreed_actions.splitlines() if line.strip()]

    def held_on(self) -> date | None:
        try:
            return date(int(self.year), int(self.month), int(self.day))
        except ValueError:
            return None

    def problems(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        held = self.held_on()
        if not (self.day or self.month or self.year):
            errors["held_on"] = "Enter the date the conversation was held"
        elif held is None or len(self.year) != 4:
            errors["held_on"] = "The date the conversation was held must be a real date"
        elif held > listing.today():
            errors["held_on"] = "The date the conversation was held must be today or in the past"
        if not self.attendees:
            errors["attendees"] = "Select who attended the conversation"
        if not self.actions:
            errors["agreed_actions"] = "Enter at least one agreed action"
        elif len(self.actions) > MAX_ACTIONS:
            errors["agreed_actions"] = f"Enter at most {MAX_ACTIONS} agreed actions, one a line"
        elif any(len(action) > MAX_ACTION_LENGTH for action in self.actions):
            errors["agreed_actions"] = (
                f"Each agreed action must be {MAX_ACTION_LENGTH} characters or fewer"
            )
        return errors


@dataclass(frozen=True)
class SentBack:
    """The conversation form shown again: what was typed, what is wrong, what to confirm."""

    answers: ConversationAnswers
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _followup_page(
    request: Request,
    person: Person,
    followup: dict[str, Any],
    sent_back: SentBack | None = None,
    status_code: int = 200,
) -> Response:
    form = sent_back or SentBack(ConversationAnswers())
    organisation: Organisation = request.app.state.organisation
    leads = organisation.leads_of(followup["service_area"])
    can_record = (
        followup["status"] == "open"
        and followup["step"] == "reflective_conversation"
        and leads.head_of_service == person.staff_id
    )
    recorded = request.query_params.get("recorded") == "conversation"
    return render(
        request,
        "followups/followup.html",
        status_code,
        title=f"Follow-up for case {followup['case_id']}",
        followup=followup,
        staff=organisation.staff_by_id,
        attendee_names=[_name(organisation, i) for i in followup["attendees"]],
        timeline=[(entry["at"], timeline_words(entry)) for entry in followup["timeline"]],
        refused_reaudits=[
            {
                "audit_id": refused["audit_id"],
                "auditor": _name(organisation, refused["auditor_id"]),
                "why": REFUSAL_WORDS.get(refused["reason"], label(refused["reason"])),
            }
            for refused in followup.get("refused_reaudits", [])
        ],
        can_record=can_record,
        people=area_people(organisation, followup["service_area"]) if can_record else [],
        answers=form.answers,
        errors=form.errors,
        warnings=form.warnings,
        links={f: CONVERSATION_FIELDS[f][1] for f in form.errors if f in CONVERSATION_FIELDS},
        recorded=recorded,
        phrase=working_days_phrase,
    )


def _name(organisation: Organisation, staff_id: str) -> str:
    member = organisation.staff_by_id.get(staff_id)
    return member.name if member is not None else staff_id


@router.get("/followups/{followup_id}")
def followup_page(
    request: Request, followup_id: str, person: Person, services: Services
) -> Response:
    return _followup_page(request, person, services.scheduler.followup(followup_id))


@router.post("/followups/{followup_id}/conversation", dependencies=[CsrfChecked])
def record_conversation(
    request: Request,
    followup_id: str,
    answers: Annotated[ConversationAnswers, Form()],
    person: Person,
    services: Services,
) -> Response:
    errors = answers.problems()
    held = answers.held_on()
    if not errors and held is not None:
        body = {
            "held_on": held.isoformat(),
            "recorded_by": person.staff_id,
            "attendees": answers.attendees,
            "agreed_actions": answers.actions,
            "confirmed": answers.confirmed,
        }
        try:
            services.scheduler.record_conversation(followup_id, body)
        except ApiError as refused:
            if refused.status not in (409, 422):
                raise
            return _refused(request, person, services, followup_id, answers, refused)
        location = f"/followups/{followup_id}?recorded=conversation"
        return RedirectResponse(location, status_code=303)
    followup = services.scheduler.followup(followup_id)
    return _followup_page(request, person, followup, SentBack(answers, errors), 422)


def _refused(
    request: Request,
    person: Person,
    services: Services,
    followup_id: str,
    answers: ConversationAnswers,
    refused: ApiError,
) -> Response:
    """The API's refusal on the page: a broken rule at its field, a conflict above the form, and
    warnings to confirm with a box each."""
    followup = services.scheduler.followup(followup_id)
    if refused.needs_confirmation:
        warnings = refused.to_confirm(_action_labels(refused.codes))
        return _followup_page(request, person, followup, SentBack(answers, warnings=warnings), 422)
    if refused.status == 409:
        errors = {"conversation": "A different reflective conversation was already recorded"}
    else:
        errors = {
            field: _sentence(field, message) for field, message in refused.fields.items()
        } or {"conversation": refused.detail}
    return _followup_page(request, person, followup, SentBack(answers, errors), refused.status)


def _action_labels(fields: Iterable[str]) -> dict[str, str]:
    """`agreed_actions[1]` is the second line typed: `Agreed action 2`."""
    labels = {}
    for name in fields:
        if name.startswith("agreed_actions[") and name.endswith("]"):
            index = name.removeprefix("agreed_actions[").removesuffix("]")
            if index.isdigit():
                labels[name] = f"Agreed action {int(index) + 1}"
    return labels


def _sentence(field: str, message: str) -> str:
    if field in CONVERSATION_FIELDS:
        return f"{CONVERSATION_FIELDS[field][0]}: {message}"
    return message[:1].upper() + message[1:]
