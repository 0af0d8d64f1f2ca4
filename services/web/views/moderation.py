"""Moderation: the queue, one moderation with its record-a-grade form, and sampling rates."""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from services.web.clients.api import ApiError
from services.web.clients.backends import Services
from services.web.listing import PageNumber, page_from_api
from services.web.pages import GRADES, label, render
from services.web.people import RATE_SETTERS, roles_of
from services.web.session import CsrfChecked, Person
from shared.organisation import Organisation

router = APIRouter()

# The record-a-grade form's fields: their name in sentences and the id an error links to.
GRADE_FIELDS = {
    "moderated_grade": ("Moderated grade", "moderated_grade"),
    "rationale": ("Rationale", "rationale"),
}


@router.get("/moderations")
def queue(
    request: Request,
    person: Person,
    services: Services,
    status: Literal["", "open", "completed"] = "",
    page: PageNumber = 1,
) -> Response:
    shown = page_from_api(
        lambda limit, offset: services.moderation.moderations(
            status=status, first_for=person.staff_id, limit=limit, offset=offset
        ),
        page,
    )
    organisation: Organisation = request.app.state.organisation
    return render(
        request,
        "moderation/queue.html",
        title="Moderation",
        page=shown,
        pagination=shown.pagination("/moderations", {"status": status}),
        status=status,
        staff=organisation.staff_by_id,
        me=person.staff_id,
    )


@dataclass(frozen=True)
class SentBack:
    """The record-a-grade form shown again: what was typed, what is wrong, what to confirm."""

    form: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _moderation_page(
    request: Request,
    person: Person,
    moderation: dict[str, Any],
    sent_back: SentBack | None = None,
    status_code: int = 200,
) -> Response:
    organisation: Organisation = request.app.state.organisation
    can_record = moderation["status"] == "open" and moderation["moderator_id"] == person.staff_id
    sent = sent_back or SentBack({"request_id": uuid.uuid4().hex})
    form, errors = sent.form, sent.errors
    return render(
        request,
        "moderation/moderation.html",
        status_code,
        title=f"Moderation of case {moderation['case_id']}",
        moderation=moderation,
        staff=organisation.staff_by_id,
        can_record=can_record,
        grades=[
            {"value": g, "text": label(g), "checked": form.get("moderated_grade") == g}
            for g in GRADES
        ],
        form=form,
        errors=errors,
        warnings=sent.warnings,
        links={f: GRADE_FIELDS[f][1] for f in errors if f in GRADE_FIELDS},
        recorded=request.query_params.get("recorded") == "1",
    )


@router.get("/moderations/{moderation_id}")
def moderation_page(
    request: Request, moderation_id: str, person: Person, services: Services
) -> Response:
    return _moderation_page(request, person, services.moderation.moderation(moderation_id))


class GradeAnswers(BaseModel):
    """The record-a-grade form; `request_id` came with the page, so a second click replays."""

    request_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    moderated_grade: str = ""
    rationale: str = ""
    confirmed: list[str] = []
    """The warnings the moderator ticked to keep (shared.confirmations)."""


@router.post("/moderations/{moderation_id}", dependencies=[CsrfChecked])
def record_grade(
    request: Request,
    moderation_id: str,
    answers: Annotated[GradeAnswers, Form()],
    person: Person,
    services: Services,
) -> Response:
    form = answers.model_dump()
    errors: dict[str, str] = {}
    status_code = 422
    if answers.moderated_grade not in GRADES:
        errors["moderated_grade"] = "Select the moderated grade"
    else:
        body = {
            "moderator_id": person.staff_id,
            "moderated_grade": answers.moderated_grade,
            "rationale": answers.rationale.strip() or None,
            "request_id": answers.request_id,
            "confirmed": answers.confirmed,
        }
        try:
            services.moderation.record(moderation_id, body)
        except ApiError as refused:
            if refused.status not in (409, 422):
                raise
            if refused.needs_confirmation:
                moderation = services.moderation.moderation(moderation_id)
                warnings = refused.to_confirm({f: words for f, (words, _) in GRADE_FIELDS.items()})
                return _moderation_page(
                    request, person, moderation, SentBack(form, warnings=warnings), 422
                )
            errors, status_code = _refusal(refused), refused.status
        else:
            return RedirectResponse(f"/moderations/{moderation_id}?recorded=1", status_code=303)
    moderation = services.moderation.moderation(moderation_id)
    return _moderation_page(request, person, moderation, SentBack(form, errors), status_code)


def _refusal(refused: ApiError) -> dict[str, str]:
    if refused.status == 409:
        return {"moderation": "This moderation has already been recorded"}
    errors = {
        field: f"{GRADE_FIELDS[field][0]}: {message}"
        if field in GRADE_FIELDS
        else message[:1].upper() + message[1:]
        for field, message in refused.fields.items()
    }
    return errors or {"moderation": refused.detail}


@router.get("/sampling")
def sampling(request: Request, person: Person, services: Services) -> Response:
    return _sampling_page(request, person, services.moderation.rates())


def _sampling_page(
    request: Request,
    person: Person,
    rates: dict[str, float],
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    changed = request.query_params.get("changed", "")
    return render(
        request,
        "moderation/sampling.html",
        status_code,
        title="Sampling rates",
        rates={area: percent(rate) for area, rate in rates.items()},
        can_change=not roles_of(request, person).isdisjoint(RATE_SETTERS),
        errors=errors or {},
        typed=typed or {},
        changed=changed if changed in rates else "",
    )


def percent(rate: float) -> str:
    """A rate as people type it: 0.25 is `25`, 0.125 is `12.5`."""
    return f"{Decimal(str(rate)) * 100:f}".rstrip("0").rstrip(".") or "0"


def parse_percent(typed: str) -> Decimal | None:
    try:
        value = Decimal(typed.strip().removesuffix("%").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() and 0 <= value <= 100 else None


@router.post("/sampling", dependencies=[CsrfChecked])
def change_rate(
    request: Request,
    person: Person,
    services: Services,
    service_area: Annotated[str, Form()],
    rate: Annotated[str, Form()] = "",
) -> Response:
    value = parse_percent(rate)
    if value is None:
        error = "Enter the sample rate as a percentage from 0 to 100"
    else:
        try:
            services.moderation.set_rate(service_area, float(value / 100), person.staff_id)
        except ApiError as refused:
            if refused.status not in (403, 422):
                raise
            error = _rate_refusal(service_area, refused)
        else:
            return RedirectResponse(f"/sampling?changed={service_area}", status_code=303)
    rates = services.moderation.rates()
    return _sampling_page(request, person, rates, {service_area: error}, {service_area: rate}, 422)


def _rate_refusal(service_area: str, refused: ApiError) -> str:
    if refused.status == 403:
        return f"You cannot change the sample rate of {label(service_area)}: {refused.detail}"
    return "; ".join(refused.fields.values()) or refused.detail
