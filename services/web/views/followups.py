"""Follow-ups: the list, one follow-up with its timeline, and recording the conversation."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.web import figures, listing
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
from services.web.views.actions import action_plan, owner_choices, typed_date
from services.web.views.agreed_actions import (
    FIRST_ACTIONS,
    MAX_ACTIONS,
    AgreedAction,
    action_field,
    action_labels,
    form_place,
)
from shared.organisation import Organisation, StaffMember

router = APIRouter()

STATUSES = ("open", "overdue", "completed", "cancelled")
# Each field of the conversation form: its name in sentences and the id its errors link to.
CONVERSATION_FIELDS = {
    "held_on": ("Date held", "held_on-day"),
    "attendees": ("Attendees", "attendees"),
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
        downloads=_downloads(status=status, service_area=service_area),
    )


def _downloads(**filters: str) -> dict[str, str]:
    asked = {name: value for name, value in filters.items() if value}
    query = f"?{urlencode(asked)}" if asked else ""
    return {kind: f"/followups.{kind}{query}" for kind in ("csv", "xlsx")}


FOLLOWUP_COLUMNS = (
    "Reference", "Case", "Audit", "Service area", "Team", "Graded on", "Status", "Overdue",
    "Step", "Owner", "Due", "Conversation held on", "Re-audit due", "Outcome",
)  # fmt: skip


@router.get("/followups.{kind}")
def followups_download(
    request: Request,
    _person: Person,
    services: Services,
    kind: figures.Kind,
    status: Literal["", "open", "overdue", "completed", "cancelled"] = "",
    service_area: str = "",
) -> Response:
    """The list as filtered, every page of it (up to `figures.MOST_ROWS`), as CSV or Excel."""
    found, cut = figures.every_row(
        lambda limit, offset: services.scheduler.followups(
            status=status, service_area=service_area, limit=limit, offset=offset
        )
    )
    organisation: Organisation = request.app.state.organisation

    def team(team_id: str) -> str:
        known = organisation.teams_by_id.get(team_id)
        return known.name if known is not None else team_id

    rows = (
        [
            f["id"],
            f["case_id"],
            f["audit_id"],
            label(f["service_area"]),
            team(f["team_id"]),
            str(f["grading_day"]),
            label(f["status"]),
            "Yes" if f.get("overdue") else "No",
            label(f["step"]) if f["status"] == "open" else None,
            _name(organisation, f["owner_id"]),
            str(f["due_on"]) if f["status"] == "open" else None,
            f.get("conversation_held_on"),
            f.get("reaudit_due_on"),
            label(f["outcome"]) if f.get("outcome") else None,
        ]
        for f in found
    )
    table = figures.list_table("Follow-ups", FOLLOWUP_COLUMNS, rows, cut)
    return figures.download(
        kind, table, "-".join(p for p in ("followups", status, service_area) if p)
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
    rows: list[AgreedAction] = []
    """Every row of the form, blank ones too, so the form shows again as it was."""
    confirmed: list[str] = []
    """The warnings the Head of Service ticked to keep (shared.confirmations)."""

    @classmethod
    def posted(cls, form: Mapping[str, list[str]]) -> "ConversationAnswers":
        def one(name: str) -> str:
            return (form.get(name) or [""])[0].strip()

        rows = [
            AgreedAction.posted(form, number)
            for number in range(1, MAX_ACTIONS + 1)
            if action_field(number, "what") in form
        ]
        return cls.model_validate(
            {
                **{part: one(f"held_on-{part}") for part in ("day", "month", "year")},
                "attendees": form.get("attendees", []),
                "rows": rows,
                "confirmed": form.get("confirmed", []),
            }
        )

    @property
    def actions(self) -> list[tuple[int, AgreedAction]]:
        """The rows with something typed, with their numbers on the form."""
        return [(n, row) for n, row in enumerate(self.rows, start=1) if not row.blank]

    def shown(self, default_owner: str, extra: bool = False) -> list[AgreedAction]:
        """The rows as the form shows them: at least three, one more when asked, new ones owned
        by `default_owner`."""
        rows = list(self.rows) + (
            [AgreedAction()] if extra and len(self.rows) < MAX_ACTIONS else []
        )
        rows += [AgreedAction()] * (FIRST_ACTIONS - len(rows))
        return [
            row if row.owner_id else row.model_copy(update={"owner_id": default_owner})
            for row in rows
        ]

    def held_on(self) -> date | None:
        return typed_date(self.day, self.month, self.year)

    def problems(self, owners: Collection[str]) -> dict[str, str]:
        errors: dict[str, str] = {}
        held, today = self.held_on(), listing.today()
        if not (self.day or self.month or self.year):
            errors["held_on"] = "Enter the date the conversation was held"
        elif held is None:
            errors["held_on"] = "The date the conversation was held must be a real date"
        elif held > today:
            errors["held_on"] = "The date the conversation was held must be today or in the past"
        if not self.attendees:
            errors["attendees"] = "Select who attended the conversation"
        if not self.actions:
            errors[action_field(1, "what")] = "Enter at least one agreed action"
        for number, row in self.actions:
            errors |= row.problems(number, owners, today)
        return errors


@dataclass(frozen=True)
class SentBack:
    """The conversation form shown again: what was typed, what is wrong, what to confirm."""

    answers: ConversationAnswers
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    extra_row: bool = False


def _followup_page(
    request: Request,
    person: Person,
    services: Services,
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
    owners = _owners(organisation, followup)
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
        plan=action_plan(services, followup["id"]),
        can_record=can_record,
        people=area_people(organisation, followup["service_area"]) if can_record else [],
        answers=form.answers,
        action_rows=form.answers.shown(_default_owner(owners), form.extra_row),
        owners=owners,
        max_actions=MAX_ACTIONS,
        errors=form.errors,
        warnings=form.warnings,
        links={f: CONVERSATION_FIELDS[f][1] for f in form.errors if f in CONVERSATION_FIELDS}
        | {f: f for f in form.errors if f.startswith("action-")},
        recorded=recorded,
        phrase=working_days_phrase,
    )


def _owners(organisation: Organisation, followup: dict[str, Any]) -> list[StaffMember]:
    return owner_choices(organisation, followup["service_area"], followup["team_id"])


def _default_owner(owners: list[StaffMember]) -> str:
    """The case's team manager, as the scheduler has a bare text's owner: the second choice."""
    return owners[1].id if len(owners) > 1 else owners[0].id


def _name(organisation: Organisation, staff_id: str) -> str:
    member = organisation.staff_by_id.get(staff_id)
    return member.name if member is not None else staff_id


@router.get("/followups/{followup_id}")
def followup_page(
    request: Request, followup_id: str, person: Person, services: Services
) -> Response:
    return _followup_page(request, person, services, services.scheduler.followup(followup_id))


async def posted_form(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    return {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in form}


@router.post("/followups/{followup_id}/conversation", dependencies=[CsrfChecked])
def record_conversation(
    request: Request,
    followup_id: str,
    posted: Annotated[dict[str, list[str]], Depends(posted_form)],
    person: Person,
    services: Services,
) -> Response:
    answers = ConversationAnswers.posted(posted)
    followup = services.scheduler.followup(followup_id)
    if posted.get("add") == ["action"]:
        return _followup_page(
            request, person, services, followup, SentBack(answers, extra_row=True)
        )
    owners = {m.id for m in _owners(request.app.state.organisation, followup)}
    errors = answers.problems(owners)
    held = answers.held_on()
    if errors or held is None:
        return _followup_page(request, person, services, followup, SentBack(answers, errors), 422)
    body = {
        "held_on": held.isoformat(),
        "recorded_by": person.staff_id,
        "attendees": answers.attendees,
        "agreed_actions": [row.body() for _, row in answers.actions],
        "confirmed": answers.confirmed,
    }
    try:
        services.scheduler.record_conversation(followup_id, body)
    except ApiError as refused:
        if refused.status not in (409, 422):
            raise
        return _refused(request, person, services, followup, answers, refused)
    return RedirectResponse(f"/followups/{followup_id}?recorded=conversation", status_code=303)


def _refused(
    request: Request,
    person: Person,
    services: Services,
    followup: dict[str, Any],
    answers: ConversationAnswers,
    refused: ApiError,
) -> Response:
    """The API's refusal on the page: a broken rule at its field, a conflict above the form, and
    warnings to confirm with a box each."""
    numbers = [number for number, _ in answers.actions]
    if refused.needs_confirmation:
        warnings = refused.to_confirm(action_labels(refused.codes, numbers))
        sent = SentBack(answers, warnings=warnings)
        return _followup_page(request, person, services, followup, sent, 422)
    if refused.status == 409:
        errors = {"conversation": "A different reflective conversation was already recorded"}
    else:
        errors = dict(
            _sentence(name, message, numbers) for name, message in refused.fields.items()
        ) or {"conversation": refused.detail}
    sent = SentBack(answers, errors)
    return _followup_page(request, person, services, followup, sent, refused.status)


def _sentence(name: str, message: str, numbers: list[int]) -> tuple[str, str]:
    """An API field message as the form's error: at its field, in a sentence."""
    if (item := form_place(name, numbers)) is not None:
        number, part = item
        words = {"owner_id": "Owner of agreed action", "due_on-day": "Due date of agreed action"}
        return action_field(number, part), f"{words.get(part, 'Agreed action')} {number}: {message}"
    if name in CONVERSATION_FIELDS:
        return name, f"{CONVERSATION_FIELDS[name][0]}: {message}"
    return name, message[:1].upper() + message[1:]
