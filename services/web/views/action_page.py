"""One agreed action: what, owner, due date, status, evidence and history, and the forms to mark
it done, add evidence, change its owner or due date, or cancel it with a reason."""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.web import listing
from services.web.clients.api import ApiError
from services.web.clients.backends import Services
from services.web.listing import working_days_phrase
from services.web.pages import label, render, uk_date
from services.web.session import CsrfChecked, Person
from services.web.views.action_checks import refusal_words
from services.web.views.actions import (
    due_date_problem,
    offered,
    owner_choices,
    owner_items,
    typed_date,
)
from shared.organisation import Organisation

router = APIRouter()
MAX_NOTE = 500
"""The scheduler's limit on an evidence note or a reason, checked here to say so in words."""
HISTORY_WORDS = {
    "agreed": "Agreed at the reflective conversation",
    "reminder: two working days before": "Reminder sent: due in two working days",
    "reminder: due today": "Reminder sent: due today",
    "done": "Marked as done",
    "verified": "Verified at re-audit: it made a difference",
    "not achieved": "Not achieved at re-audit: it made no difference",
}

UPDATED = {
    "done": "Action marked as done",
    "evidence": "Evidence added",
    "change": "Action changed",
    "cancel": "Action cancelled",
    "reopen": "Action reopened",
}
FIELD_IDS = {
    "done": {"evidence": "done_evidence"},
    "evidence": {"evidence": "evidence"},
    "change": {"owner_id": "owner_id", "due_on": "due_on-day"},
    "cancel": {"reason": "reason"},
    "reopen": {},
}
"""Each form's fields by the API's names, and the id on the page an error of one links to."""
FIELD_WORDS = {
    "evidence": "Evidence",
    "reason": "Reason",
    "owner_id": "Owner",
    "due_on": "Due date",
}


class ActionAnswers(BaseModel):
    """One of the action page's forms as sent; `request_id` came with the page, so a second
    click replays instead of adding the same evidence twice."""

    model_config = ConfigDict(populate_by_name=True)

    form: Literal["done", "evidence", "change", "cancel", "reopen"]
    request_id: str = Field(default_factory=lambda: f"web-{uuid.uuid4().hex}", min_length=8)
    evidence: str = ""
    reason: str = ""
    owner_id: str = ""
    day: str = Field("", alias="due_on-day")
    month: str = Field("", alias="due_on-month")
    year: str = Field("", alias="due_on-year")
    confirmed: list[str] = []


def answers_problems(answers: ActionAnswers, due_on: str, today: date) -> dict[str, str]:
    """What the page checks itself, by the API's field names; `due_on` is the action's due
    date, which may stay as it is even once it has passed."""
    errors: dict[str, str] = {}
    if answers.form in ("done", "evidence") and not answers.evidence.strip():
        errors["evidence"] = (
            "Enter what was done, as evidence"
            if answers.form == "done"
            else "Enter the evidence to add"
        )
    if answers.form == "cancel" and not answers.reason.strip():
        errors["reason"] = "Enter why the action is cancelled"
    for name in ("evidence", "reason"):
        if len(getattr(answers, name)) > MAX_NOTE:
            errors[name] = f"{FIELD_WORDS[name]} must be {MAX_NOTE} characters or fewer"
    if answers.form == "change":
        typed = typed_date(answers.day, answers.month, answers.year)
        if typed is None or typed.isoformat() != due_on:
            problem = due_date_problem(*_due_parts(answers), today, "The due date")
            if problem or typed is None:
                errors["due_on"] = problem or "Enter the due date"
    return errors


def _due_parts(answers: ActionAnswers) -> tuple[str, str, str]:
    return answers.day, answers.month, answers.year


def update_body(
    answers: ActionAnswers, action: Mapping[str, Any], staff_id: str
) -> dict[str, Any] | None:
    """The body of `POST /actions/{id}` for a checked form, or None when it changes nothing."""
    body: dict[str, Any] = {
        "changed_by": staff_id,
        "request_id": answers.request_id,
        "confirmed": answers.confirmed,
    }
    if answers.form == "done":
        return body | {"status": "done", "evidence": answers.evidence.strip()}
    if answers.form == "evidence":
        return body | {"evidence": answers.evidence.strip()}
    if answers.form == "cancel":
        return body | {"status": "cancelled", "reason": answers.reason.strip()}
    if answers.form == "reopen":
        return body | {"status": "open"}
    due = typed_date(*_due_parts(answers))
    changes = {
        "owner_id": answers.owner_id if answers.owner_id != action["owner_id"] else None,
        "due_on": due.isoformat()
        if due is not None and due.isoformat() != action["due_on"]
        else None,
    }
    changed = {name: value for name, value in changes.items() if value}
    return body | changed if changed else None


