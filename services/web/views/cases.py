"""One case, from beginning to end: every audit, moderation, follow-up and action of it that the
person may see, in one timeline in time order, each with its date, what happened, who, and a link
to its own page.

Each of the four lists is asked of its service as the signed-in person, so the services decide
what the person sees (and write the access trail). A service that refuses shows as a note that
some records are not shown, and one that does not answer as a note that its records are missing;
the rest of the timeline still shows.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.clients.api import ApiError
from services.web.clients.backends import Backends, Services
from services.web.figures import every_row
from services.web.pages import label, render
from services.web.session import Person
from services.web.views import learning
from services.web.views.actions import CaseId
from shared.calendar import UK
from shared.organisation import Organisation

router = APIRouter()
"""The case timeline and a worker's learning (`learning`): the views by child and by worker."""

Rows = list[dict[str, Any]]
SOURCES = {
    "audits": "audit service",
    "moderations": "moderation service",
    "followups": "scheduler (follow-ups)",
    "actions": "scheduler (actions)",
}
"""Each list of the timeline, and the service it comes from, in words."""
LONGEST_ACTION = 120


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    when: date | datetime
    """What the page shows: a moment, or a day where the service keeps only the day."""
    order: tuple[date, time, int]
    """Where it goes: the UK day, the time in it, and the order a case moves through in a day."""
    what: str
    detail: str
    who: str
    href: str
    link_text: str
    grade: str | None = None


@dataclass(frozen=True)
class Found:
    """What one list gave: its rows, or how it failed (`refused`: 403; else not answered)."""

    rows: Rows
    refused: bool = False
    failed: bool = False


def _gather(fetch: Callable[[], Rows]) -> Found:
    try:
        return Found(fetch())
    except ApiError as failure:
        if failure.status == 401:
            raise  # the session's token is no longer accepted: sign in again
        return Found([], refused=failure.status == 403, failed=failure.status != 403)


def case_records(services: Backends, case_id: str) -> dict[str, Found]:
    """The case's four lists as the person may see them. Each list is asked by case; only rows
    of this case are kept, whatever a service answers."""

    def paged(ask: Callable[..., Rows]) -> Callable[[], Rows]:
        def fetch() -> Rows:
            rows, _cut = every_row(lambda limit, offset: ask(limit=limit, offset=offset))
            return [row for row in rows if row.get("case_id") == case_id]

        return fetch

    return {
        "audits": _gather(paged(lambda **page: services.audit.audits(case_id=case_id, **page))),
        "moderations": _gather(
            paged(lambda **page: services.moderation.moderations(case_id=case_id, **page))
        ),
        "followups": _gather(
            paged(lambda **page: services.scheduler.followups(case_id=case_id, **page))
        ),
        "actions": _gather(
            paged(lambda **page: services.scheduler.actions(case_id=case_id, **page))
        ),
    }


def timeline(organisation: Organisation, found: dict[str, Found]) -> list[Entry]:
    """Every record as lines of the timeline, earliest first."""

    def name(staff_id: str | None) -> str:
        member = organisation.staff_by_id.get(staff_id or "")
        return member.name if member is not None else (staff_id or "Nobody")

    entries: list[Entry] = []
    for audit in found["audits"].rows:
        entries.append(_audit_entry(audit, name))
    for moderation in found["moderations"].rows:
        entries += _moderation_entries(moderation, name)
    for followup in found["followups"].rows:
        entries += _followup_entries(followup, name)
    for action in found["actions"].rows:
        entries.append(_action_entry(action, name))
    return sorted(entries, key=lambda entry: entry.order)


Name = Callable[[str | None], str]
# Within one day, the order a case moves through: graded, chosen for moderation, moderated,
# followed up, the conversation held, its actions agreed. A moment's time comes first.
AUDITED, CHOSEN, MODERATED, OPENED, CONVERSATION, AGREED = range(6)


def _moment(value: str, step: int) -> tuple[datetime, tuple[date, time, int]]:
    moment = datetime.fromisoformat(value)
    local = moment.astimezone(UK)
    return moment, (local.date(), local.time(), step)


def _day(value: str, at: time, step: int) -> tuple[date, tuple[date, time, int]]:
    """A day-only record: `at` places it in the day (its start or its end)."""
    day = date.fromisoformat(value)
    return day, (day, at, step)


def _audit_entry(audit: dict[str, Any], name: Name) -> Entry:
    when, order = _moment(audit["graded_at"], AUDITED)
    detail = f"Re-audit of {audit['reaudit_of']}" if audit.get("reaudit_of") else ""
    return Entry(
        when,
        order,
        f"{_kind_words(audit['audit_kind'])} graded",  # the grade follows, as a tag
        detail,
        f"Auditor: {name(audit['auditor_id'])}",
        f"/audits/{audit['id']}",
        f"Audit {audit['id']}",
        grade=audit["overall_grade"],
    )


def _kind_words(kind: str) -> str:
    """`Learning audit`, `Thematic audit`; a re-audit is a `Re-audit`."""
    return label(kind) if kind == "reaudit" else f"{label(kind)} audit"


def _moderation_entries(moderation: dict[str, Any], name: Name) -> list[Entry]:
    who = f"Moderator: {name(moderation['moderator_id'])}"
    href, link = f"/moderations/{moderation['id']}", f"Moderation {moderation['id']}"
    when, order = _moment(moderation["requested_at"], CHOSEN)
    entries = [
        Entry(
            when,
            order,
            "Chosen for moderation",
            f"Audit {moderation['audit_id']}, graded {label(moderation['auditor_grade'])}",
            who,
            href,
            link,
        )
    ]
    if moderation.get("status") == "completed" and moderation.get("moderated_at"):
        grade = moderation["moderated_grade"]
        agrees = grade == moderation["auditor_grade"]
        when, order = _moment(moderation["moderated_at"], MODERATED)
        entries.append(
            Entry(
                when,
                order,
                "Moderated",  # the grade follows, as a tag
                "Agrees with the auditor"
                if agrees
                else f"The auditor graded {label(moderation['auditor_grade'])}",
                who,
                href,
                link,
                grade=grade,
            )
        )
    return entries


def _followup_entries(followup: dict[str, Any], name: Name) -> list[Entry]:
    href, link = f"/followups/{followup['id']}", f"Follow-up {followup['id']}"
    who = f"Owner: {name(followup['owner_id'])}"
    if followup["status"] == "open":
        now = f"Open: {label(followup['step'])}, due {_day_words(followup['due_on'])}"
        now += " (overdue)" if followup.get("overdue") else ""
    elif followup.get("outcome"):
        now = f"Completed: {label(followup['outcome'])}"
    else:
        now = label(followup["status"])
    when, order = _day(followup["grading_day"], time.max, OPENED)
    entries = [Entry(when, order, "Follow-up opened", now, who, href, link)]
    if followup.get("conversation_held_on"):
        held, order = _day(followup["conversation_held_on"], time.min, CONVERSATION)
        # Held early in its day, but never before the follow-up opened: on the grading day
        # itself it follows the opening (which is placed at the day's end).
        order = max(order, (when, time.max, CONVERSATION))
        late = " (late)" if followup.get("conversation_late") else ""
        entries.append(
            Entry(held, order, f"Reflective conversation held{late}", "", "", href, link)
        )
    return entries


def _action_entry(action: dict[str, Any], name: Name) -> Entry:
    when, order = _moment(action["agreed_at"], AGREED)
    what = action["what"]
    if len(what) > LONGEST_ACTION:
        what = what[: LONGEST_ACTION - 1].rstrip() + "…"
    status = "Overdue" if action.get("overdue") else label(action["status"])
    return Entry(
        when,
        order,
        f"Action agreed: {what}",
        f"{status}, due {_day_words(action['due_on'])}",
        f"Owner: {name(action['owner_id'])}",
        f"/actions/{action['id']}",
        f"Action {action['id']}",
    )


def _day_words(value: str) -> str:
    day = date.fromisoformat(value)
    return f"{day.day} {day:%B %Y}"


@router.get("/cases/{case_id}")
def case_page(request: Request, _person: Person, services: Services, case_id: CaseId) -> Response:
    found = case_records(services, case_id)
    organisation: Organisation = request.app.state.organisation
    return render(
        request,
        "cases/case.html",
        title=f"Case {case_id}",
        case_id=case_id,
        entries=timeline(organisation, found),
        refused=any(f.refused for f in found.values()),
        failed=[SOURCES[source] for source, f in found.items() if f.failed],
        counts={source: len(f.rows) for source, f in found.items()},
    )


router.include_router(learning.router)