def history_words(what: str, name: Callable[[str], str]) -> str:
    """A history line in words: `owner: S0006 to S0007` names both people, a due date change
    reads as dates, the scheduler's own lines as what it did."""
    for prefix, words, show in (
        ("owner: ", "Owner changed", name),
        ("due date: ", "Due date changed", _day),
    ):
        if what.startswith(prefix) and " to " in what:
            before, after = what.removeprefix(prefix).split(" to ", 1)
            return f"{words} from {show(before)} to {show(after)}"
    if what.startswith(ESCALATED):
        return f"Overdue: {name(what.removeprefix(ESCALATED))} was told"
    return HISTORY_WORDS.get(what, label(what))


ESCALATED = "overdue: escalated to "
SCHEDULER = "scheduler"
"""Who a history line names when the scheduler did it itself (a reminder, an escalation)."""


def _day(text: str) -> str:
    try:
        return uk_date(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class SentBack:
    """A form of the action page shown again: what was typed, what is wrong, what to confirm."""

    answers: ActionAnswers
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _action_page(
    request: Request,
    person: Person,
    action: dict[str, Any],
    sent_back: SentBack | None = None,
    status_code: int = 200,
) -> Response:
    organisation: Organisation = request.app.state.organisation
    sent = sent_back or SentBack(ActionAnswers(form="done"))
    answers = sent.answers if sent_back is not None else None
    ids = FIELD_IDS[sent.answers.form]
    due = date.fromisoformat(action["due_on"])
    typed_due = {"day": str(due.day), "month": str(due.month), "year": str(due.year)}
    if answers is not None and answers.form == "change":
        typed_due = dict(zip(("day", "month", "year"), _due_parts(answers), strict=True))

    def names(staff_id: str) -> str:
        if staff_id == SCHEDULER:
            return "The service"
        member = organisation.staff_by_id.get(staff_id)
        return member.name if member is not None else staff_id

    people = owner_choices(
        organisation, action["service_area"], action["team_id"], action["owner_id"]
    )
    chosen_owner = answers.owner_id if answers and answers.form == "change" else action["owner_id"]
    return render(
        request,
        "actions/action.html",
        status_code,
        title=f"Action for case {action['case_id']}",
        action=action,
        staff=organisation.staff_by_id,
        history=[
            (entry["at"], names(entry["by"]), history_words(entry["what"], names))
            for entry in action["history"]
        ],
        offered=offered(organisation, action, person.staff_id),
        sent=answers,
        request_id=sent.answers.request_id,
        errors={ids.get(name, name): message for name, message in sent.errors.items()},
        error_links=set(ids.values()),
        warnings=sent.warnings,
        owners=owner_items(people, chosen_owner),
        typed_due=typed_due,
        updated=UPDATED.get(request.query_params.get("updated", "")),
        phrase=working_days_phrase,
    )


@router.get("/actions/{action_id}")
def action_page(request: Request, action_id: str, person: Person, services: Services) -> Response:
    return _action_page(request, person, services.scheduler.action(action_id))


@router.post("/actions/{action_id}", dependencies=[CsrfChecked])
def update_action(
    request: Request,
    action_id: str,
    answers: Annotated[ActionAnswers, Form()],
    person: Person,
    services: Services,
) -> Response:
    action = services.scheduler.action(action_id)
    errors = answers_problems(answers, action["due_on"], listing.today())
    body = None if errors else update_body(answers, action, person.staff_id)
    if not errors and body is None:
        errors = {"owner_id": "Choose another owner or another due date"}
    if errors or body is None:
        return _action_page(request, person, action, SentBack(answers, errors), 422)
    try:
        services.scheduler.update_action(action_id, body)
    except ApiError as refused:
        if refused.status not in (403, 409, 422):
            raise
        return _refused(request, person, action, answers, refused)
    return RedirectResponse(f"/actions/{action_id}?updated={answers.form}", status_code=303)


def _refused(
    request: Request,
    person: Person,
    action: dict[str, Any],
    answers: ActionAnswers,
    refused: ApiError,
) -> Response:
    """The scheduler's refusal on the page: warnings to confirm with a box, a broken rule at its
    field, the wrong person or a conflict above the forms."""
    if refused.needs_confirmation:
        warnings = refused.to_confirm(FIELD_WORDS)
        return _action_page(request, person, action, SentBack(answers, warnings=warnings), 422)
    if refused.status == 422 and refused.fields:
        errors = {
            name: f"{FIELD_WORDS[name]}: {message}" if name in FIELD_WORDS else message
            for name, message in refused.fields.items()
        }
    else:
        errors = {"action": refusal_words(refused)}
    return _action_page(request, person, action, SentBack(answers, errors), refused.status)
